import assert from "node:assert/strict";
import { Deque } from "./_deque.ts";

Deno.test("Deque keeps FIFO order and indexes from the front across compactions", () => {
  const d = new Deque<number>();
  assert.equal(d.shift(), undefined);
  let next = 0;
  let head = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 100; i++) d.push(next++);
    for (let i = 0; i < 70; i++) assert.equal(d.shift(), head++);
    assert.equal(d.length, next - head);
    assert.equal(d.at(0), head);
    assert.equal(d.at(d.length - 1), next - 1);
    assert.equal(d.at(d.length), undefined);
    assert.equal(d.at(-1), undefined);
  }
  d.clear();
  assert.equal(d.length, 0);
  assert.equal(d.at(0), undefined);
});
