import assert from "node:assert/strict";
import { BurstDetector, releaseMemory, startBurstRelease } from "./memory_trim.ts";

Deno.test("BurstDetector: releases once a burst of at least minGrowth stops, not while it runs nor after a small one", () => {
  const d = new BurstDetector(100);
  assert.equal(d.check(0), false); // the start
  assert.equal(d.check(50), false); // growing
  assert.equal(d.check(50), false); // still: a burst too small
  assert.equal(d.check(120), false); // growing again: 120 since the start
  assert.equal(d.check(120), true); // it stopped: release
  assert.equal(d.check(120), false); // nothing new since
  assert.equal(d.check(170), false);
  assert.equal(d.check(170), false); // 50 since the release: too small
  assert.equal(d.check(260), false);
  assert.equal(d.check(260), true); // 140 since the release
});

Deno.test("BurstDetector: a burst that goes on is released every maxGrowth counts", () => {
  const d = new BurstDetector(100, 1_000);
  const released: number[] = [];
  for (let v = 0; v <= 3_500; v += 250) if (d.check(v)) released.push(v);
  assert.deepEqual(released, [1_000, 2_000, 3_000]);
  assert.equal(d.check(3_500), true); // and at its end, though less than minGrowth since
  assert.equal(d.check(3_500), false);
  assert.equal(d.check(3_550), false);
  assert.equal(d.check(3_550), false); // a small burst on its own is not released
});

Deno.test("startBurstRelease: calls release at the end of a burst of the counter", async () => {
  let counter = 0;
  let released = 0;
  const stop = startBurstRelease({
    activity: () => counter,
    minGrowth: 10,
    checkMs: 5,
    release: () => released++,
  });
  try {
    counter = 50;
    const deadline = Date.now() + 10_000;
    while (released === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(released, 1);
  } finally {
    stop();
  }
});

Deno.test("releaseMemory: collects the garbage of the JS heap (on Linux with glibc, trims too)", () => {
  // Made and dropped in a function of its own: nothing of it stays reachable from here.
  const before = (() => {
    const garbage = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
    return Deno.memoryUsage().heapUsed + garbage.length * 0;
  })();
  assert.equal(releaseMemory(), true);
  const after = Deno.memoryUsage().heapUsed;
  // 200,000 objects with their strings are well over 8 MiB: a full collection frees them.
  assert.ok(before - after > 8 * 2 ** 20, `heap used ${before} -> ${after}`);
});
