/**
 * Inflights bounds the appends in flight to one follower, by count and by bytes.
 *
 * @module
 */

/**
 * A FIFO of the last index of each append sent and not yet acknowledged.
 * Invariant: indexes are increasing; `count() <= capacity`.
 */
export class Inflights {
  readonly capacity: number;
  readonly maxBytes: number;
  #indexes: number[] = [];
  #sizes: number[] = [];
  #head = 0;
  #bytes = 0;

  constructor(capacity: number, maxBytes: number) {
    if (capacity < 1) {
      throw new RangeError(
        `Cannot track inflights as capacity must be ≥ 1: current value is ${capacity}`,
      );
    }
    this.capacity = capacity;
    this.maxBytes = maxBytes;
  }

  /** Records an append ending at `index` carrying `bytes` of entries. */
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error("Cannot add an inflight append as the window is full");
    this.#indexes.push(index);
    this.#sizes.push(bytes);
    this.#bytes += bytes;
  }

  /** Frees every append whose last index is at or below `index`. */
  freeLE(index: number): void {
    let h = this.#head;
    while (h < this.#indexes.length && this.#indexes[h]! <= index) {
      this.#bytes -= this.#sizes[h]!;
      h++;
    }
    this.#head = h;
    if (h > 64 && h * 2 > this.#indexes.length) {
      this.#indexes = this.#indexes.slice(h);
      this.#sizes = this.#sizes.slice(h);
      this.#head = 0;
    }
  }

  count(): number {
    return this.#indexes.length - this.#head;
  }

  full(): boolean {
    return this.count() >= this.capacity || (this.maxBytes > 0 && this.#bytes >= this.maxBytes);
  }

  reset(): void {
    this.#indexes = [];
    this.#sizes = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
