/**
 * A binary min-heap of slot numbers (small non-negative integers), each
 * under a numeric key, in typed arrays: the LRU-K cache's eviction order.
 *
 * Why not a sorted tree: the cache only asks for the smallest key (and,
 * once in a while, the next smallest), and a heap in typed arrays costs 16
 * bytes a slot off the JS heap, where a B-tree of 100,000 entries took
 * about 2.2 MiB of JS heap in nodes and arrays.
 *
 * @module
 */

/** A min-heap of slots by key (see the module doc). */
export class SlotHeap {
  /** Per slot: its key. */
  #keys: Float64Array<ArrayBuffer>;
  /** Per slot: its index in `#heap`, or -1 when it is not in the heap. */
  #pos: Int32Array<ArrayBuffer>;
  /** The heap: slots, the one with the smallest key first. */
  #heap: Int32Array<ArrayBuffer>;
  #size = 0;

  /** An empty heap with room for slots `0 … capacity-1` (it grows with {@linkcode grow}). */
  constructor(capacity: number) {
    this.#keys = new Float64Array(capacity);
    this.#pos = new Int32Array(capacity).fill(-1);
    this.#heap = new Int32Array(capacity);
  }

  /** Slots in the heap. */
  get size(): number {
    return this.#size;
  }

  /** Makes room for slots `0 … capacity-1`. */
  grow(capacity: number): void {
    if (capacity <= this.#pos.length) return;
    const keys = new Float64Array(capacity);
    keys.set(this.#keys);
    const pos = new Int32Array(capacity).fill(-1);
    pos.set(this.#pos);
    const heap = new Int32Array(capacity);
    heap.set(this.#heap);
    this.#keys = keys;
    this.#pos = pos;
    this.#heap = heap;
  }

  /** The key `slot` is under (meaningful while it is in the heap). */
  key(slot: number): number {
    return this.#keys[slot]!;
  }

  /** Whether `slot` is in the heap. */
  has(slot: number): boolean {
    return this.#pos[slot]! >= 0;
  }

  /** Adds `slot` (not in the heap) under `key`. */
  insert(slot: number, key: number): void {
    this.#keys[slot] = key;
    const i = this.#size++;
    this.#heap[i] = slot;
    this.#pos[slot] = i;
    this.#up(i);
  }

  /** Removes `slot` if it is in the heap. */
  remove(slot: number): void {
    const i = this.#pos[slot]!;
    if (i < 0) return;
    this.#pos[slot] = -1;
    const last = this.#heap[--this.#size]!;
    if (i === this.#size) return;
    this.#heap[i] = last;
    this.#pos[last] = i;
    this.#up(i);
    this.#down(this.#pos[last]!);
  }

  /** Puts `slot` (in the heap) under `key` instead. */
  rekey(slot: number, key: number): void {
    const old = this.#keys[slot]!;
    this.#keys[slot] = key;
    const i = this.#pos[slot]!;
    if (key < old) this.#up(i);
    else this.#down(i);
  }

  /** The slot with the smallest key, or -1 when empty. */
  top(): number {
    return this.#size > 0 ? this.#heap[0]! : -1;
  }

  /** The slot with the smallest key after the top's, or -1 when there is none. */
  second(): number {
    if (this.#size < 2) return -1;
    if (this.#size === 2) return this.#heap[1]!;
    const a = this.#heap[1]!;
    const b = this.#heap[2]!;
    return this.#keys[a]! <= this.#keys[b]! ? a : b;
  }

  /** Empties the heap. */
  clear(): void {
    for (let i = 0; i < this.#size; i++) this.#pos[this.#heap[i]!] = -1;
    this.#size = 0;
  }

  #up(i: number): void {
    const heap = this.#heap;
    const keys = this.#keys;
    const slot = heap[i]!;
    const key = keys[slot]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (keys[p]! <= key) break;
      heap[i] = p;
      this.#pos[p] = i;
      i = parent;
    }
    heap[i] = slot;
    this.#pos[slot] = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const keys = this.#keys;
    const n = this.#size;
    const slot = heap[i]!;
    const key = keys[slot]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && keys[heap[child + 1]!]! < keys[heap[child]!]!) child++;
      const c = heap[child]!;
      if (keys[c]! >= key) break;
      heap[i] = c;
      this.#pos[c] = i;
      i = child;
    }
    heap[i] = slot;
    this.#pos[slot] = i;
  }
}
