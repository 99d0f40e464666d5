import assert from "node:assert/strict";
import { LRUCache } from "lru-cache";
import { SeededPrng } from "../shared/prng.ts";
import { LruKCache } from "./lru_k.ts";

function cache(opts: { k?: number; maxEntries?: number; maxBytes?: number; windowMs?: number }) {
  let now = 0;
  const c = new LruKCache<string>({
    maxEntries: 3,
    maxBytes: 1_000,
    sizeOf: (v) => v.length,
    clock: () => now,
    ...opts,
  });
  return { c, advance: (ms: number) => (now += ms) };
}

/** A read through the cache: get, and offer the value on a miss; answers whether it hit. */
function read<V>(c: LruKCache<V>, key: string, value: V): boolean {
  if (c.get(key) !== undefined) return true;
  c.offer(key, value);
  return false;
}

Deno.test("LruKCache admits a key only at its K-th access within the window", () => {
  const { c, advance } = cache({ k: 2, windowMs: 100 });
  assert.equal(c.get("a"), undefined);
  assert.equal(c.offer("a", "A"), false, "one access does not admit");
  assert.equal(c.has("a"), false);
  advance(50);
  assert.equal(c.get("a"), undefined);
  assert.equal(c.offer("a", "A"), true, "the second access within 100 ms admits");
  assert.equal(c.get("a"), "A");

  c.get("b");
  advance(150);
  c.get("b");
  assert.equal(
    c.offer("b", "B"),
    false,
    "two accesses 150 ms apart do not admit with a 100 ms window",
  );
  advance(10);
  c.get("b");
  assert.equal(c.offer("b", "B"), true, "the last two accesses are 10 ms apart");
});

Deno.test("LruKCache with K=1 admits at the first access", () => {
  const { c } = cache({ k: 1 });
  c.get("a");
  assert.equal(c.offer("a", "A"), true);
});

Deno.test("LruKCache evicts the key whose K-th most recent access is oldest", () => {
  const { c } = cache({ k: 2, maxEntries: 3 });
  // Accesses in order: a #1 #2, b #3 #4, c #5 #6, then a #7 and b #8. The K-th (2nd) most
  // recent accesses are a #2, b #4, c #5; the last accesses a #7, b #8, c #6.
  for (const k of ["a", "b", "c"]) {
    read(c, k, k.toUpperCase());
    read(c, k, k.toUpperCase());
  }
  assert.equal(read(c, "a", "A"), true);
  assert.equal(read(c, "b", "B"), true);
  // Admitting d evicts a (oldest 2nd most recent access); a plain LRU would evict c.
  read(c, "d", "D");
  read(c, "d", "D");
  assert.deepEqual([...c.keys()].sort(), ["b", "c", "d"]);
  assert.equal(c.stats().evictions, 1);
});

Deno.test("LruKCache stays within its byte bound and refuses a value larger than it", () => {
  const { c } = cache({ k: 1, maxEntries: 100, maxBytes: 10 });
  c.get("a");
  assert.equal(c.offer("a", "aaaaaa"), true);
  c.get("b");
  assert.equal(c.offer("b", "bbbbbb"), true);
  assert.deepEqual([...c.keys()], ["b"], "a was evicted to fit b");
  assert.equal(c.stats().bytes, 6);
  c.get("c");
  assert.equal(c.offer("c", "c".repeat(11)), false, "larger than maxBytes");
  assert.equal(c.update("b", "b".repeat(11)), false, "an update that no longer fits drops it");
  assert.equal(c.has("b"), false);
  assert.equal(c.stats().bytes, 0);
});

Deno.test("LruKCache: an evicted key keeps its history and is re-admitted at its next access", () => {
  const { c } = cache({ k: 2, maxEntries: 1 });
  read(c, "a", "A");
  read(c, "a", "A");
  read(c, "b", "B");
  read(c, "b", "B"); // evicts a
  assert.equal(c.has("a"), false);
  assert.equal(read(c, "a", "A"), false);
  assert.equal(c.has("a"), true, "one more access re-admits it");
});

Deno.test("LruKCache: update and delete do not count as accesses", () => {
  const { c } = cache({ k: 2 });
  c.get("a");
  assert.equal(c.update("a", "A"), false, "update does not insert");
  assert.equal(c.offer("a", "A"), false);
  c.get("a");
  c.offer("a", "A");
  assert.equal(c.update("a", "A2"), true);
  assert.equal(c.peek("a"), "A2");
  c.delete("a");
  assert.equal(c.has("a"), false);
  c.get("a");
  assert.equal(c.offer("a", "A"), false, "delete forgot its history too");
});

