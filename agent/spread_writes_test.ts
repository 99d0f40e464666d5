import assert from "node:assert/strict";
import { SpreadWrites } from "./spread_writes.ts";

/** Resolves after the turns already scheduled (setImmediate runs them in order). */
function nextTurn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

Deno.test("SpreadWrites runs perTurn writes at once and the rest in later turns, in order", async () => {
  const spread = new SpreadWrites(3);
  const done: number[] = [];
  const write = (i: number) => {
    if (spread.mayWriteNow()) done.push(i);
    else spread.later(() => done.push(i));
  };
  for (let i = 0; i < 8; i++) write(i);
  assert.deepEqual(done, [0, 1, 2]);
  assert.equal(spread.waiting, 5);
  await nextTurn();
  assert.deepEqual(done, [0, 1, 2, 3, 4, 5]);
  // A write while others wait goes behind them, even in a fresh turn.
  write(8);
  assert.equal(spread.waiting, 3);
  await nextTurn();
  assert.deepEqual(done, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(spread.waiting, 0);
  await nextTurn();
  // Drained: the next turn writes at once again.
  write(9);
  assert.deepEqual(done, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await nextTurn();
});

Deno.test("SpreadWrites goes on after a write that throws", async () => {
  const spread = new SpreadWrites(1);
  const done: string[] = [];
  assert.equal(spread.mayWriteNow(), true);
  assert.equal(spread.mayWriteNow(), false);
  spread.later(() => {
    throw new Error("stream gone");
  });
  spread.later(() => done.push("b"));
  await nextTurn();
  assert.deepEqual(done, []);
  await nextTurn();
  assert.deepEqual(done, ["b"]);
  await nextTurn();
});
