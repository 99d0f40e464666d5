/**
 * The OpenAPI document lists every element route with the permission it
 * declares (the route × role matrix in `route_roles_test.ts` then probes
 * each of them), and the document round-trips through JSON.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PERMISSION_FIELD } from "../../adm/mod.ts";
import { createTestAdm } from "../../adm/testing.ts";

const E = "/api/apps/{app}/envs/{env}/elements";
const ENV = "/api/apps/{app}/envs/{env}";

/** Every element-side operation and its permission. */
const EXPECTED: [string, string, string][] = [
  ["get", E, "element.read"],
  ["get", `${E}/{key}`, "element.read"],
  ["get", `${E}/{key}/raw`, "element.read"],
  ["post", `${E}/{key}`, "element.write"],
  ["put", `${E}/{key}`, "element.write"],
  ["delete", `${E}/{key}`, "element.write"],
  ["put", `${E}/{key}/schema`, "element.write"],
  ["get", `${E}/{key}/versions`, "element.read"],
  ["get", `${E}/{key}/diff`, "element.read"],
  ["get", `${E}/{key}/instances`, "element.read"],
  ["post", `${E}/{key}/publish`, "element.publish"],
  ["post", `${E}/{key}/rollback`, "element.publish"],
  ["post", `${E}/{key}/gray`, "element.publish"],
  ["get", `${E}/{key}/gray`, "element.read"],
  ["put", `${E}/{key}/gray`, "element.publish"],
  ["delete", `${E}/{key}/gray`, "element.publish"],
  ["post", `${E}/{key}/gray/promote`, "element.publish"],
  ["get", `${ENV}/approvals`, "element.read"],
  ["post", `${ENV}/approvals/{key}/approve`, "element.approve"],
  ["post", `${ENV}/approvals/{key}/reject`, "element.approve"],
  ["get", `${ENV}/export`, "element.read"],
  ["post", `${ENV}/import`, "element.write"],
];

Deno.test("the OpenAPI document parses and lists every element route with its permission", async () => {
  const t = await createTestAdm();
  const res = await t.app.request("/api/openapi.json");
  const doc = JSON.parse(await res.text());
  assert.equal(doc.openapi, "3.1.0");
  const found = Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)
    .flatMap(([path, item]) =>
      Object.entries(item).map(([m, op]) =>
        [m, path, op[PERMISSION_FIELD]] as [string, string, string]
      )
    )
    .filter(([, path]) =>
      path.startsWith(E) || path.startsWith(`${ENV}/approvals`) || /\/(ex|im)port$/.test(path)
    );
  assert.deepEqual(
    found.map((f) => f.join(" ")).sort(),
    EXPECTED.map((f) => f.join(" ")).sort(),
  );
  // Write bodies refuse unknown fields, and every operation documents its errors.
  const put = doc.paths[`${E}/{key}`].put;
  const body = put.requestBody.content["application/json"].schema;
  assert.equal(body.additionalProperties, false);
  for (const [m, path] of EXPECTED) {
    const op = doc.paths[path][m];
    assert.ok(op.responses["400"] && op.responses["401"] && op.responses["403"], `${m} ${path}`);
    assert.ok(op.summary, `${m} ${path} has a summary`);
  }
});
