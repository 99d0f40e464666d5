import assert from "node:assert/strict";
import { instanceKey, rawFingerprint } from "../shared/config/mod.ts";
import { waitFor } from "../tests/support/procs.ts";
import { jsonOf, TestEnv } from "./_test_env.ts";

const E = "/v1/apps/shop/envs/prod";

Deno.test("a long poll leaves the client's own instance record as it registered it", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 1, raw: "A1" });
    const a = await t.agent();
    const headers = { "content-type": "application/json", "x-cassem-client-id": "poller" };
    const running = [{
      app: "shop",
      env: "prod",
      key: "a",
      version: 7,
      fingerprint: "7".repeat(64),
      gray: false,
    }];
    const reg = await a.request("/v1/instances", {
      method: "POST",
      headers,
      body: JSON.stringify({ watching: [{ app: "shop", env: "prod", keys: ["a"] }], running }),
    });
    assert.equal(reg.status, 200, await reg.clone().text());
    const before = (await t.db.get(instanceKey("poller"))).entity!;

    // Longer than the registry's flush delay (100 ms): a streamed record would be written.
    const poll = await jsonOf(
      await a.request(`${E}/poll`, {
        method: "POST",
        headers,
        body: JSON.stringify({ held: { a: await rawFingerprint("A1") }, timeoutMs: 400 }),
      }),
    );
    assert.deepEqual(poll.body.elements, [], "nothing changed: the poll timed out");
    await new Promise((r) => setTimeout(r, 150)); // a removal on detach would have landed

    const after = (await t.db.get(instanceKey("poller"))).entity;
    assert.ok(after, "the registered record is still there");
    assert.equal(after.modRevision, before.modRevision, "and was not rewritten");
    assert.deepEqual(JSON.parse(new TextDecoder().decode(after.val)).running, running);
  } finally {
    await t.close();
  }
});

Deno.test("a long poll whose client went away releases its subscriber at once", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 1, raw: "A1" });
    const a = await t.agent();
    const gone = new AbortController();
    const answer = a.request(`${E}/poll`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-cassem-client-id": "leaver" },
      body: JSON.stringify({ held: { a: await rawFingerprint("A1") }, timeoutMs: 60_000 }),
      signal: gone.signal,
    });
    await waitFor("the poll waiting", () => a.core.subscribers.size === 1 || undefined, {
      timeoutMs: 5_000,
    });
    const t0 = performance.now();
    gone.abort();
    await waitFor("the subscriber released", () => a.core.subscribers.size === 0 || undefined, {
      timeoutMs: 5_000,
    });
    assert.ok(performance.now() - t0 < 5_000);
    await answer.then((r) => r.body?.cancel(), () => {});
    assert.equal(a.core.stats().pins, 0, "its pins went with it");
  } finally {
    await t.close();
  }
});
