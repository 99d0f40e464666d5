import assert from "node:assert/strict";
import { SeededPrng } from "../prng.ts";
import type {
  Entity,
  KvClient,
  Snapshot,
  Watch,
  WatchEvent,
  WatchHandlers,
  WatchRequest,
} from "./api.ts";
import { isNotFound } from "./errors.ts";
import { listAndWatch, type ListWatchSource } from "./list_watch.ts";
import { MemoryDb } from "./memory_db.ts";

const PREFIX = "p/";

/** Every entity under `prefix` (pages of 100, no writes run meanwhile), as comparable rows. */
async function truthOf(db: KvClient, prefix: string): Promise<string[]> {
  const rows: string[] = [];
  let seek = "";
  for (;;) {
    const page = await db.range(prefix, { seek, limit: 100 });
    rows.push(...page.entities.map(row));
    if (!page.hasMore) return rows;
    seek = page.nextSeekKey;
  }
}

/**
 * A watch whose events reach `handlers` after a random delay (0 to 2 ms,
 * in order), and whose `revision` is the last one delivered.
 */
function delayed(
  watch: KvClient["watch"],
  req: WatchRequest,
  handlers: WatchHandlers,
  rng: SeededPrng,
): Watch {
  let delivered = 0;
  let closed = false;
  let chain = Promise.resolve();
  const later = (fn: () => void) => {
    const ms = rng.intn(3);
    chain = chain.then(() => new Promise((r) => setTimeout(r, ms))).then(() => {
      if (!closed) fn();
    });
  };
  const inner = watch(req, {
    onChanges: (ev) =>
      later(() => {
        delivered = ev.revision;
        handlers.onChanges(ev);
      }),
    onRetry: (e) => later(() => handlers.onRetry?.(e)),
    onError: (e) => later(() => handlers.onError?.(e)),
  });
  return {
    get revision() {
      return Math.max(delivered, req.startRevision ? req.startRevision - 1 : 0);
    },
    close() {
      closed = true;
      inner.close();
    },
    done: inner.done,
  };
}

function row(e: Entity): string {
  return `${e.key}@${e.modRevision}`;
}

/** A random write in or out of the prefix: set, overwrite, unset, directory unset or a txn. */
async function randomWrite(db: MemoryDb, rng: SeededPrng): Promise<void> {
  const space = (n: number) =>
    (rng.chance(0.8) ? PREFIX : "q/") + `d${rng.intn(3)}/k${rng.intn(n)}`;
  const k = space(12);
  try {
    switch (rng.intn(6)) {
      case 0:
      case 1:
        await db.set(k, `${rng.intn(1000)}`, { overwrite: true });
        return;
      case 2:
        await db.unset(k);
        return;
      case 3:
        if (rng.chance(0.3)) await db.unset(k.slice(0, k.lastIndexOf("/")), { isDir: true });
        else await db.set(k, "x", { overwrite: true, ttl: 0 });
        return;
      default: {
        const keys = [...new Set([k, space(12), space(12)])];
        await db.commitTxn({
          compares: [],
          ops: keys.map((key, i) =>
            i === 2
              ? { op: "unset" as const, key }
              : { op: "set" as const, key, val: "t", overwrite: true }
          ),
        });
      }
    }
  } catch (e) {
    if (!isNotFound(e) && !(e instanceof Error && "code" in e)) throw e;
  }
}

