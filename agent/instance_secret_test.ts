import assert from "node:assert/strict";
import { instanceKey } from "../shared/config/mod.ts";
import { jsonOf, TestEnv } from "./_test_env.ts";

Deno.test("instances of a secret env: renew, unregister and re-register need the secret, like reads", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod", "s3cret");
    await t.pub.env("shop", "dev"); // no secret
    const a = await t.agent();
    const json = { "content-type": "application/json" };
    const owner = { ...json, "x-cassem-client-id": "web-1", "x-cassem-secret": "s3cret" };
    const reg = await a.request("/v1/instances", {
      method: "POST",
      headers: owner,
      body: JSON.stringify({ watching: [{ app: "shop", env: "prod", keys: ["a"] }] }),
    });
    assert.equal(reg.status, 200, await reg.clone().text());
    const stored = async () => (await t.db.get(instanceKey("web-1"))).entity?.modRevision;
    const before = await stored();

    const attempts: [string, string, Record<string, string>, unknown, number][] = [
      ["DELETE, no secret", "DELETE", { "x-cassem-client-id": "web-1" }, undefined, 401],
      ["DELETE, no header at all", "DELETE", {}, undefined, 401],
      ["DELETE, wrong secret", "DELETE", { "x-cassem-secret": "nope" }, undefined, 403],
      ["PUT keep, no secret", "PUT", {}, undefined, 401],
      ["PUT keep, wrong secret", "PUT", { "x-cassem-secret": "nope" }, undefined, 403],
      // A report of an open env does not let anyone rewrite a secret env's instance.
      ["PUT of an open env's report", "PUT", json, {
        watching: [{ app: "shop", env: "dev", keys: ["a"] }],
      }, 401],
    ];
    for (const [what, method, headers, body, status] of attempts) {
      const r = await jsonOf(
        await a.request("/v1/instances/web-1", {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      );
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal((r.body.error as { field: string }).field, "X-Cassem-Secret", what);
    }
    const overwrite = await a.request("/v1/instances", {
      method: "POST",
      headers: { ...json, "x-cassem-client-id": "web-1" },
      body: JSON.stringify({ watching: [{ app: "shop", env: "dev", keys: ["a"] }] }),
    });
    assert.equal(overwrite.status, 401, "registering over it needs its secret too");
    await overwrite.body?.cancel();
    assert.equal(await stored(), before, "the record was left alone");

    const renew = await a.request("/v1/instances/web-1", { method: "PUT", headers: owner });
    assert.equal(renew.status, 200, await renew.clone().text());
    const del = await jsonOf(
      await a.request("/v1/instances/web-1", { method: "DELETE", headers: owner }),
    );
    assert.deepEqual(del.body, { removed: true });
    assert.equal(await stored(), undefined);

    // An open env's instance needs no secret.
    const open = { ...json, "x-cassem-client-id": "web-2" };
    const reg2 = await a.request("/v1/instances", {
      method: "POST",
      headers: open,
      body: JSON.stringify({ watching: [{ app: "shop", env: "dev", keys: ["a"] }] }),
    });
    assert.equal(reg2.status, 200);
    await reg2.body?.cancel();
    const del2 = await jsonOf(
      await a.request("/v1/instances/web-2", { method: "DELETE", headers: open }),
    );
    assert.deepEqual(del2.body, { removed: true });
  } finally {
    await t.close();
  }
});
