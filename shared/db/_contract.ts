/**
 * The contract every {@linkcode KvClient} keeps, as one list of cases run
 * against each implementation (Hono's common-case style): against MemoryDb
 * in `memory_db_contract_test.ts`, against a real 3-node cluster in
 * `tests/db/contract_test.ts`. A case gets a fresh, empty key namespace in a
 * store that is not empty (so a watch from now has a positive revision), and
 * must not assume absolute revisions (the cluster is shared by the cases).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Entity, KvClient, Snapshot, WatchEvent } from "./api.ts";
import {
  isAlreadyExists,
  isCancelled,
  isCompareFailed,
  isFailedPrecondition,
  isInvalidArgument,
  isNotFound,
  WatchHandlerError,
} from "./errors.ts";

/** What a case runs against. */
export interface ContractEnv {
  /** The client under test. */
  readonly db: KvClient;
  /** Another client of the same data (writes "from elsewhere"); may be `db` itself. */
  readonly other: KvClient;
  /** A unique, empty key namespace for the case: a path ending in "/". */
  readonly ns: string;
  /** A new client the case may close. */
  fresh(): KvClient;
}

/** One case of the contract. */
export interface ContractCase {
  /** "<symbol> <criteria>". */
  readonly name: string;
  /** Throws (an assertion) when the implementation breaks the contract. */
  readonly fn: (env: ContractEnv) => Promise<void>;
}

const dec = new TextDecoder();
const text = (e: Entity | undefined) => (e ? dec.decode(e.val) : undefined);

/** Polls `probe` until it returns a value other than `undefined`, at most `timeoutMs` (default 15 s). */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Cannot see ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A watch that records what it got. */
function record(db: KvClient, keys: string[], opts: { prefix?: boolean; startRevision?: number }) {
  const events: WatchEvent[] = [];
  const errors: Error[] = [];
  const w = db.watch({ keys, ...opts }, {
    onChanges: (ev) => events.push(ev),
    onError: (e) => errors.push(e),
  });
  return { w, events, errors };
}

