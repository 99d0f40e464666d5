import assert from "node:assert/strict";
import { SseSink } from "./sse.ts";
import { SpreadWrites } from "./spread_writes.ts";
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

Deno.test("SseSink: sinks sharing a spreader of 2 writes a turn hand 2 frames to their streams now, the rest in later turns", async () => {
  const spread = new SpreadWrites(2);
  const sinks = Array.from({ length: 8 }, () => new SseSink({ spread }));
  for (const s of sinks) s.heartbeat(7);
  assert.equal(spread.waiting, 6, "6 of 8 frames wait for later turns");
  await new Promise((r) => setImmediate(r));
  assert.equal(spread.waiting, 4, "one turn later, 2 more went");
  while (spread.waiting > 0) await new Promise((r) => setImmediate(r));
  const dec = new TextDecoder();
  for (const s of sinks) {
    const reader = s.body.getReader();
    assert.match(dec.decode((await reader.read()).value), /^retry: /);
    assert.equal(dec.decode((await reader.read()).value), ": heartbeat 7\n\n");
    await reader.cancel();
  }
});

Deno.test("SseSink: an initial state whose writes wait for later turns still does not count against the bound", async () => {
  const spread = new SpreadWrites(1);
  new SseSink({ spread }).heartbeat(1); // takes this turn's only write
  // 10 frames of initial state (~170 B) over a 100 B bound, all deferred, then ready.
  const s = new SseSink({ spread, maxQueuedBytes: 100 });
  for (let i = 0; i < 10; i++) s.heartbeat(1_000_000 + i);
  s.ready(7, true);
  while (spread.waiting > 0) await new Promise((r) => setImmediate(r));
  assert.equal(s.ended, false, "not cut off for its initial state");
  const reader = s.body.getReader();
  const dec = new TextDecoder();
  let text = "";
  while (!text.includes("event: ready")) text += dec.decode((await reader.read()).value);
  assert.equal(text.match(/: heartbeat 10000\d\d/g)?.length, 10);
  assert.doesNotMatch(text, /RESOURCE_EXHAUSTED/);
  await reader.cancel();
});
