/**
 * {@linkcode KvStorage}: durable raft storage in one Deno KV (SQLite) file per
 * node. It is the only module of the project that touches `Deno.openKv`.
 *
 * Reads are served from an in-memory {@linkcode MemoryStorage} loaded at open;
 * writes go to disk first (group-committed, at most a few `atomic()` commits per
 * Ready) and reach memory only once they are durable.
 *
 * On-disk layout (keys are short on purpose; values use Deno KV's structured clone):
 *
 * | key                   | value                                                    |
 * | --------------------- | -------------------------------------------------------- |
 * | `["hs"]`              | the hard state `{ term, vote, commit }`                  |
 * | `["log"]`             | log bounds `{ first, last, prevTerm }`                   |
 * | `["e", index]`        | an entry `{ t, y, d }`, or a chunked header `{ t, y, g, n, s }` |
 * | `["ec", index, g, k]` | chunk `k` of the data of a chunked entry of generation `g` |
 * | `["snap"]`            | snapshot meta `{ id, index, term, confState, size, chunks }` |
 * | `["sc", id, k]`       | chunk `k` of the data of snapshot `id`                   |
 *
 * Invariant: every entry in `[first, last]` of `["log"]` is on disk with all its
 * chunks; keys outside the bounds, chunks of another generation and snapshot
 * chunks of another id are garbage, ignored on load and deleted in bounded batches.
 *
 * @module
 */

import { SnapshotOutOfDateError, UnavailableError } from "./errors.ts";
import {
  emptyConfState,
  emptySnapshot,
  type InitialState,
  MemoryStorage,
  type Storage,
} from "./storage.ts";
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  hardStateEqual,
  type Snapshot,
} from "./types.ts";

/** Entry data and snapshot data are stored in pieces of at most this many bytes. */
export const CHUNK_BYTES = 60 * 1024;

/** Mutations per commit (Deno KV allows 1,000), records included. */
const COMMIT_MUTATIONS = 900;
/** Estimated bytes per commit (Deno KV allows 800 KiB of keys and values). */
const COMMIT_BYTES = 700 * 1024;
/** Room kept in every commit for the `hs`, `log` and `snap` records. */
const RECORD_MUTATIONS = 3;
const RECORD_BYTES = 16 * 1024;
/** Generous estimates of an encoded key and of the structured-clone framing of a value. */
const KEY_BYTES = 40;
const VALUE_OVERHEAD = 64;

const HS_KEY: Deno.KvKey = ["hs"];
const LOG_KEY: Deno.KvKey = ["log"];
const SNAP_KEY: Deno.KvKey = ["snap"];

/** What one Ready asks to persist, applied in this order: snapshot, entries, hard state. */
export interface StorageUpdate {
  /** The new hard state, when it changed. */
  hardState?: HardState;
  /** Entries to append, contiguous; a conflicting suffix of the log is replaced. */
  entries: Entry[];
  /** A snapshot received from the leader; it replaces the whole log. */
  snapshot?: Snapshot;
}

/** Options of {@linkcode KvStorage.open}. */
export interface KvStorageOptions {
  /**
   * Test hook: with `failAfterCommits: n`, the first `n` commits made after
   * `open` returns succeed and every later one throws without writing, as if
   * the process had crashed there.
   */
  faults?: { failAfterCommits?: number };
}

/** The `["log"]` record. Invariant: entries `[first, last]` are on disk; `prevTerm` is the term at `first - 1`. */
interface LogBounds {
  first: number;
  last: number;
  prevTerm: number;
}

/** The `["snap"]` record: the current snapshot's metadata and where its data lives. */
interface SnapMeta {
  id: number;
  index: number;
  term: number;
  confState: ConfState;
  size: number;
  chunks: number;
}

/** An entry stored whole under `["e", index]`. */
interface InlineRecord {
  t: number;
  y: EntryType;
  d: Uint8Array;
}

/** The header of an entry whose data is in `n` chunks `["ec", index, g, k]` of `s` bytes in total. */
interface ChunkedRecord {
  t: number;
  y: EntryType;
  g: number;
  n: number;
  s: number;
}

/** Where the chunks of a chunked entry live. */
interface ChunkRef {
  g: number;
  n: number;
}

