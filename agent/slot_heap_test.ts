import assert from "node:assert/strict";
import { SeededPrng } from "../shared/prng.ts";
import { SlotHeap } from "./slot_heap.ts";

Deno.test("SlotHeap answers the smallest key and the next one, exactly as a sorted list, over 20,000 random operations", () => {
  const prng = new SeededPrng(11);
  const heap = new SlotHeap(4);
  const model = new Map<number, number>(); // slot → key
  let capacity = 4;
  const sorted = () => [...model].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  for (let i = 0; i < 20_000; i++) {
    const slot = prng.intn(300);
    if (slot >= capacity) {
      capacity = Math.max(slot + 1, 2 * capacity);
      heap.grow(capacity);
    }
    const op = prng.intn(10);
    // Keys unique, as the cache's sequence numbers are.
    const key = i + 1;
    if (!model.has(slot)) {
      heap.insert(slot, key);
      model.set(slot, key);
    } else if (op < 4) {
      heap.remove(slot);
      model.delete(slot);
    } else {
      // Up (an access: the cache's refile) or, now and then, down.
      const k = op < 9 ? key : model.get(slot)! - 0.5;
      heap.rekey(slot, k);
      model.set(slot, k);
    }
    assert.equal(heap.size, model.size, `size after ${i}`);
    const s = sorted();
    assert.equal(heap.top(), s[0]?.[0] ?? -1, `top after ${i}`);
    assert.equal(heap.second(), s[1]?.[0] ?? -1, `second after ${i}`);
    assert.equal(heap.has(slot), model.has(slot));
    if (model.has(slot)) assert.equal(heap.key(slot), model.get(slot));
  }
  heap.clear();
  assert.equal(heap.size, 0);
  assert.equal(heap.top(), -1);
  assert.ok([...model.keys()].every((s) => !heap.has(s)), "clear leaves no slot in the heap");
});
