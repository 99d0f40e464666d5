/**
 * An LRU-K cache (O'Neil, O'Neil and Weikum, 1993), K = 2 by default, with an
 * injected clock:
 *
 * - **Admission.** A key enters the main cache only once it was accessed K
 *   times within `windowMs`. Until then its access times are kept in a
 *   bounded *history* (an npm:lru-cache `LRUCache`, least recently used key
 *   out first), and {@linkcode LruKCache.offer} refuses its value.
 * - **Eviction.** When the main cache is over its entry or byte bound, the
 *   key whose K-th most recent access is oldest goes first (its "backward
 *   K-distance" is largest). An evicted key's access times go back to the
 *   history, so a hot key that was squeezed out is re-admitted at its next
 *   access.
 *
 * A one-off scan over many keys accesses each of them once: none is
 * admitted, so the scan cannot flush the hot keys, where a plain LRU would
 * (`lru_k_test.ts` shows both).
 *
 * Accesses are ordered by a sequence number, not by the clock: the K-th most
 * recent access with the smallest sequence number is the oldest, whatever
 * the clock does; the clock only decides the admission window.
 *
 * Memory: the main cache keeps no object per entry. Each entry is a slot
 * number; its access sequence numbers and times, size and eviction key live
 * in typed arrays indexed by slot, and a freed slot is reused. Per entry
 * that is its slot's place (a `Map` entry, or a field of the key: see
 * {@linkcode SlotIndex}), its key and value, 16·K + 8 bytes of typed arrays
 * and 16 bytes of the eviction heap ({@linkcode SlotHeap}).
 *
 * @module
 */

import { LRUCache } from "lru-cache";
import { SlotHeap } from "./slot_heap.ts";

/** Options of {@linkcode LruKCache}. */
export interface LruKOptions<V, K = string> {
  /** Accesses needed to enter the main cache and the K of eviction (default 2, at least 1). */
  k?: number;
  /** Most entries in the main cache (at least 1). */
  maxEntries: number;
  /** Most bytes in the main cache, as counted by `sizeOf` (at least 1). */
  maxBytes: number;
  /** The size of a value in bytes (what `maxBytes` bounds). */
  sizeOf(value: V, key: K): number;
  /** The K accesses that admit a key must fall within this many ms (default 60,000). */
  windowMs?: number;
  /**
   * Most keys whose access history is kept outside the main cache (default
   * maxEntries: npm:lru-cache allocates its arrays for all of them up front,
   * about 27 bytes a key).
   */
  historyEntries?: number;
  /** Milliseconds for the admission window (default `Date.now`, which costs no call into the runtime). */
  clock?: () => number;
  /**
   * Where each key's slot is kept (default: a `Map` inside the cache). A key
   * type with a field to spare can hold its own slot instead, saving the
   * map's ~36 bytes a key (see {@linkcode SlotIndex}).
   */
  slotIndex?: SlotIndex<K>;
  /**
   * Told when a value leaves the main cache: evicted, deleted, replaced by
   * {@linkcode LruKCache.update}, or cleared. Not told of a value
   * {@linkcode LruKCache.offer} refused (it never entered). Must not call
   * back into the cache.
   */
  dispose?(value: V, key: K): void;
}

/**
 * Where an {@linkcode LruKCache} keeps the slot of each key of its main
 * cache. One index serves one cache: a key's slot field, if it has one,
 * belongs to that cache.
 */
export interface SlotIndex<K> {
  /** The slot of `key`, or -1 when it has none. */
  get(key: K): number;
  /** Sets the slot of `key` (-1: it has none). */
  set(key: K, slot: number): void;
}

/** The default {@linkcode SlotIndex}: a map. */
class MapSlotIndex<K> implements SlotIndex<K> {
  readonly #slots = new Map<K, number>();
  get(key: K): number {
    return this.#slots.get(key) ?? -1;
  }
  set(key: K, slot: number): void {
    if (slot < 0) this.#slots.delete(key);
    else this.#slots.set(key, slot);
  }
}

