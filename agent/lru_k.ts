/**
 * An LRU-K cache (O'Neil, O'Neil and Weikum, 1993), K = 2 by default, with an
 * injected clock:
 *
 * - **Admission.** A key enters the main cache only once it was accessed K
 *   times within `windowMs`. Until then its access times are kept in a
 *   bounded *history* (an npm:lru-cache `LRUCache` whose TTL is the window),
 *   and {@linkcode LruKCache.offer} refuses its value.
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
 * @module
 */

import BTreeMod from "sorted-btree";
import { LRUCache } from "lru-cache";

type BTree<K, V> = BTreeMod.default<K, V>;
// sorted-btree is CommonJS: under Deno the default import is the module object at run time.
const BTreeCtor: typeof BTreeMod.default = BTreeMod.default ??
  (BTreeMod as unknown as typeof BTreeMod.default);

/** Options of {@linkcode LruKCache}. */
export interface LruKOptions<V> {
  /** Accesses needed to enter the main cache and the K of eviction (default 2, at least 1). */
  k?: number;
  /** Most entries in the main cache (at least 1). */
  maxEntries: number;
  /** Most bytes in the main cache, as counted by `sizeOf` (at least 1). */
  maxBytes: number;
  /** The size of a value in bytes (what `maxBytes` bounds). */
  sizeOf(value: V, key: string): number;
  /** The K accesses that admit a key must fall within this many ms (default 60,000). */
  windowMs?: number;
  /** Most keys whose access history is kept outside the main cache (default 2 × maxEntries). */
  historyEntries?: number;
  /** Milliseconds for the admission window (default `Date.now`, which costs no call into the runtime). */
  clock?: () => number;
}

/** One entry of the main cache. */
interface Entry<V> {
  value: V;
  size: number;
  /** Sequence numbers of the last K accesses, oldest first (length K). */
  seqs: number[];
  /** Times of the same accesses. */
  times: number[];
  /** The key it is filed under in the eviction order (≤ `seqs[0]`, see `#evict`). */
  filed: number;
}

