/**
 * The contract every raft {@linkcode Storage} keeps, as one suite run against
 * each implementation (Hono's `common.case.test.ts` idea): `storageContract`
 * registers `Deno.test` cases that write through a small {@linkcode Writable}
 * API and check the read semantics, and check them again after a reopen when
 * the implementation is durable. {@linkcode MemoryWritable} adapts
 * {@linkcode MemoryStorage} to that API.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from "./errors.ts";
import {
  bootstrapEntries,
  bootstrapHardState,
  emptyConfState,
  type InitialState,
  MemoryStorage,
  type Storage,
} from "./storage.ts";
import {
  type ConfState,
  EMPTY_HARD_STATE,
  type Entry,
  entrySize,
  EntryType,
  type HardState,
  type Snapshot,
} from "./types.ts";

/** The writes a storage under test accepts; one `save` is one Ready's worth. */
export interface Writable {
  /** Applies `snapshot`, then appends `entries` (replacing a conflicting suffix), then sets `hardState`. */
  save(u: { hardState?: HardState; entries: Entry[]; snapshot?: Snapshot }): Promise<void>;
  /** Records a snapshot of the state machine at `index`, keeping the log. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot>;
  /** Drops the log up to and including `index`. */
  compact(index: number): Promise<void>;
  /** The hard state last saved. */
  hardState(): HardState;
  /** Whether nothing was ever written. */
  isEmpty(): boolean;
}

/** A storage under test; `reopen` (durable storages only) closes it and opens it again. */
export interface ContractSubject {
  storage: Storage & Writable;
  reopen?: () => Promise<Storage & Writable>;
  /** Releases everything, the reopened storage included. */
  close: () => void;
}

/**
 * {@linkcode MemoryStorage} behind the {@linkcode Writable} API: each write is
 * done synchronously, and a throw becomes a rejected promise.
 */
export class MemoryWritable implements Storage, Writable {
  /** The adapted storage. */
  readonly mem: MemoryStorage;

  constructor(mem: MemoryStorage = new MemoryStorage()) {
    this.mem = mem;
  }

  /** Applies the update with applySnapshot, append and setHardState, in that order. */
  save(u: { hardState?: HardState; entries: Entry[]; snapshot?: Snapshot }): Promise<void> {
    return promised(() => {
      if (u.snapshot) this.mem.applySnapshot(u.snapshot);
      this.mem.append(u.entries);
      if (u.hardState) this.mem.setHardState(u.hardState);
    });
  }

  /** {@linkcode MemoryStorage.createSnapshot}. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    return promised(() => this.mem.createSnapshot(index, confState, data));
  }

  /** {@linkcode MemoryStorage.compact}. */
  compact(index: number): Promise<void> {
    return promised(() => this.mem.compact(index));
  }

  /** {@linkcode MemoryStorage.hardState}. */
  hardState(): HardState {
    return this.mem.hardState();
  }

  /** {@linkcode MemoryStorage.isEmpty}. */
  isEmpty(): boolean {
    return this.mem.isEmpty();
  }

  /** {@linkcode MemoryStorage.initialState}. */
  initialState(): InitialState {
    return this.mem.initialState();
  }

  /** {@linkcode MemoryStorage.entries}. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.mem.entries(lo, hi, maxBytes);
  }

  /** {@linkcode MemoryStorage.term}. */
  term(index: number): number {
    return this.mem.term(index);
  }

  /** {@linkcode MemoryStorage.firstIndex}. */
  firstIndex(): number {
    return this.mem.firstIndex();
  }

  /** {@linkcode MemoryStorage.lastIndex}. */
  lastIndex(): number {
    return this.mem.lastIndex();
  }

  /** {@linkcode MemoryStorage.snapshot}. */
  snapshot(): Snapshot {
    return this.mem.snapshot();
  }
}

/**
 * Entries `from..to` (inclusive) at `term`; the data of each names its index and
 * term and is padded to `size` bytes when that is longer.
 */
export function makeEntries(from: number, to: number, term: number, size = 0): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) {
    const label = encoder.encode(`${index}@${term}`);
    const data = new Uint8Array(Math.max(size, label.byteLength));
    data.set(label);
    out.push({ term, index, type: EntryType.Normal, data });
  }
  return out;
}

/** A snapshot at `index`/`term` whose data is the text `data`. */
export function makeSnapshot(
  index: number,
  term: number,
  confState: ConfState,
  data: string,
): Snapshot {
  return { metadata: { index, term, confState }, data: encoder.encode(data) };
}

