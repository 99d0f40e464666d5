/**
 * Elements on the in-memory cassemdb: the whole life for every content type
 * (`_elements_lifecycle.ts`, also run on a real node by `real_db_test.ts`),
 * listing by pages and keys, If-Match.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createTestAdm } from "../../adm/testing.ts";
import { appWithEnv, elementsPath } from "./_elements.ts";
import { elementLifecycle } from "./_elements_lifecycle.ts";
import { stepOf } from "./_make_adm.ts";

Deno.test("an element's whole life, for every content type", async (tt) => {
  await elementLifecycle(createTestAdm, stepOf(tt));
});

Deno.test("listing: pages by seek/limit in key order, or ?keys", async () => {
  const t = await createTestAdm();
  await appWithEnv(t);
  const admin = { token: t.adminToken };
  const keys = ["a", "B", "c.d", "e-f", "g_h", "i9"];
  for (const k of keys) {
    const r = await t.request("POST", `${elementsPath()}/${k}`, {
      ...admin,
      body: { raw: k, contentType: "plaintext" },
    });
    assert.equal(r.status, 201);
  }
  const seen: string[] = [];
  let seek: string | null = null;
  for (let page = 0; page < 10; page++) {
    const q: string = seek === null ? "?limit=4" : `?limit=4&seek=${seek}`;
    const r = await t.request("GET", `${elementsPath()}${q}`, admin);
    assert.equal(r.status, 200);
    seen.push(...r.body.items.map((i: { key: string }) => i.key));
    seek = r.body.next;
    if (seek === null) break;
  }
  assert.deepEqual(seen, [...keys].sort());
  const some = await t.request("GET", `${elementsPath()}?keys=c.d,zz,a`, admin);
  assert.deepEqual(some.body.items.map((i: { key: string }) => i.key), ["c.d", "a"]);
  assert.equal((await t.request("GET", elementsPath("shop", "nope"), admin)).status, 404);
});

Deno.test("If-Match: a write with the element's ETag applies once; a stale one is 412 and changes nothing", async () => {
  const t = await createTestAdm();
  await appWithEnv(t);
  const admin = { token: t.adminToken };
  const base = `${elementsPath()}/k`;
  await t.request("POST", base, {
    ...admin,
    body: { raw: "1", contentType: "json", publish: true },
  });
  const got = await t.request("GET", base, admin);
  const etag = got.headers.get("ETag")!;
  assert.match(etag, /^"r\d+"$/);
  const first = await t.request("PUT", base, {
    ...admin,
    body: { raw: "2", publish: true },
    headers: { "If-Match": etag },
  });
  assert.equal(first.status, 200);
  assert.notEqual(first.headers.get("ETag"), etag);
  const before = t.db.revision;
  for (
    const [method, path, body] of [
      ["PUT", base, { raw: "3" }],
      ["DELETE", base, undefined],
      ["POST", `${base}/rollback`, { version: 1 }],
      ["PUT", `${base}/schema`, { schema: { type: "number" } }],
    ] as const
  ) {
    const r = await t.request(method, path, { ...admin, body, headers: { "If-Match": etag } });
    assert.equal(r.status, 412, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.field, "header.If-Match");
  }
  assert.equal(t.db.revision, before, "nothing written");
  const bad = await t.request("PUT", base, {
    ...admin,
    body: { raw: "3" },
    headers: { "If-Match": "abc" },
  });
  assert.equal(bad.status, 400);
});