/** A run of entry indexes whose header keys may be stale; checked against the bounds when deleted. */
interface StaleRange {
  lo: number;
  hi: number;
}

/**
 * Durable raft {@linkcode Storage} on Deno KV. All reads are synchronous and
 * served from memory; `save`, `createSnapshot` and `compact` write through and
 * are serialized (a call waits for the previous one to settle).
 *
 * When a commit fails, what is on disk stays a valid state but may be ahead
 * of memory: every later write then throws and the storage must be reopened.
 */
export class KvStorage implements Storage {
  readonly #kv: Deno.Kv;
  readonly #mem: MemoryStorage;
  /** Chunked entries of the log. Invariant: keys are within `[firstIndex(), lastIndex()]`. */
  readonly #chunked: Map<number, ChunkRef>;
  #meta: SnapMeta | undefined;
  #nextGen: number;
  #nextSnapId: number;
  /** Keys that are garbage whatever happens next. */
  #garbage: Deno.KvKey[] = [];
  /** Header ranges that were stale when queued; only indexes outside the bounds are deleted. */
  #stale: StaleRange[] = [];
  #faults: KvStorageOptions["faults"];
  #commits = 0;
  #failed: unknown = undefined;
  #closed = false;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(kv: Deno.Kv, loaded: Loaded) {
    this.#kv = kv;
    this.#mem = loaded.mem;
    this.#chunked = loaded.chunked;
    this.#meta = loaded.meta;
    this.#nextGen = loaded.maxGen + 1;
    this.#nextSnapId = loaded.maxSnapId + 1;
    this.#garbage = loaded.garbage;
  }

  /**
   * Opens (or creates) the KV file at `path` and loads the whole log, the
   * snapshot and the hard state into memory. Garbage left by an interrupted
   * write (keys outside the log bounds, orphan chunks) is deleted before it returns.
   * @throws {Error} when the file holds keys that are not raft storage or a
   * record is missing or malformed.
   */
  static async open(path: string, options: KvStorageOptions = {}): Promise<KvStorage> {
    const kv = await Deno.openKv(path);
    try {
      const s = new KvStorage(kv, await load(kv, path));
      await s.#drain();
      s.#commits = 0;
      s.#faults = options.faults;
      return s;
    } catch (e) {
      kv.close();
      throw e;
    }
  }

  /** Whether nothing was ever written. */
  isEmpty(): boolean {
    return this.#mem.isEmpty();
  }

  /** The hard state last persisted. */
  hardState(): HardState {
    return this.#mem.hardState();
  }

  /** The persisted hard state and the membership of the snapshot. */
  initialState(): InitialState {
    return this.#mem.initialState();
  }

  /** {@linkcode Storage.entries}, served from memory. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.#mem.entries(lo, hi, maxBytes);
  }

  /** {@linkcode Storage.term}, served from memory. */
  term(index: number): number {
    return this.#mem.term(index);
  }

  /** {@linkcode Storage.firstIndex}, served from memory. */
  firstIndex(): number {
    return this.#mem.firstIndex();
  }

  /** {@linkcode Storage.lastIndex}, served from memory. */
  lastIndex(): number {
    return this.#mem.lastIndex();
  }

  /** The current snapshot, data included, served from memory. */
  snapshot(): Snapshot {
    return this.#mem.snapshot();
  }

  /**
   * Persists one Ready's worth, with {@linkcode MemoryStorage} semantics:
   * `snapshot` replaces the whole log, then `entries` are appended (replacing a
   * conflicting suffix, skipping entries at or before the snapshot), then
   * `hardState` is set. Entries go in as few commits as the Deno KV limits
   * allow; the hard state goes in the last one, so a crash midway leaves an
   * older hard state and a valid prefix of the new log. Memory is updated only
   * once everything is durable. A snapshot also moves the persisted commit
   * index up to the snapshot index (the log below it is gone).
   * @throws {SnapshotOutOfDateError} when `snapshot` is not newer than the current one.
   * @throws {RangeError} when `entries` are not contiguous, leave a gap after the
   * log, or the resulting commit index would be outside the log.
   */
  save(u: StorageUpdate): Promise<void> {
    return this.#exclusive("save", () => this.#save(u));
  }

  /**
   * Persists a snapshot of the state machine at `index`, which must be in the
   * log and committed. The log is kept; call {@linkcode compact} to drop it.
   * @returns the snapshot, as {@linkcode snapshot} now returns it.
   * @throws {SnapshotOutOfDateError} when `index` is not after the current snapshot.
   * @throws {UnavailableError} when `index` is past the last entry.
   * @throws {RangeError} when `index` is past the persisted commit index.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    return this.#exclusive("create a snapshot", () => this.#createSnapshot(index, confState, data));
  }

  /**
   * Drops the log up to and including `index`, keeping only its term
   * ({@linkcode MemoryStorage.compact} semantics): afterwards `firstIndex()` is
   * `index + 1` and `term(index)` still answers. Compacting at or before the
   * current first index minus one is a no-op. Unlike
   * {@linkcode MemoryStorage.compact}, entries not covered by the snapshot
   * cannot be dropped: a restarted node could not rebuild its state machine
   * without them.
   * @throws {UnavailableError} when `index` is past the last entry.
   * @throws {RangeError} when `index` is past the snapshot index.
   */
  compact(index: number): Promise<void> {
    return this.#exclusive("compact the log", () => this.#compact(index));
  }

  /** Closes the KV file. Call it once pending writes have settled; later writes throw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#kv.close();
  }

  async #save(u: StorageUpdate): Promise<void> {
    const plan = this.#planSave(u);
    const { base, entries } = plan;
    const batch = this.#batch();
    const old = this.#bounds();
    let meta: SnapMeta | undefined;
    if (u.snapshot) {
      meta = await this.#writeSnapshot(batch, u.snapshot);
      batch.record(SNAP_KEY, meta);
      batch.record(LOG_KEY, base);
      batch.record(HS_KEY, { ...(u.hardState ?? this.#mem.hardState()), commit: base.last });
    }
    const written = new Map<number, ChunkRef>();
    for (const e of entries) {
      const ref = await this.#writeEntry(batch, e);
      if (ref) written.set(e.index, ref);
      batch.record(LOG_KEY, { ...base, last: e.index });
    }
    if (u.hardState) batch.record(HS_KEY, plan.hardState);
    await batch.flush();

    // Durable: now memory, then garbage.
    const firstWritten = entries[0]?.index ?? Infinity;
    if (u.snapshot && meta) {
      this.#mem.applySnapshot(u.snapshot);
      this.#retireSnapshot();
      this.#meta = meta;
    }
    this.#mem.append(entries);
    if (!hardStateEqual(plan.hardState, this.#mem.hardState())) {
      this.#mem.setHardState(plan.hardState);
    }
    for (const [i, ref] of this.#chunked) {
      if (u.snapshot || i >= firstWritten) this.#retireChunks(i, ref);
    }
    for (const [i, ref] of written) this.#chunked.set(i, ref);
    // Headers of the old log outside the new one: below a snapshot, or a truncated suffix.
    const last = this.#mem.lastIndex();
    if (u.snapshot) this.#stale.push({ lo: old.first, hi: Math.min(old.last, base.first - 1) });
    if (old.last > last) this.#stale.push({ lo: Math.max(old.first, last + 1), hi: old.last });
    if (u.snapshot) await this.#drainQuietly();
  }

  /** Checks `u` against memory without side effects and computes what the log becomes. */
  #planSave(u: StorageUpdate): { base: LogBounds; entries: Entry[]; hardState: HardState } {
    let base = this.#bounds();
    if (u.snapshot) {
      const { index, term } = u.snapshot.metadata;
      const current = this.#mem.snapshot().metadata.index;
      if (index <= current && current > 0) throw new SnapshotOutOfDateError(index, current);
      base = { first: index + 1, last: index, prevTerm: term };
    }
    let entries = u.entries;
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.index !== entries[0]!.index + i) {
        throw new RangeError(
          `Cannot save entries as they must be contiguous: entry ${
            entries[i - 1]!.index
          } is followed by ${entries[i]!.index}`,
        );
      }
    }
    const firstNew = entries[0]?.index;
    if (firstNew !== undefined) {
      if (entries[entries.length - 1]!.index < base.first) entries = [];
      else if (firstNew < base.first) entries = entries.slice(base.first - firstNew);
      const start = entries[0]?.index;
      if (start !== undefined && start > base.last + 1) {
        throw new RangeError(
          `Cannot append entries starting at ${start} as the log ends at ${base.last}`,
        );
      }
    }
    const last = entries[entries.length - 1]?.index ?? base.last;
    const hardState = u.hardState ??
      (u.snapshot ? { ...this.#mem.hardState(), commit: base.last } : this.#mem.hardState());
    if (hardState.commit > last || (hardState.commit < base.first - 1 && !isZero(hardState))) {
      throw new RangeError(
        `Cannot save the hard state as its commit must be within [${
          base.first - 1
        }, ${last}]: current value is ${hardState.commit}`,
      );
    }
    return { base, entries, hardState };
  }

  async #createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    const current = this.#mem.snapshot().metadata.index;
    if (index <= current) throw new SnapshotOutOfDateError(index, current);
    const last = this.#mem.lastIndex();
    if (index > last) throw new UnavailableError(index, last);
    const commit = this.#mem.hardState().commit;
    if (index > commit) {
      throw new RangeError(
        `Cannot create a snapshot as its index must be at most the commit index ${commit}: current value is ${index}`,
      );
    }
    const term = this.#mem.term(index);
    const batch = this.#batch();
    const meta = await this.#writeSnapshot(batch, {
      metadata: { index, term, confState },
      data,
    });
    batch.record(SNAP_KEY, meta);
    await batch.flush();
    const snap = this.#mem.createSnapshot(index, confState, data);
    this.#retireSnapshot();
    this.#meta = meta;
    await this.#drainQuietly();
    return snap;
  }

  async #compact(index: number): Promise<void> {
    const offset = this.#mem.firstIndex() - 1;
    if (index <= offset) return;
    const last = this.#mem.lastIndex();
    if (index > last) throw new UnavailableError(index, last);
    const snapIndex = this.#mem.snapshot().metadata.index;
    if (index > snapIndex) {
      throw new RangeError(
        `Cannot compact the log as the index must be at most the snapshot index ${snapIndex}: current value is ${index}`,
      );
    }
    const batch = this.#batch();
    batch.record(LOG_KEY, { first: index + 1, last, prevTerm: this.#mem.term(index) });
    await batch.flush();
    this.#mem.compact(index);
    for (const [i, ref] of this.#chunked) if (i <= index) this.#retireChunks(i, ref);
    this.#stale.push({ lo: offset + 1, hi: index });
    await this.#drainQuietly();
  }

  /** Adds the chunks of `snap`'s data under a fresh id to `batch`; returns the meta to switch to. */
  async #writeSnapshot(batch: Batch, snap: Snapshot): Promise<SnapMeta> {
    const id = this.#nextSnapId++;
    const { data } = snap;
    const chunks = Math.ceil(data.byteLength / CHUNK_BYTES);
    for (let k = 0; k < chunks; k++) {
      const piece = data.slice(k * CHUNK_BYTES, (k + 1) * CHUNK_BYTES);
      await batch.set(["sc", id, k], piece, KEY_BYTES + piece.byteLength);
    }
    const { index, term, confState } = snap.metadata;
    return {
      id,
      index,
      term,
      confState: structuredClone(confState),
      size: data.byteLength,
      chunks,
    };
  }

  /** Adds `e` to `batch`: its chunks first (under a fresh generation), then its header. */
  async #writeEntry(batch: Batch, e: Entry): Promise<ChunkRef | undefined> {
    const size = e.data.byteLength;
    if (size <= CHUNK_BYTES) {
      const rec: InlineRecord = { t: e.term, y: e.type, d: compactView(e.data) };
      await batch.set(["e", e.index], rec, KEY_BYTES + VALUE_OVERHEAD + size);
      return undefined;
    }
    const g = this.#nextGen++;
    const n = Math.ceil(size / CHUNK_BYTES);
    for (let k = 0; k < n; k++) {
      const piece = e.data.slice(k * CHUNK_BYTES, (k + 1) * CHUNK_BYTES);
      await batch.set(["ec", e.index, g, k], piece, KEY_BYTES + piece.byteLength);
    }
    const rec: ChunkedRecord = { t: e.term, y: e.type, g, n, s: size };
    await batch.set(["e", e.index], rec, KEY_BYTES + VALUE_OVERHEAD);
    return { g, n };
  }

  /** Queues the chunks of the current snapshot for deletion. */
  #retireSnapshot(): void {
    const m = this.#meta;
    if (!m) return;
    for (let k = 0; k < m.chunks; k++) this.#garbage.push(["sc", m.id, k]);
  }

  /** Forgets chunked entry `index` and queues its chunks for deletion. */
  #retireChunks(index: number, ref: ChunkRef): void {
    this.#chunked.delete(index);
    for (let k = 0; k < ref.n; k++) this.#garbage.push(["ec", index, ref.g, k]);
  }

  /** Deletes queued garbage in bounded batches. */
  async #drain(): Promise<void> {
    const keys = this.#garbage;
    const stale = this.#stale;
    this.#garbage = [];
    this.#stale = [];
    const first = this.#mem.firstIndex();
    const last = this.#mem.lastIndex();
    const batch = this.#batch();
    for (const key of keys) await batch.delete(key);
    for (const r of stale) {
      for (let i = r.lo; i <= r.hi; i++) {
        if (i < first || i > last) await batch.delete(["e", i]);
      }
    }
    await batch.flush();
  }

  /**
   * Deletes garbage after a write that already succeeded. A failure is not
   * reported to that write's caller (nothing it asked for is lost); it marks
   * the storage failed, so the next write throws, and open() collects the rest.
   */
  async #drainQuietly(): Promise<void> {
    try {
      await this.#drain();
    } catch {
      // #commit recorded the failure.
    }
  }

  #bounds(): LogBounds {
    const first = this.#mem.firstIndex();
    return { first, last: this.#mem.lastIndex(), prevTerm: this.#mem.term(first - 1) };
  }

  #batch(): Batch {
    return new Batch(this.#kv, (op) => this.#commit(op));
  }

  async #commit(op: Deno.AtomicOperation): Promise<void> {
    try {
      const limit = this.#faults?.failAfterCommits;
      if (limit !== undefined && this.#commits >= limit) {
        throw new Error(
          `Cannot commit as the fault hook allows only ${limit} commits: current value is ${this.#commits}`,
        );
      }
      const res = await op.commit();
      if (!res.ok) throw new Error("Cannot commit as an atomic check failed");
      this.#commits++;
    } catch (e) {
      this.#failed ??= e;
      throw e;
    }
  }

  /** Runs `fn` after every earlier write settled, refusing when closed or failed. */
  #exclusive<T>(action: string, fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => {
      if (this.#closed) throw new Error(`Cannot ${action} as the storage is closed`);
      if (this.#failed !== undefined) {
        throw new Error(`Cannot ${action} as an earlier write failed: reopen the storage`, {
          cause: this.#failed,
        });
      }
      return fn();
    });
    this.#tail = run.then(noop, noop);
    return run;
  }
}