/** Counters of a {@linkcode LruKCache}. */
export interface LruKStats {
  /** Entries in the main cache. */
  entries: number;
  /** Bytes in the main cache. */
  bytes: number;
  /** Keys with an access history outside the main cache. */
  history: number;
  /** Accesses that found the key in the main cache. */
  hits: number;
  /** Accesses that did not. */
  misses: number;
  /** Entries evicted to stay within the bounds. */
  evictions: number;
}

/** Initial number of slots; doubled as needed. */
const INITIAL_SLOTS = 64;

/**
 * An LRU-K cache (see the module doc). Keys are strings by default; any
 * value compared by identity works (`Map` semantics).
 *
 * Invariant: every key of the main cache has a slot whose K recorded
 * accesses are all real (sequence numbers > 0), and the heap `#order` holds
 * each slot once, under the sequence number its K-th most recent access had
 * when it was last filed, never more than the current one
 * (`#seqs[slot·K]`). A hit does not refile (no heap operation on the read
 * path); eviction refiles the entries it finds out of date until the top
 * entry is current, which is then the true oldest.
 */
export class LruKCache<V, K extends NonNullable<unknown> = string> {
  readonly #k: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #windowMs: number;
  readonly #sizeOf: (value: V, key: K) => number;
  readonly #clock: () => number;
  readonly #dispose: ((value: V, key: K) => void) | undefined;
  /** Key → slot of every entry of the main cache. */
  readonly #slotOf: SlotIndex<K>;
  /** Per slot: its key and value (undefined when free). */
  #keys: (K | undefined)[] = [];
  #values: (V | undefined)[] = [];
  /** Per slot: size in bytes. */
  #sizes: Float64Array<ArrayBuffer> = new Float64Array(INITIAL_SLOTS);
  /** Per slot, K sequence numbers and K times of its last accesses, oldest first. */
  #seqs: Float64Array<ArrayBuffer>;
  #times: Float64Array<ArrayBuffer>;
  readonly #freeSlots: number[] = [];
  #slots = 0;
  /** The slots of the main cache by the sequence number they are filed under. */
  readonly #order = new SlotHeap(INITIAL_SLOTS);
  /** Outside the main cache: the last K sequence numbers then K times of a key (0: none yet). */
  readonly #history: LRUCache<K, Float64Array>;
  #bytes = 0;
  #seq = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  /**
   * A cache with the given bounds.
   * @throws {RangeError} naming the option when a bound is not a positive integer.
   */
  constructor(options: LruKOptions<V, K>) {
    this.#k = positive("k", options.k ?? 2);
    this.#maxEntries = positive("maxEntries", options.maxEntries);
    this.#maxBytes = positive("maxBytes", options.maxBytes);
    this.#windowMs = positive("windowMs", options.windowMs ?? 60_000);
    this.#sizeOf = options.sizeOf;
    this.#clock = options.clock ?? Date.now;
    this.#dispose = options.dispose;
    this.#slotOf = options.slotIndex ?? new MapSlotIndex<K>();
    this.#seqs = new Float64Array(INITIAL_SLOTS * this.#k);
    this.#times = new Float64Array(INITIAL_SLOTS * this.#k);
    // No TTL: `offer` checks the window itself, and lru-cache allocates two arrays of
    // `max` numbers for TTLs.
    this.#history = new LRUCache<K, Float64Array>({
      max: positive("historyEntries", options.historyEntries ?? Math.max(16, this.#maxEntries)),
    });
  }

  /** The K of this cache. */
  get k(): number {
    return this.#k;
  }

