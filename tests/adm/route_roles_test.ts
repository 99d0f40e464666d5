/**
 * The route × role matrix on the in-memory cassemdb: each operation of the
 * OpenAPI document must declare `x-cassem-permission`, one the expected
 * table of `_route_roles.ts` has a row for; and for every kind of caller
 * each route answers 401/403 exactly when that table says
 * (`routeRoleMatrix`, also run on a real node by `real_db_test.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createTestAdm } from "../../adm/testing.ts";
import { APP_PERMISSIONS, PERMISSION_FIELD } from "../../adm/mod.ts";
import { EXPECTED, routeRoleMatrix } from "./_route_roles.ts";
import { stepOf } from "./_make_adm.ts";

Deno.test("every route declares a known permission, and every permission is in the expected table", async () => {
  const t = await createTestAdm();
  const doc = (await t.request("GET", "/api/openapi.json")).body;
  let operations = 0;
  for (
    const [path, item] of Object.entries(
      doc.paths as Record<string, Record<string, Record<string, unknown>>>,
    )
  ) {
    for (const [method, op] of Object.entries(item)) {
      operations++;
      const p = op[PERMISSION_FIELD];
      assert.equal(typeof p, "string", `${method} ${path} declares no ${PERMISSION_FIELD}`);
      assert.ok(Object.hasOwn(EXPECTED, p as string), `${method} ${path}: unknown permission ${p}`);
    }
  }
  assert.ok(operations >= 8, `only ${operations} operations`);
  for (const p of APP_PERMISSIONS) {
    assert.ok(Object.hasOwn(EXPECTED, p), `${p} has no expected row`);
  }
});

Deno.test("route × role: each caller is let through exactly when the table says", async (tt) => {
  await routeRoleMatrix(createTestAdm, stepOf(tt));
});
