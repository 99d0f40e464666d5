import assert from "node:assert/strict";
import { TestEnv } from "./_test_env.ts";

const E = "/v1/apps/shop/envs/prod";
const KEYS = Array.from({ length: 10 }, (_, i) => `k${i}`);

Deno.test("SSE: an initial state larger than the stream bound is delivered whole; later pushes still count against the bound", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    // 10 × 8 KiB ≈ 80 KiB of initial state over a 64 KiB bound.
    for (const k of KEYS) {
      await t.pub.publish("shop", "prod", k, { version: 1, raw: k.padEnd(8_192, ".") });
    }
    const a = await t.agent({ maxQueuedBytes: 64 * 1024 });
    const r = await t.watch(a, `${E}/watch?keys=${KEYS.join(",")}`);
    const initial = [];
    for (let i = 0; i <= KEYS.length; i++) initial.push(await r.next());
    assert.deepEqual(
      initial.map((e) => e?.event),
      [...KEYS.map(() => "message"), "ready"],
      `the whole initial state then ready, got ${JSON.stringify(initial.at(-1))}`,
    );
    assert.deepEqual(initial.slice(0, -1).map((e) => JSON.parse(e!.data).key), KEYS);
    const revision = JSON.parse(initial.at(-1)!.data).revision;
    assert.equal(r.lastEventId, String(revision));
    assert.equal(a.core.subscribers.size, 1, "still subscribed");

    await t.pub.publish("shop", "prod", "k3", { version: 2, raw: "small" });
    const next = await r.next();
    assert.equal(next?.event, "message");
    assert.deepEqual([JSON.parse(next!.data).key, JSON.parse(next!.data).raw], ["k3", "small"]);

    // The bound still holds beyond the initial state: a client that stops reading is cut off.
    const slow = await a.request(`${E}/watch?keys=${KEYS.join(",")}`, {
      headers: { accept: "text/event-stream" },
    });
    assert.equal(a.core.subscribers.size, 2, "the slow client got its initial state too");
    for (let v = 3; v <= 20; v++) {
      await t.pub.publish("shop", "prod", "k3", { version: v, raw: String(v).padEnd(8_192, ".") });
    }
    await r.cancel();
    for (let i = 0; i < 500 && a.core.subscribers.size > 0; i++) {
      await new Promise((res) => setTimeout(res, 10));
    }
    assert.equal(a.core.subscribers.size, 0, "the slow subscriber was dropped");
    const text = await slow.text();
    assert.ok(
      text.length < 2 * 64 * 1024 + 16_384,
      `queued at most initial + bound: ${text.length}`,
    );
    assert.match(text, /event: close\ndata: \{"code":"RESOURCE_EXHAUSTED"/);
  } finally {
    await t.close();
  }
});