/**
 * Mutations of one `atomic()` commit in the making. `set`/`delete` commit what
 * is pending first when the next mutation would not fit the limits. Records
 * (`hs`, `log`, `snap`) are written once per commit, last value wins, and go
 * into the commit that flushes them.
 */
class Batch {
  readonly #kv: Deno.Kv;
  readonly #commit: (op: Deno.AtomicOperation) => Promise<void>;
  #op: Deno.AtomicOperation | undefined;
  #mutations = 0;
  #bytes = 0;
  readonly #records = new Map<string, { key: Deno.KvKey; value: unknown }>();

  constructor(kv: Deno.Kv, commit: (op: Deno.AtomicOperation) => Promise<void>) {
    this.#kv = kv;
    this.#commit = commit;
  }

  async set(key: Deno.KvKey, value: unknown, bytes: number): Promise<void> {
    (await this.#reserve(bytes)).op.set(key, value);
  }

  async delete(key: Deno.KvKey): Promise<void> {
    (await this.#reserve(KEY_BYTES)).op.delete(key);
  }

  record(key: Deno.KvKey, value: unknown): void {
    this.#records.set(String(key[0]), { key, value });
  }

  async flush(): Promise<void> {
    if (this.#mutations === 0 && this.#records.size === 0) return;
    const op = this.#op ?? this.#kv.atomic();
    for (const { key, value } of this.#records.values()) op.set(key, value);
    this.#op = undefined;
    this.#mutations = 0;
    this.#bytes = 0;
    this.#records.clear();
    await this.#commit(op);
  }

  /** Makes room for one more mutation; the op comes wrapped as it is not awaitable. */
  async #reserve(bytes: number): Promise<{ op: Deno.AtomicOperation }> {
    if (
      this.#mutations + 1 > COMMIT_MUTATIONS - RECORD_MUTATIONS ||
      this.#bytes + bytes > COMMIT_BYTES - RECORD_BYTES
    ) {
      await this.flush();
    }
    this.#op ??= this.#kv.atomic();
    this.#mutations++;
    this.#bytes += bytes;
    return { op: this.#op };
  }
}

/** What {@linkcode load} found in a KV file. */
interface Loaded {
  mem: MemoryStorage;
  chunked: Map<number, ChunkRef>;
  meta: SnapMeta | undefined;
  maxGen: number;
  maxSnapId: number;
  garbage: Deno.KvKey[];
}

/** Reads the whole file and rebuilds the storage; everything not reachable is returned as garbage. */
async function load(kv: Deno.Kv, path: string): Promise<Loaded> {
  let hs: HardState | undefined;
  let bounds: LogBounds | undefined;
  let meta: SnapMeta | undefined;
  const headers = new Map<number, InlineRecord | ChunkedRecord>();
  const entryChunks = new Map<string, Map<number, Uint8Array>>();
  const snapChunks = new Map<number, Map<number, Uint8Array>>();
  const chunkKeys: [index: number, g: number, k: number][] = [];
  let maxGen = 0;
  let maxSnapId = 0;
  const corrupt = (what: string) => new Error(`Cannot open ${path} as ${what}`);

  for await (const { key, value } of kv.list({ prefix: [] }, { batchSize: 500 })) {
    const [kind, a, b, c] = key;
    if (kind === "hs" && key.length === 1 && isHardState(value)) hs = value;
    else if (kind === "log" && key.length === 1 && isLogBounds(value)) bounds = value;
    else if (kind === "snap" && key.length === 1 && isSnapMeta(value)) meta = value;
    else if (kind === "e" && key.length === 2 && typeof a === "number" && isEntryRecord(value)) {
      headers.set(a, value);
      if (!("d" in value)) maxGen = Math.max(maxGen, value.g);
    } else if (
      kind === "ec" && key.length === 4 && typeof a === "number" && typeof b === "number" &&
      typeof c === "number" && value instanceof Uint8Array
    ) {
      mapOf(entryChunks, `${a}/${b}`).set(c, value);
      chunkKeys.push([a, b, c]);
      maxGen = Math.max(maxGen, b);
    } else if (
      kind === "sc" && key.length === 3 && typeof a === "number" && typeof b === "number" &&
      value instanceof Uint8Array
    ) {
      mapOf(snapChunks, a).set(b, value);
      maxSnapId = Math.max(maxSnapId, a);
    } else {
      throw corrupt(`key ${JSON.stringify(key.map(String))} is not a raft storage record`);
    }
  }

  const garbage: Deno.KvKey[] = [];
  let snapshot = emptySnapshot();
  if (meta) {
    const data = assemble(snapChunks.get(meta.id), meta.chunks, meta.size);
    if (!data) throw corrupt(`the data of snapshot ${meta.index} is incomplete`);
    const { index, term, confState } = meta;
    snapshot = { metadata: { index, term, confState }, data };
  }
  for (const [id, chunks] of snapChunks) {
    const keep = id === meta?.id ? meta.chunks : 0;
    for (const k of chunks.keys()) if (k >= keep) garbage.push(["sc", id, k]);
  }

  const snapIndex = snapshot.metadata.index;
  const b = bounds ?? { first: snapIndex + 1, last: snapIndex, prevTerm: snapshot.metadata.term };
  if (b.first - 1 > snapIndex || (meta && snapIndex > b.last)) {
    throw corrupt(`the log [${b.first}, ${b.last}] does not cover snapshot ${snapIndex}`);
  }
  const entries: Entry[] = [];
  const chunked = new Map<number, ChunkRef>();
  for (let i = b.first; i <= b.last; i++) {
    const rec = headers.get(i);
    if (!rec) throw corrupt(`entry ${i} is missing from the log [${b.first}, ${b.last}]`);
    let data: Uint8Array;
    if ("d" in rec) {
      data = rec.d;
    } else {
      const assembled = assemble(entryChunks.get(`${i}/${rec.g}`), rec.n, rec.s);
      if (!assembled) throw corrupt(`the data of entry ${i} is incomplete`);
      data = assembled;
      chunked.set(i, { g: rec.g, n: rec.n });
    }
    entries.push({ term: rec.t, index: i, type: rec.y, data });
  }
  for (const i of headers.keys()) if (i < b.first || i > b.last) garbage.push(["e", i]);
  for (const [i, g, k] of chunkKeys) {
    const ref = chunked.get(i);
    if (!ref || ref.g !== g || k >= ref.n) garbage.push(["ec", i, g, k]);
  }

  let mem: MemoryStorage;
  if (b.first - 1 === snapIndex) {
    mem = new MemoryStorage(snapshot);
    mem.append(entries);
  } else {
    // The log starts before the snapshot: rebuild from the log, then record the snapshot.
    mem = new MemoryStorage({
      metadata: { index: b.first - 1, term: b.prevTerm, confState: emptyConfState() },
      data: new Uint8Array(0),
    });
    mem.append(entries);
    mem.createSnapshot(snapIndex, snapshot.metadata.confState, snapshot.data);
    if (mem.snapshot().metadata.term !== snapshot.metadata.term) {
      throw corrupt(
        `snapshot ${snapIndex} has term ${snapshot.metadata.term} but the log has another`,
      );
    }
  }
  if (hs) mem.setHardState(hs);
  return { mem, chunked, meta, maxGen, maxSnapId, garbage };
}

/** Concatenates chunks `0..n-1` when all are there and add up to `size` bytes. */
function assemble(
  chunks: Map<number, Uint8Array> | undefined,
  n: number,
  size: number,
): Uint8Array | undefined {
  const out = new Uint8Array(size);
  let at = 0;
  for (let k = 0; k < n; k++) {
    const piece = chunks?.get(k);
    if (!piece || at + piece.byteLength > size) return undefined;
    out.set(piece, at);
    at += piece.byteLength;
  }
  return at === size ? out : undefined;
}

/**
 * `data` itself when it spans its whole buffer, else a copy: structured clone
 * serializes a view's entire buffer, which could exceed the value limit.
 */
function compactView(data: Uint8Array): Uint8Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
}

function mapOf<K, V>(outer: Map<K, Map<number, V>>, key: K): Map<number, V> {
  let inner = outer.get(key);
  if (!inner) outer.set(key, inner = new Map());
  return inner;
}

function isZero(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0 && hs.commit === 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

function areNumbers(v: Record<string, unknown>, fields: readonly string[]): boolean {
  return fields.every((f) => typeof v[f] === "number");
}

function isHardState(v: unknown): v is HardState {
  return isObject(v) && areNumbers(v, ["term", "vote", "commit"]);
}

function isLogBounds(v: unknown): v is LogBounds {
  return isObject(v) && areNumbers(v, ["first", "last", "prevTerm"]);
}

function isSnapMeta(v: unknown): v is SnapMeta {
  return isObject(v) && areNumbers(v, ["id", "index", "term", "size", "chunks"]) &&
    isObject(v.confState) && Array.isArray(v.confState.voters) &&
    Array.isArray(v.confState.learners);
}

function isEntryRecord(v: unknown): v is InlineRecord | ChunkedRecord {
  if (!isObject(v) || !areNumbers(v, ["t", "y"]) || EntryType[v.y as number] === undefined) {
    return false;
  }
  return v.d instanceof Uint8Array || areNumbers(v, ["g", "n", "s"]);
}

function noop(): void {}
