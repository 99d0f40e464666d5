import assert from "node:assert/strict";
import { TestEnv } from "./_test_env.ts";

Deno.test("SSE: comment heartbeats arrive at the configured interval, not faster", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 1, raw: "A1" });
    const a = await t.agent({ heartbeatMs: 300 });
    const r = await t.watch(a, "/v1/apps/shop/envs/prod/watch?keys=a");
    assert.equal((await r.next())?.event, "message");
    assert.equal((await r.next())?.event, "ready");
    const c0 = r.comments;
    const t0 = performance.now();
    // No event comes now, only comments: each next() waits and counts them.
    while (r.comments < c0 + 5 && performance.now() - t0 < 20_000) {
      assert.equal(await r.next(200), undefined, "only heartbeats while nothing changes");
    }
    const elapsed = performance.now() - t0;
    assert.equal(r.comments - c0, 5, "5 heartbeats within 20 s (the default 15 s gives at most 2)");
    // Of 5 beats of a 300 ms period, at most one was sent before t0: the other 4 span 3 periods.
    assert.ok(elapsed >= 3 * 300 - 50, `not faster than configured: 5 in ${elapsed} ms`);
  } finally {
    await t.close();
  }
});