  /**
   * Records an access to `key` and answers its value when the main cache
   * holds it (`undefined` otherwise: the caller fetches the value and may
   * {@linkcode offer} it).
   */
  get(key: K): V | undefined {
    const seq = ++this.#seq;
    const now = this.#clock();
    const slot = this.#slotOf.get(key);
    if (slot >= 0) {
      this.#hits++;
      shiftIn(this.#seqs, this.#times, slot * this.#k, this.#k, seq, now);
      return this.#values[slot];
    }
    this.#misses++;
    let h = this.#history.get(key);
    if (!h) {
      h = new Float64Array(2 * this.#k);
      this.#history.set(key, h);
    }
    shiftIn(h, h, 0, this.#k, seq, now);
    return undefined;
  }

  /** The value of `key` when the main cache holds it, without recording an access. */
  peek(key: K): V | undefined {
    const slot = this.#slotOf.get(key);
    return slot < 0 ? undefined : this.#values[slot];
  }

  /** Whether the main cache holds `key`. */
  has(key: K): boolean {
    return this.#slotOf.get(key) >= 0;
  }

  /**
   * Whether {@linkcode offer} would admit a value of `size` bytes for `key`
   * now (the main cache holds it already, or its last K accesses fall within
   * the window and the size fits). Lets a caller prepare a value only when
   * it will be kept.
   */
  admits(key: K, size: number): boolean {
    if (size > this.#maxBytes) return false;
    if (this.has(key)) return true;
    const h = this.#history.get(key);
    return h !== undefined && h[0]! > 0 && this.#clock() - h[this.#k]! <= this.#windowMs;
  }

  /**
   * Offers the value of `key` after a miss: it enters the main cache when
   * the key's last K accesses fall within the window (and the value fits in
   * `maxBytes`), evicting as needed. Answers whether it was admitted.
   */
  offer(key: K, value: V): boolean {
    if (this.has(key)) return this.update(key, value);
    const h = this.#history.get(key);
    const k = this.#k;
    if (!h || h[0] === 0) return false;
    if (this.#clock() - h[k]! > this.#windowMs) return false;
    const size = this.#sizeOf(value, key);
    if (size > this.#maxBytes) return false;
    this.#history.delete(key);
    const slot = this.#takeSlot();
    this.#keys[slot] = key;
    this.#values[slot] = value;
    this.#sizes[slot] = size;
    this.#seqs.set(h.subarray(0, k), slot * k);
    this.#times.set(h.subarray(k), slot * k);
    this.#slotOf.set(key, slot);
    this.#order.insert(slot, h[0]!);
    this.#bytes += size;
    this.#evict(slot);
    return this.has(key);
  }

  /**
   * Replaces the value of `key` when the main cache holds it (a fresher
   * version arrived), without recording an access; answers whether it did.
   * A value that no longer fits in `maxBytes` drops the entry.
   */
  update(key: K, value: V): boolean {
    const slot = this.#slotOf.get(key);
    if (slot < 0) return false;
    const size = this.#sizeOf(value, key);
    if (size > this.#maxBytes) {
      this.delete(key);
      return false;
    }
    const old = this.#values[slot]!;
    this.#bytes += size - this.#sizes[slot]!;
    this.#values[slot] = value;
    this.#sizes[slot] = size;
    if (old !== value) this.#dispose?.(old, key);
    this.#evict(slot);
    return this.has(key);
  }

  /** Removes `key` from the main cache and its history. */
  delete(key: K): void {
    this.#history.delete(key);
    const slot = this.#slotOf.get(key);
    if (slot < 0) return;
    this.#order.remove(slot);
    this.#release(slot);
  }

  /** Empties the main cache and the history. */
  clear(): void {
    for (let slot = 0; slot < this.#slots; slot++) {
      if (this.#keys[slot] !== undefined) this.#release(slot);
    }
    this.#order.clear();
    this.#history.clear();
  }

  /**
   * Moves the entry (or the access history) of `from` to `to`, keeping its
   * accesses: the key that stands for a record changed (a new version of
   * it), not an access. With `value`, replaces the value as
   * {@linkcode update} does. Answers whether the main cache holds `to`.
   */
  rename(from: K, to: K, value?: V): boolean {
    if (from !== to) {
      this.delete(to);
      const slot = this.#slotOf.get(from);
      if (slot < 0) {
        const h = this.#history.peek(from);
        if (h) {
          this.#history.delete(from);
          this.#history.set(to, h);
        }
        return false;
      }
      this.#slotOf.set(from, -1);
      this.#slotOf.set(to, slot);
      this.#keys[slot] = to;
    }
    return value === undefined ? this.has(to) : this.update(to, value);
  }

  /** The keys of the main cache, in no particular order. */
  *keys(): IterableIterator<K> {
    for (let slot = 0; slot < this.#slots; slot++) {
      const key = this.#keys[slot];
      if (key !== undefined) yield key;
    }
  }

  /** Counters. */
  stats(): LruKStats {
    return {
      entries: this.#order.size,
      bytes: this.#bytes,
      history: this.#history.size,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
    };
  }

  /** A free slot, growing the arrays when there is none. */
  #takeSlot(): number {
    const free = this.#freeSlots.pop();
    if (free !== undefined) return free;
    const slot = this.#slots++;
    if (slot === this.#sizes.length) {
      const k = this.#k;
      // Doubled, but never past the most slots in use at once (the bound, and
      // the one just admitted before an eviction): 100,000 entries would
      // otherwise reserve 131,072 slots.
      const n = Math.max(slot + 1, Math.min(2 * slot, this.#maxEntries + 1));
      this.#sizes = grown(this.#sizes, n);
      this.#order.grow(n);
      this.#seqs = grown(this.#seqs, n * k);
      this.#times = grown(this.#times, n * k);
    }
    return slot;
  }

  /** Frees `slot` (already out of `#order`) and tells `dispose`. */
  #release(slot: number): void {
    const key = this.#keys[slot]!;
    const value = this.#values[slot]!;
    this.#slotOf.set(key, -1);
    this.#bytes -= this.#sizes[slot]!;
    this.#keys[slot] = undefined;
    this.#values[slot] = undefined;
    this.#freeSlots.push(slot);
    this.#dispose?.(value, key);
  }

  /** Evicts by largest backward K-distance until within bounds; `keep` goes last. */
  #evict(keep: number): void {
    while (this.#order.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      let victim: number | undefined;
      for (;;) {
        const slot = this.#order.top();
        if (slot < 0) return;
        if (this.#refile(slot)) continue;
        if (slot === keep && this.#order.size > 1) {
          // The entry just admitted is kept: the next oldest goes instead.
          victim = this.#nextAfterTop();
          if (victim === undefined) return;
        } else victim = slot;
        break;
      }
      const k = this.#k;
      const key = this.#keys[victim]!;
      this.#order.remove(victim);
      this.#evictions++;
      // Its accesses still count: a key squeezed out by a burst comes back at its next access.
      const h = new Float64Array(2 * k);
      h.set(this.#seqs.subarray(victim * k, victim * k + k), 0);
      h.set(this.#times.subarray(victim * k, victim * k + k), k);
      this.#release(victim);
      this.#history.set(key, h);
    }
  }

  /** Files `slot` under its current K-th most recent access if it was accessed since; answers whether it moved. */
  #refile(slot: number): boolean {
    const current = this.#seqs[slot * this.#k]!;
    if (this.#order.key(slot) === current) return false;
    this.#order.rekey(slot, current);
    return true;
  }

  /** The current oldest slot other than the top one, which is current (refiling stale ones). */
  #nextAfterTop(): number | undefined {
    for (;;) {
      const slot = this.#order.second();
      if (slot < 0) return undefined;
      if (!this.#refile(slot)) return slot;
    }
  }
}

/**
 * Appends an access to the K sequence numbers at `seqs[at..at+K)` and the K
 * times at `times[at(+K for a history)..]`, dropping the oldest.
 */
function shiftIn(
  seqs: Float64Array,
  times: Float64Array,
  at: number,
  k: number,
  seq: number,
  time: number,
): void {
  // A history keeps its times right after its sequence numbers, in the same array.
  const t = seqs === times ? at + k : at;
  for (let i = 0; i < k - 1; i++) {
    seqs[at + i] = seqs[at + i + 1]!;
    times[t + i] = times[t + i + 1]!;
  }
  seqs[at + k - 1] = seq;
  times[t + k - 1] = time;
}

function grown(a: Float64Array, length: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(length);
  b.set(a);
  return b;
}

function positive(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(
      `Cannot create the cache as ${name} must be a positive integer: current value is ${n}`,
    );
  }
  return n;
}