/** Access history of a key outside the main cache: its last K accesses, oldest first. */
interface History {
  seqs: number[];
  times: number[];
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

/**
 * An LRU-K cache from string keys to values (see the module doc).
 *
 * Invariant: every key of the main cache has exactly K recorded accesses,
 * and `#order` holds each main key once, under `filed`: the sequence number
 * its K-th most recent access had when it was last filed, never more than
 * the current one (`seqs[0]`). A hit does not refile (no tree operation on
 * the read path); eviction refiles the entries it finds out of date until
 * the first entry is current, which is then the true oldest.
 */
export class LruKCache<V> {
  readonly #k: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #windowMs: number;
  readonly #sizeOf: (value: V, key: string) => number;
  readonly #clock: () => number;
  readonly #main = new Map<string, Entry<V>>();
  readonly #order: BTree<number, string>;
  readonly #history: LRUCache<string, History>;
  #bytes = 0;
  #seq = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  /**
   * A cache with the given bounds.
   * @throws {RangeError} naming the option when a bound is not a positive integer.
   */
  constructor(options: LruKOptions<V>) {
    this.#k = positive("k", options.k ?? 2);
    this.#maxEntries = positive("maxEntries", options.maxEntries);
    this.#maxBytes = positive("maxBytes", options.maxBytes);
    this.#windowMs = positive("windowMs", options.windowMs ?? 60_000);
    this.#sizeOf = options.sizeOf;
    this.#clock = options.clock ?? Date.now;
    this.#order = new BTreeCtor<number, string>();
    const historyEntries = positive(
      "historyEntries",
      options.historyEntries ?? Math.max(16, 2 * this.#maxEntries),
    );
    const clock = this.#clock;
    this.#history = new LRUCache<string, History>({
      max: historyEntries,
      // A history older than the window can no longer admit its key.
      ttl: this.#windowMs,
      ttlAutopurge: false,
      perf: { now: () => clock() },
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
  get(key: string): V | undefined {
    const seq = ++this.#seq;
    const now = this.#clock();
    const e = this.#main.get(key);
    if (e) {
      this.#hits++;
      shiftIn(e, seq, now, this.#k);
      return e.value;
    }
    this.#misses++;
    const h = this.#history.get(key) ?? { seqs: [], times: [] };
    shiftIn(h, seq, now, this.#k);
    this.#history.set(key, h);
    return undefined;
  }

  /** The value of `key` when the main cache holds it, without recording an access. */
  peek(key: string): V | undefined {
    return this.#main.get(key)?.value;
  }

  /** Whether the main cache holds `key`. */
  has(key: string): boolean {
    return this.#main.has(key);
  }

  /**
   * Offers the value of `key` after a miss: it enters the main cache when
   * the key's last K accesses fall within the window (and the value fits in
   * `maxBytes`), evicting as needed. Answers whether it was admitted.
   */
  offer(key: string, value: V): boolean {
    if (this.#main.has(key)) {
      this.update(key, value);
      return true;
    }
    const h = this.#history.get(key);
    if (!h || h.seqs.length < this.#k) return false;
    if (this.#clock() - h.times[0]! > this.#windowMs) return false;
    const size = this.#sizeOf(value, key);
    if (size > this.#maxBytes) return false;
    this.#history.delete(key);
    const e: Entry<V> = { value, size, seqs: h.seqs, times: h.times, filed: h.seqs[0]! };
    this.#main.set(key, e);
    this.#order.set(e.filed, key);
    this.#bytes += size;
    this.#evict(key);
    return this.#main.has(key);
  }

  /**
   * Replaces the value of `key` when the main cache holds it (a fresher
   * version arrived), without recording an access; answers whether it did.
   * A value that no longer fits in `maxBytes` drops the entry.
   */
  update(key: string, value: V): boolean {
    const e = this.#main.get(key);
    if (!e) return false;
    const size = this.#sizeOf(value, key);
    if (size > this.#maxBytes) {
      this.delete(key);
      return false;
    }
    this.#bytes += size - e.size;
    e.value = value;
    e.size = size;
    this.#evict(key);
    return this.#main.has(key);
  }

  /** Removes `key` from the main cache and its history. */
  delete(key: string): void {
    this.#history.delete(key);
    const e = this.#main.get(key);
    if (!e) return;
    this.#main.delete(key);
    this.#order.delete(e.filed);
    this.#bytes -= e.size;
  }

  /** Empties the main cache and the history. */
  clear(): void {
    this.#main.clear();
    this.#order.clear();
    this.#history.clear();
    this.#bytes = 0;
  }

  /** The keys of the main cache, in no particular order. */
  keys(): IterableIterator<string> {
    return this.#main.keys();
  }

  /** Counters. */
  stats(): LruKStats {
    return {
      entries: this.#main.size,
      bytes: this.#bytes,
      history: this.#history.size,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
    };
  }

  /** Evicts by largest backward K-distance until within bounds; `keep` goes last. */
  #evict(keep: string): void {
    while (this.#main.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      let victim: string | undefined;
      for (;;) {
        const first = this.#order.minKey();
        if (first === undefined) return;
        const key = this.#order.get(first)!;
        const e = this.#main.get(key)!;
        if (e.filed !== e.seqs[0]) {
          // Accessed since it was filed: file it where it belongs now, and look again.
          this.#order.delete(e.filed);
          e.filed = e.seqs[0]!;
          this.#order.set(e.filed, key);
          continue;
        }
        if (key === keep && this.#main.size > 1) {
          // The entry just admitted is kept: the next oldest goes instead.
          victim = this.#nextAfter(first);
          if (victim === undefined) return;
        } else victim = key;
        break;
      }
      const e = this.#main.get(victim)!;
      this.#main.delete(victim);
      this.#order.delete(e.filed);
      this.#bytes -= e.size;
      this.#evictions++;
      // Its accesses still count: a key squeezed out by a burst comes back at its next access.
      this.#history.set(victim, { seqs: e.seqs, times: e.times });
    }
  }

  /** The current oldest entry other than the one filed under `skip` (refiling stale ones). */
  #nextAfter(skip: number): string | undefined {
    for (;;) {
      const next = this.#order.nextHigherKey(skip);
      if (next === undefined) return undefined;
      const key = this.#order.get(next)!;
      const e = this.#main.get(key)!;
      if (e.filed === e.seqs[0]) return key;
      this.#order.delete(e.filed);
      e.filed = e.seqs[0]!;
      this.#order.set(e.filed, key);
    }
  }
}

/** Appends an access to the last-K lists, dropping the oldest beyond K. */
function shiftIn(h: History, seq: number, time: number, k: number): void {
  h.seqs.push(seq);
  h.times.push(time);
  if (h.seqs.length > k) {
    h.seqs.shift();
    h.times.shift();
  }
}

function positive(name: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(
      `Cannot create the cache as ${name} must be a positive integer: current value is ${n}`,
    );
  }
  return n;
}