/** One case: writes with `run`, then `check` reads (again after a reopen when there is one). */
interface ContractCase {
  name: string;
  run(s: Storage & Writable): Promise<void>;
  check(s: Storage & Writable): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ALL = Number.POSITIVE_INFINITY;
const CONF: ConfState = { voters: [1, 2, 3], learners: [4] };

function terms(entries: readonly Entry[]): number[] {
  return entries.map((e) => e.term);
}

function indexes(entries: readonly Entry[]): number[] {
  return entries.map((e) => e.index);
}

/** Writes `1..10` at terms 1,1,1,2,2,2,3,3,3,3 with commit 10. */
async function tenEntries(s: Writable): Promise<void> {
  await s.save({
    entries: [...makeEntries(1, 3, 1), ...makeEntries(4, 6, 2), ...makeEntries(7, 10, 3)],
    hardState: { term: 3, vote: 1, commit: 10 },
  });
}

const CASES: ContractCase[] = [
  {
    name: "starts empty",
    run: () => Promise.resolve(),
    check(s) {
      assert.equal(s.isEmpty(), true);
      assert.equal(s.firstIndex(), 1);
      assert.equal(s.lastIndex(), 0);
      assert.equal(s.term(0), 0);
      assert.deepEqual(s.initialState(), {
        hardState: EMPTY_HARD_STATE,
        confState: emptyConfState(),
      });
      assert.deepEqual(s.hardState(), EMPTY_HARD_STATE);
      assert.equal(s.snapshot().metadata.index, 0);
      assert.deepEqual(s.entries(1, 1, ALL), []);
      assert.throws(() => s.entries(1, 2, ALL), UnavailableError);
      assert.throws(() => s.entries(0, 1, ALL), CompactedError);
      assert.throws(() => s.term(1), UnavailableError);
    },
  },
  {
    name: "holds the bootstrap log",
    run: (s) =>
      s.save({ entries: bootstrapEntries([3, 1, 2]), hardState: bootstrapHardState([1, 2, 3]) }),
    check(s) {
      const want = MemoryStorage.bootstrap([1, 2, 3]);
      assert.equal(s.isEmpty(), false);
      assert.deepEqual(s.hardState(), want.hardState());
      assert.deepEqual(s.initialState(), want.initialState());
      assert.equal(s.lastIndex(), 3);
      assert.deepEqual(s.entries(1, 4, ALL), want.entries(1, 4, ALL));
      assert.equal(s.entries(2, 3, ALL)[0]!.type, EntryType.ConfChange);
    },
  },
  {
    name: "keeps a hard state saved without entries",
    run: (s) => s.save({ entries: [], hardState: { term: 5, vote: 2, commit: 0 } }),
    check(s) {
      assert.deepEqual(s.hardState(), { term: 5, vote: 2, commit: 0 });
      assert.deepEqual(s.initialState().hardState, { term: 5, vote: 2, commit: 0 });
      assert.equal(s.isEmpty(), false);
      assert.equal(s.lastIndex(), 0);
    },
  },
  {
    name: "entries() and term() answer the log and throw at its boundaries",
    async run(s) {
      await tenEntries(s);
      await s.createSnapshot(4, CONF, encoder.encode("at 4"));
      await s.compact(4);
    },
    check(s) {
      assert.equal(s.firstIndex(), 5);
      assert.equal(s.lastIndex(), 10);
      assert.equal(s.term(4), 2);
      assert.equal(s.term(6), 2);
      assert.equal(s.term(10), 3);
      assert.throws(() => s.term(3), CompactedError);
      assert.throws(() => s.term(11), UnavailableError);
      const got = s.entries(5, 11, ALL);
      assert.deepEqual(indexes(got), [5, 6, 7, 8, 9, 10]);
      assert.deepEqual(got, [...makeEntries(5, 6, 2), ...makeEntries(7, 10, 3)]);
      assert.deepEqual(indexes(s.entries(6, 8, ALL)), [6, 7]);
      assert.deepEqual(s.entries(7, 7, ALL), []);
      assert.deepEqual(s.entries(11, 11, ALL), []);
      assert.throws(() => s.entries(4, 6, ALL), CompactedError);
      assert.throws(() => s.entries(5, 12, ALL), UnavailableError);
    },
  },
  {
    name: "entries() limits the total to maxBytes but returns at least one entry",
    run: (s) => s.save({ entries: makeEntries(1, 5, 1, 100), hardState: EMPTY_HARD_STATE }),
    check(s) {
      const size = entrySize(makeEntries(1, 1, 1, 100)[0]!);
      assert.equal(s.entries(1, 6, 0).length, 1);
      assert.equal(s.entries(1, 6, size).length, 1);
      assert.equal(s.entries(1, 6, 2 * size - 1).length, 1);
      assert.equal(s.entries(1, 6, 2 * size).length, 2);
      assert.deepEqual(indexes(s.entries(2, 6, 3 * size)), [2, 3, 4]);
      assert.equal(s.entries(1, 6, ALL).length, 5);
    },
  },
  {
    name: "save() replaces a conflicting suffix and extends the log",
    async run(s) {
      await s.save({ entries: makeEntries(1, 5, 1), hardState: { term: 1, vote: 1, commit: 2 } });
      await s.save({ entries: makeEntries(3, 4, 2), hardState: { term: 2, vote: 0, commit: 2 } });
      assert.equal(s.lastIndex(), 4);
      assert.throws(() => s.entries(5, 6, ALL), UnavailableError);
      await s.save({ entries: makeEntries(5, 6, 2) });
    },
    check(s) {
      assert.equal(s.lastIndex(), 6);
      assert.deepEqual(terms(s.entries(1, 7, ALL)), [1, 1, 2, 2, 2, 2]);
      assert.deepEqual(s.entries(3, 4, ALL), makeEntries(3, 3, 2));
      assert.deepEqual(s.hardState(), { term: 2, vote: 0, commit: 2 });
    },
  },
  {
    name: "save() keeps the latest of overlapping writes",
    async run(s) {
      const hs = { term: 1, vote: 0, commit: 9 };
      await s.save({ entries: [], snapshot: makeSnapshot(9, 1, CONF, "nine"), hardState: hs });
      await s.save({ entries: makeEntries(10, 20, 1) });
      await s.save({ entries: makeEntries(21, 30, 1) });
      await s.save({
        entries: makeEntries(15, 25, 2),
        hardState: { term: 2, vote: 0, commit: 12 },
      });
    },
    check(s) {
      assert.equal(s.firstIndex(), 10);
      assert.equal(s.lastIndex(), 25);
      assert.deepEqual(s.entries(10, 26, ALL), [
        ...makeEntries(10, 14, 1),
        ...makeEntries(15, 25, 2),
      ]);
      assert.throws(() => s.term(26), UnavailableError);
      assert.deepEqual(s.hardState(), { term: 2, vote: 0, commit: 12 });
    },
  },
  {
    name: "save() skips compacted entries and rejects a gap without writing",
    async run(s) {
      await s.save({ entries: makeEntries(1, 6, 1), hardState: { term: 1, vote: 0, commit: 6 } });
      await s.createSnapshot(4, CONF, encoder.encode("at 4"));
      await s.compact(4);
      await s.save({ entries: makeEntries(2, 7, 1) });
      await s.save({ entries: makeEntries(1, 3, 1) }); // entirely compacted: a no-op
      await assert.rejects(s.save({ entries: makeEntries(9, 10, 1) }), RangeError);
    },
    check(s) {
      assert.equal(s.firstIndex(), 5);
      assert.equal(s.lastIndex(), 7);
      assert.deepEqual(s.entries(5, 8, ALL), makeEntries(5, 7, 1));
    },
  },
  {
    name: "save() with a snapshot replaces the whole log",
    async run(s) {
      await s.save({ entries: makeEntries(1, 5, 1), hardState: { term: 1, vote: 1, commit: 3 } });
      await s.save({
        entries: [],
        snapshot: makeSnapshot(10, 2, CONF, "state at 10"),
        hardState: { term: 2, vote: 0, commit: 10 },
      });
    },
    check(s) {
      assert.equal(s.firstIndex(), 11);
      assert.equal(s.lastIndex(), 10);
      assert.equal(s.term(10), 2);
      assert.throws(() => s.term(9), CompactedError);
      assert.throws(() => s.entries(10, 11, ALL), CompactedError);
      assert.deepEqual(s.entries(11, 11, ALL), []);
      assert.deepEqual(s.snapshot(), makeSnapshot(10, 2, CONF, "state at 10"));
      assert.deepEqual(s.initialState(), {
        hardState: { term: 2, vote: 0, commit: 10 },
        confState: CONF,
      });
    },
  },
  {
    name: "save() applies a snapshot, then entries after it, then the hard state",
    async run(s) {
      await s.save({ entries: makeEntries(1, 20, 1), hardState: { term: 1, vote: 1, commit: 3 } });
      await s.save({
        snapshot: makeSnapshot(10, 2, CONF, "state at 10"),
        entries: makeEntries(10, 13, 3), // 10 is covered by the snapshot and skipped
        hardState: { term: 3, vote: 0, commit: 12 },
      });
    },
    check(s) {
      assert.equal(s.firstIndex(), 11);
      assert.equal(s.lastIndex(), 13);
      assert.equal(s.term(10), 2);
      assert.deepEqual(s.entries(11, 14, ALL), makeEntries(11, 13, 3));
      assert.deepEqual(s.hardState(), { term: 3, vote: 0, commit: 12 });
      assert.equal(decoder.decode(s.snapshot().data), "state at 10");
    },
  },
  {
    name: "save() and createSnapshot() reject a snapshot that is not newer",
    async run(s) {
      const hs = { term: 2, vote: 0, commit: 10 };
      await s.save({ entries: [], snapshot: makeSnapshot(10, 2, CONF, "ten"), hardState: hs });
      await assert.rejects(
        s.save({ entries: [], snapshot: makeSnapshot(8, 2, CONF, "eight") }),
        SnapshotOutOfDateError,
      );
      await assert.rejects(
        s.save({ entries: [], snapshot: makeSnapshot(10, 2, CONF, "ten again") }),
        SnapshotOutOfDateError,
      );
      await assert.rejects(s.createSnapshot(10, CONF, new Uint8Array(1)), SnapshotOutOfDateError);
    },
    check(s) {
      assert.deepEqual(s.snapshot(), makeSnapshot(10, 2, CONF, "ten"));
      assert.equal(s.lastIndex(), 10);
    },
  },
  {
    name: "createSnapshot() keeps the log and compact() below it keeps the terms",
    async run(s) {
      await tenEntries(s);
      const snap = await s.createSnapshot(6, { voters: [1, 2], learners: [] }, encoder.encode("6"));
      assert.deepEqual(snap, makeSnapshot(6, 2, { voters: [1, 2], learners: [] }, "6"));
      assert.equal(s.firstIndex(), 1);
      assert.deepEqual(indexes(s.entries(1, 11, ALL)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      await assert.rejects(s.createSnapshot(11, CONF, new Uint8Array(0)), UnavailableError);
      await assert.rejects(s.createSnapshot(5, CONF, new Uint8Array(0)), SnapshotOutOfDateError);
      await assert.rejects(s.compact(11), UnavailableError);
      await s.compact(3);
      await s.compact(2); // at or before the first index: a no-op
    },
    check(s) {
      assert.equal(s.firstIndex(), 4);
      assert.equal(s.lastIndex(), 10);
      assert.equal(s.term(3), 1);
      assert.throws(() => s.term(2), CompactedError);
      assert.deepEqual(s.entries(4, 11, ALL), [...makeEntries(4, 6, 2), ...makeEntries(7, 10, 3)]);
      assert.deepEqual(s.snapshot(), makeSnapshot(6, 2, { voters: [1, 2], learners: [] }, "6"));
      assert.deepEqual(s.initialState().confState, { voters: [1, 2], learners: [] });
    },
  },
  {
    name: "compact() at the snapshot leaves the snapshot index as first index minus one",
    async run(s) {
      await tenEntries(s);
      await s.createSnapshot(6, CONF, encoder.encode("6"));
      await s.compact(6);
      await s.createSnapshot(8, CONF, encoder.encode("8"));
      await s.save({
        entries: makeEntries(11, 12, 3),
        hardState: { term: 3, vote: 1, commit: 12 },
      });
    },
    check(s) {
      assert.equal(s.firstIndex(), 7);
      assert.equal(s.lastIndex(), 12);
      assert.equal(s.term(6), 2);
      assert.throws(() => s.entries(6, 7, ALL), CompactedError);
      assert.deepEqual(terms(s.entries(7, 13, ALL)), [3, 3, 3, 3, 3, 3]);
      assert.deepEqual(s.snapshot(), makeSnapshot(8, 3, CONF, "8"));
    },
  },
];

/**
 * Registers one `Deno.test` per contract case, named `<name> <case>`. Each case
 * opens a fresh storage with `open`, writes, checks, and checks again after
 * `reopen` when the subject has one; `close` runs whatever happens.
 */
export function storageContract(name: string, open: () => Promise<ContractSubject>): void {
  for (const c of CASES) {
    Deno.test(`${name} ${c.name}`, async (t) => {
      const subject = await open();
      try {
        await c.run(subject.storage);
        await t.step("as written", () => c.check(subject.storage));
        const reopen = subject.reopen;
        if (reopen) await t.step("after reopen", async () => c.check(await reopen()));
      } finally {
        subject.close();
      }
    });
  }
}

/** Runs `fn` and turns its result or throw into a promise. */
function promised<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}