/** Every case of the contract. */
export const CONTRACT_CASES: readonly ContractCase[] = [
  {
    name: "get of a missing key answers undefined with the revision it was read at",
    fn: async ({ db, ns }) => {
      const w = await db.set(`${ns}present`, "x");
      const r = await db.get(`${ns}absent`);
      assert.equal(r.entity, undefined);
      assert.ok(
        r.revision >= w.revision,
        `read at ${r.revision}, after the write at ${w.revision}`,
      );
    },
  },
  {
    name: "set answers the entity without its value; get returns it with the value",
    fn: async ({ db, ns }) => {
      const s = await db.set(`${ns}a/b`, "hello");
      assert.equal(s.entity.key, `${ns}a/b`);
      assert.equal(s.entity.type, "ELEMENT");
      assert.equal(s.entity.val.byteLength, 0);
      assert.equal(s.entity.size, 5);
      assert.match(s.entity.fingerprint, /^[0-9a-f]{16}$/);
      assert.equal(s.entity.modRevision, s.revision);
      assert.equal(s.entity.createRevision, s.revision);
      const g = await db.get(`${ns}a/b`);
      assert.equal(text(g.entity), "hello");
      assert.equal(g.entity?.fingerprint, s.entity.fingerprint);
      assert.ok(g.revision >= s.revision);
      const dir = await db.get(`${ns}a`);
      assert.equal(dir.entity?.type, "DIRECTORY", "set created the parent directory");
      const bytes = new Uint8Array([0, 255, 7]);
      await db.set(`${ns}bin`, bytes);
      assert.deepEqual([...(await db.get(`${ns}bin`)).entity!.val], [0, 255, 7]);
    },
  },
  {
    name: "set refuses an existing element without overwrite, and overwrite keeps createRevision",
    fn: async ({ db, ns }) => {
      const first = await db.set(`${ns}k`, "1");
      await assert.rejects(db.set(`${ns}k`, "2"), (e) => isAlreadyExists(e) && e.field === "key");
      const second = await db.set(`${ns}k`, "2", { overwrite: true });
      assert.equal(second.entity.createRevision, first.revision);
      assert.ok(second.revision > first.revision);
    },
  },
  {
    name:
      "conditions: a lost compare-and-swap is ABORTED naming the condition; one that holds applies",
    fn: async ({ db, ns }) => {
      const k = `${ns}cas`;
      await assert.rejects(
        db.set(k, "x", { condition: { mustExist: true } }),
        (e) => isCompareFailed(e) && e.field === "condition" && !e.mayHaveApplied,
      );
      const a = await db.set(k, "1", { condition: { mustNotExist: true } });
      await assert.rejects(
        db.set(k, "2", { condition: { mustNotExist: true } }),
        (e) => isCompareFailed(e),
      );
      await assert.rejects(
        db.set(k, "2", { condition: { modRevision: a.revision + 1_000 } }),
        (e) => isCompareFailed(e) && e.field === "condition",
      );
      // A condition that the key exists implies overwrite.
      const b = await db.set(k, "2", { condition: { modRevision: a.revision } });
      await db.set(k, "3", { condition: { mustExist: true } });
      await assert.rejects(
        db.unset(k, { condition: { modRevision: b.revision } }),
        isCompareFailed,
      );
      assert.equal(text((await db.get(k)).entity), "3");
    },
  },
  {
    name: "invalid arguments name the field and change nothing",
    fn: async ({ db, ns }) => {
      const before = (await db.get(`${ns}x`)).revision;
      await assert.rejects(
        db.set(`${ns}a//b`, "x"),
        (e) => isInvalidArgument(e) && e.field === "key",
      );
      await assert.rejects(
        db.set(`/${ns}a`, "x"),
        (e) => isInvalidArgument(e) && e.field === "key",
      );
      await assert.rejects(
        db.set(`${ns}k`, "x", { condition: { modRevision: 0 } }),
        (e) => isInvalidArgument(e) && e.field === "condition.mod_revision",
      );
      await assert.rejects(
        db.set(`${ns}big`, new Uint8Array(256 * 1024 + 1)),
        (e) => isInvalidArgument(e) && e.field === "val",
      );
      await assert.rejects(
        db.set(`${ns}d`, "", { isDir: true, ttl: 3 }),
        (e) => isInvalidArgument(e) && e.field === "ttl",
      );
      await assert.rejects(db.get(""), (e) => isInvalidArgument(e) && e.field === "key");
      await assert.rejects(db.getMany([]), (e) => isInvalidArgument(e) && e.field === "keys");
      await assert.rejects(
        db.range(ns, { limit: 101 }),
        (e) => isInvalidArgument(e) && e.field === "limit",
      );
      const after = await db.getMany([`${ns}a`, `${ns}k`, `${ns}big`, `${ns}d`]);
      assert.deepEqual(after.entities, []);
      assert.ok(after.revision >= before);
    },
  },
  {
    name: "unset: NOT_FOUND when absent, a directory needs isDir and removes its subtree",
    fn: async ({ db, ns }) => {
      await assert.rejects(db.unset(`${ns}none`), (e) => isNotFound(e) && e.field === "key");
      await db.set(`${ns}d/a`, "1");
      await db.set(`${ns}d/b/c`, "2");
      await assert.rejects(
        db.unset(`${ns}d`),
        (e) => isFailedPrecondition(e) && e.field === "is_dir",
      );
      await assert.rejects(db.set(`${ns}d/a/x`, "1"), (e) => isFailedPrecondition(e));
      const u = await db.unset(`${ns}d`, { isDir: true });
      assert.equal(u.removed, 4, "d, d/a, d/b, d/b/c");
      assert.deepEqual((await db.range(`${ns}d`)).entities, []);
    },
  },
  {
    name: "getMany answers the keys found in the order asked",
    fn: async ({ db, ns }) => {
      await db.set(`${ns}1`, "one");
      const w = await db.set(`${ns}2`, "two");
      const r = await db.getMany([`${ns}2`, `${ns}missing`, `${ns}1`]);
      assert.deepEqual(r.entities.map(text), ["two", "one"]);
      assert.ok(r.revision >= w.revision);
    },
  },
  {
    name: "range pages in key order, with seek and the default page of 100",
    fn: async ({ db, ns }) => {
      const keys = Array.from({ length: 23 }, (_, i) => `${ns}r/${String(i).padStart(2, "0")}`);
      for (const k of keys) await db.set(k, k);
      const seen: string[] = [];
      let seek = "";
      for (let i = 0; i < 10; i++) {
        const p = await db.range(`${ns}r/`, { seek, limit: 5 });
        seen.push(...p.entities.map((e) => e.key));
        assert.ok(p.entities.length <= 5);
        if (!p.hasMore) {
          assert.equal(p.nextSeekKey, "");
          break;
        }
        assert.equal(p.nextSeekKey, p.entities.at(-1)!.key);
        seek = p.nextSeekKey;
      }
      assert.deepEqual(seen, keys);
      const all = await db.range(`${ns}r/`);
      assert.equal(all.entities.length, 23);
      assert.equal(all.hasMore, false);
      const raw = await db.range(`${ns}r/0`, { limit: 100 });
      assert.equal(raw.entities.length, 10, "a raw string prefix: 00..09");
    },
  },
  {
    name: "ttl: seconds left, -1 for none, undefined for a missing key; the key expires",
    fn: async ({ db, ns }) => {
      await db.set(`${ns}forever`, "x");
      assert.equal((await db.ttl(`${ns}forever`)).ttl, -1);
      assert.equal((await db.ttl(`${ns}missing`)).ttl, undefined);
      const seen = record(db, [`${ns}t`], {});
      await eventually("the watch to start", () => (seen.w.revision > 0 ? true : undefined));
      const s = await db.set(`${ns}t`, "soon gone", { ttl: 1 });
      const left = (await db.ttl(`${ns}t`)).ttl;
      assert.ok(left !== undefined && left >= 0 && left <= 1, `ttl left ${left}`);
      await eventually(
        "the expiry",
        async () => (await db.get(`${ns}t`)).entity === undefined ? true : undefined,
        10_000,
      );
      const unset = await eventually(
        "the UNSET at the watcher",
        () => seen.events.flatMap((e) => e.changes).find((c) => c.op === "UNSET"),
      );
      assert.equal(unset.reason, "expired");
      assert.equal(unset.last?.modRevision, s.revision);
      seen.w.close();
    },
  },
  {
    name: "expire removes an element now; watchers see UNSET expired",
    fn: async ({ db, ns }) => {
      await db.set(`${ns}e`, "x");
      const seen = record(db, [`${ns}e`], {});
      await eventually("the watch to start", () => (seen.w.revision > 0 ? true : undefined));
      const r = await db.expire(`${ns}e`);
      await eventually("the UNSET", () => (seen.events.length > 0 ? true : undefined));
      assert.deepEqual(
        seen.events.map((e) => [e.revision, e.changes[0]!.op, e.changes[0]!.reason]),
        [[r.revision, "UNSET", "expired"]],
      );
      assert.equal((await db.get(`${ns}e`)).entity, undefined);
      await assert.rejects(db.expire(`${ns}e`), isNotFound);
      seen.w.close();
    },
  },
  {
    name: "txn applies every op at one revision when the compares hold",
    fn: async ({ db, ns }) => {
      const v1 = await db.set(`${ns}v1`, "one");
      const r = await db.txn()
        .if(`${ns}v1`, { modRevision: v1.revision })
        .if(`${ns}ptr`, { mustNotExist: true })
        .set(`${ns}v2`, "two")
        .set(`${ns}ptr`, "v2")
        .unset(`${ns}v1`)
        .commit();
      assert.equal(r.succeeded, true);
      assert.deepEqual(r.entities.map((e) => [e.key, e.modRevision]), [
        [`${ns}v2`, r.revision],
        [`${ns}ptr`, r.revision],
      ]);
      assert.ok(r.entities.every((e) => e.val.byteLength === 0));
      const got = await db.getMany([`${ns}v1`, `${ns}v2`, `${ns}ptr`]);
      assert.deepEqual(got.entities.map(text), ["two", "v2"]);
    },
  },
  {
    name: "txn with a failed compare applies nothing and names the compare",
    fn: async ({ db, ns }) => {
      const a = await db.set(`${ns}a`, "1");
      const r = await db.txn()
        .if(`${ns}a`, { modRevision: a.revision })
        .if(`${ns}b`, { mustExist: true })
        .set(`${ns}c`, "x")
        .commit();
      assert.equal(r.succeeded, false);
      assert.deepEqual(r.failed, { index: 1, key: `${ns}b`, modRevision: 0 });
      assert.deepEqual(r.entities, []);
      assert.ok(r.revision >= a.revision);
      const stale = await db.txn().if(`${ns}a`, { mustNotExist: true }).unset(`${ns}a`).commit();
      assert.deepEqual(stale.failed, { index: 0, key: `${ns}a`, modRevision: a.revision });
      assert.equal((await db.get(`${ns}c`)).entity, undefined);
      assert.equal(text((await db.get(`${ns}a`)).entity), "1");
    },
  },
  {
    name: "txn: a failing op rejects the whole txn naming the op's field; nothing applies",
    fn: async ({ db, ns }) => {
      await db.set(`${ns}el`, "1");
      await assert.rejects(
        db.txn().set(`${ns}new`, "x").unset(`${ns}missing`).commit(),
        (e) => isNotFound(e) && e.field === "ops[1].unset.key" && !e.mayHaveApplied,
      );
      await assert.rejects(
        db.txn().set(`${ns}new`, "x").set(`${ns}el/under`, "y").commit(),
        (e) => isFailedPrecondition(e) && e.field === "ops[1].set.key",
      );
      await assert.rejects(
        db.txn().set(`${ns}new`, "x").unset(`${ns}new`).commit(),
        (e) => isInvalidArgument(e) && e.field === "ops[1]",
      );
      await assert.rejects(db.txn().commit(), (e) => isInvalidArgument(e) && e.field === "ops");
      assert.equal((await db.get(`${ns}new`)).entity, undefined);
    },
  },
  {
    name: "watch replays from startRevision and delivers each revision once, in order",
    fn: async ({ db, other, ns }) => {
      const first = await other.set(`${ns}w/a`, "1");
      await other.set(`${ns}elsewhere`, "x");
      await other.set(`${ns}w/b`, "2");
      const path = record(db, [`${ns}w`], { startRevision: first.revision });
      const pre = record(db, [`${ns}w/`], { prefix: true, startRevision: first.revision });
      const last = await other.unset(`${ns}w`, { isDir: true });
      await eventually(
        "both watchers at the unset",
        () =>
          path.w.revision >= last.revision && pre.w.revision >= last.revision ? true : undefined,
      );
      for (const r of [path, pre]) {
        const revs = r.events.map((e) => e.revision);
        assert.deepEqual(revs, [...new Set(revs)].sort((a, b) => a - b), "strictly increasing");
        assert.equal(revs.at(-1), last.revision);
        assert.ok(r.events.every((e) => e.changes.every((c) => c.revision === e.revision)));
      }
      assert.deepEqual(
        path.events.map((e) => e.changes.map((c) => `${c.op} ${c.key.slice(ns.length)}`)),
        [["SET w", "SET w/a"], ["SET w/b"], ["UNSET w", "UNSET w/a", "UNSET w/b"]],
      );
      assert.deepEqual(
        pre.events.at(-1)!.changes.map((c) => [c.key.slice(ns.length), c.reason]),
        [["w/a", "parent"], ["w/b", "parent"]],
      );
      path.w.close();
      pre.w.close();
      await path.w.done;
    },
  },
  {
    name: "watch of a path does not match a longer name; a prefix watch does",
    fn: async ({ db, ns }) => {
      const path = record(db, [`${ns}ab`], {});
      const pre = record(db, [`${ns}ab`], { prefix: true });
      await eventually(
        "the watches to start",
        () => path.w.revision > 0 && pre.w.revision > 0 ? true : undefined,
      );
      await db.set(`${ns}abc`, "1");
      const s = await db.set(`${ns}ab/x`, "2");
      await eventually(
        "the prefix watcher",
        () => (pre.w.revision >= s.revision ? true : undefined),
      );
      await eventually(
        "the path watcher",
        () => (path.w.revision >= s.revision ? true : undefined),
      );
      assert.deepEqual(path.events.flatMap((e) => e.changes.map((c) => c.key)), [
        `${ns}ab`,
        `${ns}ab/x`,
      ]);
      assert.deepEqual(pre.events.flatMap((e) => e.changes.map((c) => c.key)), [
        `${ns}abc`,
        `${ns}ab`,
        `${ns}ab/x`,
      ]);
      path.w.close();
      pre.w.close();
    },
  },
  {
    name: "watch: a handler that throws ends the watch (onError once, done rejects)",
    fn: async ({ db, ns }) => {
      const errors: Error[] = [];
      let calls = 0;
      const w = db.watch({ keys: [`${ns}h`] }, {
        onChanges: () => {
          calls++;
          throw new Error("consumer broke");
        },
        onError: (e) => errors.push(e),
      });
      await eventually("the watch to start", () => (w.revision > 0 ? true : undefined));
      const s = await db.set(`${ns}h`, "1");
      await assert.rejects(
        w.done,
        (e) => e instanceof WatchHandlerError && e.revision === s.revision,
      );
      await db.set(`${ns}h`, "2", { overwrite: true });
      assert.equal(calls, 1);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof WatchHandlerError);
    },
  },
  {
    name: "watch: INVALID_ARGUMENT ends it (no retry); a negative start never leaves the client",
    fn: async ({ db, ns }) => {
      let retries = 0;
      const w = db.watch({ keys: [`${ns}a//b`] }, { onChanges() {}, onRetry: () => retries++ });
      await assert.rejects(w.done, (e) => isInvalidArgument(e) && e.field === "keys[0]");
      assert.equal(retries, 0);
      assert.throws(
        () => db.watch({ keys: [`${ns}a`], startRevision: -1 }, { onChanges() {} }),
        RangeError,
      );
    },
  },
  {
    name: "watch: close resolves done and stops the handlers",
    fn: async ({ db, ns }) => {
      let calls = 0;
      const w = db.watch({ keys: [`${ns}c`] }, { onChanges: () => calls++ });
      await eventually("the watch to start", () => (w.revision > 0 ? true : undefined));
      w.close();
      await w.done;
      const s = await db.set(`${ns}c`, "1");
      const probe = record(db, [`${ns}c`], { startRevision: s.revision });
      await eventually(
        "a second watcher to see the write",
        () => probe.events.length > 0 ? true : undefined,
      );
      probe.w.close();
      assert.equal(calls, 0);
    },
  },
  {
    name: "list answers everything under a prefix at one revision",
    fn: async ({ db, ns }) => {
      for (let i = 0; i < 12; i++) await db.set(`${ns}l/${i}`, `${i}`);
      const last = await db.unset(`${ns}l/3`);
      const l = await db.list(`${ns}l/`, { pageSize: 5 });
      assert.equal(l.entities.length, 11);
      assert.ok(l.revision >= last.revision);
      assert.deepEqual(l.entities.map((e) => e.key), l.entities.map((e) => e.key).sort());
    },
  },
  {
    name:
      "listAndWatch: a snapshot at one revision, then every change once, under concurrent writes",
    fn: async ({ db, other, ns }) => {
      const pre = `${ns}lw/`;
      const key = (i: number) => `${pre}k${String(i % 40).padStart(2, "0")}`;
      for (let i = 0; i < 40; i++) await other.set(key(i), `0`);
      const acked: { revision: number; key: string }[] = [];
      let next = 40;
      const writer = async () => {
        while (next < 400) {
          const i = next++;
          if (i % 7 === 0) {
            const r = await other.unset(key(i)).catch((
              e,
            ) => (isNotFound(e) ? undefined : Promise.reject(e)));
            if (r) acked.push({ revision: r.revision, key: key(i) });
          } else {
            const r = await other.set(key(i), `${i}`, { overwrite: true });
            acked.push({ revision: r.revision, key: key(i) });
          }
        }
      };
      const writing = Promise.all([writer(), writer(), writer()]);
      const state = new Map<string, Entity>();
      const snapshots: Snapshot[] = [];
      const delivered: number[] = [];
      const lw = db.listAndWatch(pre, {
        onSnapshot: (s) => {
          snapshots.push(s);
          state.clear();
          for (const e of s.entities) state.set(e.key, e);
        },
        onChanges: (ev) => {
          delivered.push(ev.revision);
          for (const c of ev.changes) {
            if (c.op === "SET") state.set(c.key, c.current!);
            else state.delete(c.key);
          }
        },
      }, { pageSize: 3 });
      const at = await lw.ready;
      await writing;
      const final = await db.list(pre);
      await eventually(
        "the consumer at the final revision",
        () => lw.revision >= final.revision ? true : undefined,
      );
      lw.close();
      await lw.done;
      assert.equal(snapshots.length, 1);
      assert.equal(snapshots[0]!.revision, at);
      assert.deepEqual(
        [...state.values()].sort((a, b) => (a.key < b.key ? -1 : 1)).map((
          e,
        ) => [e.key, e.modRevision, text(e)]),
        final.entities.map((e) => [e.key, e.modRevision, text(e)]),
        "the consumer's state is a fresh listing's",
      );
      assert.deepEqual(
        delivered,
        [...new Set(delivered)].sort((a, b) => a - b),
        "each once, in order",
      );
      assert.ok(delivered.every((r) => r > at), "no change at or before the snapshot");
      const expected = [...new Set(acked.filter((a) => a.revision > at).map((a) => a.revision))]
        .sort((a, b) => a - b);
      assert.deepEqual(delivered, expected, "every write after the snapshot, and nothing else");
    },
  },
  {
    name: "calls reject with CANCELLED when aborted or after close",
    fn: async ({ db, ns, fresh }) => {
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(db.get(`${ns}k`, { signal: ac.signal }), isCancelled);
      await assert.rejects(db.set(`${ns}k`, "x", { signal: ac.signal }), isCancelled);
      assert.equal((await db.get(`${ns}k`)).entity, undefined, "an aborted write was not sent");
      const c = fresh();
      const w = c.watch({ keys: [`${ns}k`] }, { onChanges() {} });
      c.close();
      await w.done;
      await assert.rejects(c.get(`${ns}k`), isCancelled);
    },
  },
];
