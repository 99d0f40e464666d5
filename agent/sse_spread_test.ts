import assert from "node:assert/strict";
import { TestEnv } from "./_test_env.ts";

const E = "/v1/apps/shop/envs/prod";

Deno.test("SSE: with 2 events a turn, 8 streams get every push in order, and a close after the pushes before it", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "hot", { version: 1, raw: "v1" });
    const a = await t.agent({ writesPerTurn: 2 });
    const readers = [];
    for (let i = 0; i < 8; i++) {
      const r = await t.watch(a, `${E}/watch?keys=hot`);
      const first = [await r.next(), await r.next()];
      assert.deepEqual(first.map((e) => e?.event), ["message", "ready"]);
      readers.push(r);
    }
    for (let v = 2; v <= 4; v++) {
      await t.pub.publish("shop", "prod", "hot", { version: v, raw: `v${v}` });
    }
    // Ends every stream (agent stopping): each close is queued behind that stream's pushes.
    const closing = a.close();
    for (const r of readers) {
      const got = [];
      for (let i = 0; i < 4; i++) got.push(await r.next());
      assert.deepEqual(
        got.slice(0, 3).map((e) => [e?.event, JSON.parse(e!.data).version]),
        [["message", 2], ["message", 3], ["message", 4]],
      );
      assert.equal(got[3]?.event, "close");
    }
    await closing;
  } finally {
    await t.close();
  }
});