Deno.test("listAndWatch property: random writes between pages, a snapshot equal to the state at its revision, then each change once", async () => {
  const base = Number(Deno.env.get("LIST_WATCH_SEED") ?? 1);
  const runs = Number(Deno.env.get("LIST_WATCH_RUNS") ?? 100);
  let relisted = 0;
  let interleaved = 0;
  for (let seed = base; seed < base + runs; seed++) {
    const rng = new SeededPrng(seed);
    const db = new MemoryDb();
    const truth = new Map<number, string[]>();
    const record = async () => truth.set(db.revision, await truthOf(db, PREFIX));
    const initial = rng.intn(60);
    for (let i = 0; i < initial; i++) await randomWrite(db, rng);
    await record();
    let compactions = 0;
    const source: ListWatchSource = {
      async range(prefix, options) {
        const writes = rng.intn(4);
        for (let i = 0; i < writes; i++) {
          await randomWrite(db, rng);
          await record();
        }
        if (rng.chance(0.05)) {
          // The fence's stream drops and its history is gone: the listing starts over.
          db.disconnectWatches();
          const w = randomWrite(db, rng);
          db.compact();
          await w;
          await record();
          compactions++;
        }
        return await db.range(prefix, options);
      },
      // Events reach the listing late, as over a network: the fence must be waited for.
      watch: (req, h) => delayed(db.watch.bind(db), req, h, rng),
    };
    const snapshots: Snapshot[] = [];
    const events: WatchEvent[] = [];
    let state = new Map<string, Entity>();
    const lw = listAndWatch(source, PREFIX, {
      onSnapshot(s) {
        snapshots.push(s);
        state = new Map(s.entities.map((e) => [e.key, e]));
      },
      onChanges(ev) {
        events.push(ev);
        for (const c of ev.changes) {
          if (c.op === "SET") state.set(c.key, c.current!);
          else state.delete(c.key);
        }
      },
    }, { pageSize: 1 + rng.intn(6) });
    const at = await lw.ready;
    const label = `seed ${seed}`;
    assert.deepEqual(
      snapshots[0]!.entities.map(row),
      truth.get(at),
      `${label}: the snapshot is the state at its revision ${at}`,
    );
    const more = rng.intn(30);
    for (let i = 0; i < more; i++) {
      await randomWrite(db, rng);
      await record();
    }
    const changed = [...truth.keys()].sort((a, b) => a - b).filter((r) =>
      r > at && JSON.stringify(truth.get(r)) !== JSON.stringify(truth.get(r - 1))
    );
    // The consumer's revision is the last one that touched the prefix.
    const target = changed.at(-1) ?? at;
    for (let i = 0; i < 1_000 && lw.revision < target; i++) {
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.equal(lw.revision, target, `${label}: the consumer caught up`);
    assert.deepEqual(
      [...state.values()].sort((a, b) => (a.key < b.key ? -1 : 1)).map(row),
      truth.get(db.revision),
      `${label}: the consumer's final state`,
    );
    const revs = events.map((e) => e.revision);
    assert.deepEqual(
      revs,
      changed,
      `${label}: every revision that changed the prefix, once, in order`,
    );
    assert.equal(snapshots.length, 1, `${label}: one snapshot`);
    lw.close();
    await lw.done;
    db.close();
    relisted += compactions > 0 ? 1 : 0;
    interleaved += truth.size > 1 ? 1 : 0;
  }
  // The runs exercised what they are about.
  assert.ok(relisted >= 3, `${relisted} runs listed again after a compaction`);
  assert.ok(interleaved >= runs * 0.8, `${interleaved} runs had writes between pages`);
});

Deno.test("listAndWatch: a handler that throws ends it with onError, and close before the snapshot rejects ready", async () => {
  const db = new MemoryDb();
  await db.set("p/a", "1");
  const errors: Error[] = [];
  const lw = db.listAndWatch(PREFIX, {
    onSnapshot() {
      throw new Error("cannot take it");
    },
    onChanges() {},
    onError: (e) => errors.push(e),
  });
  await assert.rejects(lw.ready, /onSnapshot handler threw/);
  await assert.rejects(lw.done, /cannot take it/);
  assert.equal(errors.length, 1);

  const early = db.listAndWatch(PREFIX, { onSnapshot() {}, onChanges() {} });
  early.close();
  await assert.rejects(
    early.ready,
    (e) => e instanceof Error && "code" in e && e.code === "CANCELLED",
  );
  await early.done;
  assert.throws(
    () => db.listAndWatch(PREFIX, { onSnapshot() {}, onChanges() {} }, { pageSize: 0 }),
    RangeError,
  );
  db.close();
});

Deno.test("listAndWatch mapEntity: each page mapped as it arrives, the snapshot holds what it returned, changes made while listing as the watch gave them", async () => {
  const db = new MemoryDb();
  for (let i = 0; i < 35; i++) await db.set(`p/k${String(i).padStart(2, "0")}`, `v${i}`);
  const mapped = new Set<Entity>();
  const mappedWhenAsked: number[] = [];
  let pages = 0;
  const src: ListWatchSource = {
    async range(prefix, options) {
      mappedWhenAsked.push(mapped.size);
      const page = await db.range(prefix, options);
      // After the first page: one of its keys changes while the listing runs.
      if (++pages === 1) await db.set("p/k05", "changed", { overwrite: true });
      return page;
    },
    watch: (req, handlers) => db.watch(req, handlers),
  };
  const snap = Promise.withResolvers<Snapshot>();
  const lw = listAndWatch(src, PREFIX, { onSnapshot: snap.resolve, onChanges() {} }, {
    pageSize: 10,
    mapEntity(e) {
      const out = { ...e, val: new Uint8Array(0) };
      mapped.add(out);
      return out;
    },
  });
  const s = await snap.promise;
  lw.close();
  // Page i was mapped before page i + 1 was asked for: never more than one page held unmapped.
  assert.deepEqual(mappedWhenAsked, [0, 10, 20, 30]);
  assert.equal(s.entities.length, 35);
  const changed = s.entities.find((e) => e.key === "p/k05")!;
  assert.equal(new TextDecoder().decode(changed.val), "changed");
  assert.ok(!mapped.has(changed), "the change made while listing is as the watch delivered it");
  for (const e of s.entities) {
    if (e.key !== "p/k05") assert.ok(mapped.has(e), `${e.key} is the mapped entity`);
  }
  db.close();
});