Deno.test("LruKCache keeps the hot keys through a one-off scan that flushes a plain LRU", () => {
  const hot = Array.from({ length: 50 }, (_, i) => `hot${i}`);
  const scan = Array.from({ length: 10_000 }, (_, i) => `scan${i}`);
  const size = 100;
  let now = 0;
  const lruK = new LruKCache<string>({
    maxEntries: size,
    maxBytes: 1 << 30,
    sizeOf: (v) => v.length,
    clock: () => now,
    windowMs: 60_000,
  });
  const lru = new LRUCache<string, string>({ max: size });
  const plainRead = (key: string) => {
    if (lru.get(key) !== undefined) return true;
    lru.set(key, key);
    return false;
  };
  // Warm up: every hot key read a few times.
  for (let round = 0; round < 3; round++) {
    for (const k of hot) {
      now += 1;
      read(lruK, k, k);
      plainRead(k);
    }
  }
  // A one-off scan over 10,000 keys, each read once.
  for (const k of scan) {
    now += 1;
    read(lruK, k, k);
    plainRead(k);
  }
  // Then the hot keys again: LRU-K hits all of them, the plain LRU none.
  let hitsK = 0;
  let hitsLru = 0;
  for (const k of hot) {
    now += 1;
    if (read(lruK, k, k)) hitsK++;
    if (plainRead(k)) hitsLru++;
  }
  assert.equal(hitsK, hot.length, "LRU-K kept every hot key");
  assert.equal(hitsLru, 0, "the plain LRU lost every hot key to the scan");
  // The default history bound is maxEntries.
  assert.ok(lruK.stats().history <= size, "the history stays bounded during the scan");
});

Deno.test("LruKCache refuses bad bounds naming the option", () => {
  assert.throws(
    () => new LruKCache<string>({ maxEntries: 0, maxBytes: 1, sizeOf: () => 1 }),
    /maxEntries must be a positive integer: current value is 0/,
  );
});

Deno.test("LruKCache evicts exactly as a brute-force LRU-K model over 20,000 random accesses", () => {
  const prng = new SeededPrng(42);
  const k = 2;
  const max = 20;
  let now = 0;
  const c = new LruKCache<string>({
    k,
    maxEntries: max,
    maxBytes: 1 << 30,
    sizeOf: () => 1,
    clock: () => now,
    windowMs: 1_000_000,
    historyEntries: 1_000,
  });
  // The model: every key's last K access numbers; main holds the admitted keys.
  const accesses = new Map<string, number[]>();
  const main = new Set<string>();
  let seq = 0;
  for (let i = 0; i < 20_000; i++) {
    now++;
    // Skewed: a few hot keys, many cold ones.
    const key = prng.intn(10) < 7 ? `h${prng.intn(15)}` : `c${prng.intn(200)}`;
    const list = accesses.get(key) ?? [];
    list.push(++seq);
    if (list.length > k) list.shift();
    accesses.set(key, list);
    const hit = c.get(key) !== undefined;
    assert.equal(hit, main.has(key), `access ${i} of ${key}`);
    if (!hit) {
      const admitted = c.offer(key, key);
      assert.equal(admitted, list.length >= k, `offer ${i} of ${key}`);
      if (admitted) {
        main.add(key);
        if (main.size > max) {
          // Evict the key (other than the new one) whose K-th most recent access is oldest.
          let victim = "";
          let oldest = Infinity;
          for (const m of main) {
            const kth = accesses.get(m)![0]!;
            if (m !== key && kth < oldest) [victim, oldest] = [m, kth];
          }
          main.delete(victim);
        }
      }
    }
    assert.deepEqual([...c.keys()].sort(), [...main].sort(), `after access ${i}`);
  }
});

Deno.test("LruKCache tells dispose of every value that leaves, and never of a refused one", () => {
  let now = 0;
  const gone: string[] = [];
  const c = new LruKCache<string>({
    k: 1,
    maxEntries: 2,
    maxBytes: 10,
    sizeOf: (v) => v.length,
    clock: () => now++,
    dispose: (v, key) => gone.push(`${key}=${v}`),
  });
  for (const k of ["a", "b", "c"]) read(c, k, k.toUpperCase());
  assert.deepEqual(gone, ["a=A"], "evicted");
  c.update("b", "B2");
  assert.deepEqual(gone, ["a=A", "b=B"], "replaced");
  c.update("b", "B2");
  assert.equal(gone.length, 2, "the same value again is not a replacement");
  c.get("d");
  assert.equal(c.offer("d", "d".repeat(11)), false);
  assert.equal(gone.length, 2, "a refused value never entered");
  c.delete("c");
  assert.deepEqual(gone.slice(2), ["c=C"], "deleted");
  c.clear();
  assert.deepEqual(gone.slice(3), ["b=B2"], "cleared");
  assert.equal(c.stats().bytes, 0);
});

Deno.test("LruKCache.admits answers what offer would do, without changing anything", () => {
  const { c, advance } = cache({ k: 2, windowMs: 100, maxBytes: 10 });
  c.get("a");
  assert.equal(c.admits("a", 1), false, "one access");
  c.get("a");
  assert.equal(c.admits("a", 11), false, "too large");
  assert.equal(c.admits("a", 1), true);
  advance(200);
  c.get("b");
  c.get("b");
  advance(101);
  assert.equal(c.admits("b", 1), false, "out of the window");
  assert.equal(c.offer("b", "B"), false);
  assert.equal(c.offer("a", "A"), false, "a's accesses are out of the window now");
  c.get("a");
  assert.equal(c.admits("a", 1), false, "the last two accesses are 301 ms apart");
  assert.equal(c.stats().entries, 0);
});

Deno.test("LruKCache.rename moves an entry or a history to a new key with its accesses", () => {
  const gone: string[] = [];
  let now = 0;
  const c = new LruKCache<string, object>({
    k: 2,
    maxEntries: 10,
    maxBytes: 100,
    sizeOf: (v) => v.length,
    clock: () => now++,
    dispose: (v) => gone.push(v),
  });
  const v1 = { version: 1 };
  const v2 = { version: 2 };
  c.get(v1);
  c.get(v1);
  assert.equal(c.offer(v1, "one"), true);
  assert.equal(c.rename(v1, v2, "two"), true);
  assert.equal(c.has(v1), false);
  assert.equal(c.peek(v2), "two");
  assert.deepEqual(gone, ["one"], "the old value went");
  assert.equal(c.get(v2), "two", "a hit under the new key");
  // A key seen once (history only) keeps that access under its new key.
  const w1 = { version: 1 };
  const w2 = { version: 2 };
  c.get(w1);
  assert.equal(c.rename(w1, w2), false);
  c.get(w2);
  assert.equal(c.offer(w2, "w"), true, "the access before the rename counted");
  assert.equal(c.stats().entries, 2);
});

Deno.test("LruKCache: a long run of admissions and evictions keeps its bound and disposes of each value once", () => {
  let now = 0;
  let held = 0;
  const c = new LruKCache<number>({
    k: 1,
    maxEntries: 50,
    maxBytes: 1 << 20,
    sizeOf: () => 1,
    clock: () => now++,
    dispose: () => held--,
  });
  for (let i = 0; i < 10_000; i++) {
    const key = `k${i % 3_000}`;
    if (c.get(key) === undefined && c.offer(key, i)) held++;
  }
  assert.equal(c.stats().entries, 50);
  assert.equal(held, 50, "every value that left was disposed of once");
  for (const k of c.keys()) assert.equal(typeof c.peek(k), "number");
});

Deno.test("LruKCache at its entry bound keeps admitting, evicting the oldest, and keeps the newest keys", () => {
  let now = 0;
  const c = new LruKCache<string>({
    maxEntries: 100,
    maxBytes: 1 << 30,
    sizeOf: () => 1,
    clock: () => now,
  });
  // 300 keys read twice: each admitted, the cache full at 100 after the first 100.
  for (let i = 0; i < 300; i++) {
    for (let r = 0; r < 2; r++) {
      now++;
      if (c.get(`k${i}`) === undefined) c.offer(`k${i}`, `k${i}`);
    }
  }
  assert.equal(c.stats().entries, 100);
  assert.equal(c.stats().evictions, 200);
  // The most recent 100 keys are the ones kept.
  for (let i = 200; i < 300; i++) assert.equal(c.peek(`k${i}`), `k${i}`, `k${i}`);
});

Deno.test("LruKCache with the slots held by the keys behaves exactly as with its own map", () => {
  interface Key {
    readonly name: string;
    slot: number;
  }
  const prng = new SeededPrng(7);
  let now = 0;
  const options = {
    k: 2,
    maxEntries: 20,
    maxBytes: 300,
    sizeOf: (v: string) => v.length,
    clock: () => now,
    windowMs: 50,
  };
  const keys = new Map<string, Key>();
  const keyOf = (name: string) => {
    let k = keys.get(name);
    if (!k) keys.set(name, k = { name, slot: -1 });
    return k;
  };
  const byMap = new LruKCache<string>(options);
  const byKey = new LruKCache<string, Key>({
    ...options,
    slotIndex: { get: (k) => k.slot, set: (k, s) => void (k.slot = s) },
  });
  for (let i = 0; i < 20_000; i++) {
    now += prng.intn(5);
    const name = prng.intn(10) < 7 ? `h${prng.intn(15)}` : `c${prng.intn(200)}`;
    const op = prng.intn(100);
    if (op < 3) {
      byMap.delete(name);
      byKey.delete(keyOf(name));
    } else if (op < 6) {
      const to = `r${prng.intn(30)}`;
      assert.equal(byKey.rename(keyOf(name), keyOf(to)), byMap.rename(name, to), `rename ${i}`);
    } else {
      const value = name.repeat(1 + prng.intn(4));
      const hit = byMap.get(name);
      assert.equal(byKey.get(keyOf(name)), hit, `get ${i} of ${name}`);
      if (hit === undefined) {
        assert.equal(byKey.offer(keyOf(name), value), byMap.offer(name, value), `offer ${i}`);
      }
    }
    const a = byMap.stats();
    const b = byKey.stats();
    assert.deepEqual(b, a, `stats after ${i}`);
  }
  const cached = [...byMap.keys()].sort();
  assert.deepEqual([...byKey.keys()].map((k) => k.name).sort(), cached);
  for (const [name, k] of keys) {
    assert.equal(k.slot >= 0, cached.includes(name), `${name}'s slot field`);
  }
  assert.ok(byMap.stats().evictions > 100, "evictions happened");
  byKey.clear();
  assert.ok([...keys.values()].every((k) => k.slot === -1), "clear resets every slot");
});
