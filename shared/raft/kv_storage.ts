/**
 * {@linkcode KvStorage}: durable raft storage in one Deno KV (SQLite) file per
 * node. It is the only module of the project that touches `Deno.openKv`.
 *
 * Reads are served from an in-memory {@linkcode MemoryStorage} loaded at open;
 * writes go to disk first (group-committed, at most a few `atomic()` commits per
 * Ready) and reach memory only once they are durable.
 *
 * On-disk layout (keys are short on purpose; records use Deno KV's structured clone):
 *
 * | key                | value                                                        |
 * | ------------------ | ------------------------------------------------------------ |
 * | `["hs"]`           | the hard state `{ term, vote, commit }`                      |
 * | `["log"]`          | log bounds `{ first, last, prevTerm }`                       |
 * | `["b", gen, k]`    | part `k` (≤ {@linkcode CHUNK_BYTES}) of log block `gen`      |
 * | `["snap"]`         | snapshot meta `{ id, index, term, confState, size, chunks }` |
 * | `["sc", id, k]`    | chunk `k` of the data of snapshot `id`                       |
 * | `["recovering"]`   | `true` while the node recovers from a lost disk              |
 *
 * The log is stored as packed blocks: each `save` writes its entries as one or
 * more blocks, each a contiguous run of entries encoded into one buffer
 * (`kv_block.ts`) and split into parts. Block generations `gen` grow with every
 * block written (the next one is the largest found at open plus one). The log
 * is what replaying the blocks in `gen` order gives, each block truncating the
 * log at its first index and then appending its entries, cut to the bounds of
 * `["log"]`: replacing a conflicting suffix deletes nothing, the newer block
 * supersedes it.
 *
 * Invariants:
 * - A block is normally written whole in one commit, and the commit that writes
 *   its last part also moves `["log"]` over it. Only a block of a single entry
 *   too large for one commit spans several, the bounds moving in the last one.
 *   So an incomplete block on disk is either the newest one, left by an
 *   interrupted write and never part of the log, or garbage.
 * - Every entry of `[first, last]` comes from a complete block. A block that
 *   provides none is garbage, as is everything else not reachable (orphan parts,
 *   chunks of another snapshot); garbage is ignored on load and deleted in
 *   bounded batches, the parts of a block in one commit when they fit.
 *
 * @module
 */

import {
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  UnavailableError,
} from "./errors.ts";
import {
  type BlockHeader,
  cutBlocks,
  decodeBlock,
  encodeBlock,
  readBlockHeader,
} from "./kv_block.ts";
import type { RaftStorage, StorageUpdate } from "./raft_storage.ts";
import { emptyConfState, emptySnapshot, type InitialState, MemoryStorage } from "./storage.ts";
import {
  type ConfState,
  type Entry,
  type HardState,
  hardStateEqual,
  type Snapshot,
} from "./types.ts";

export type { StorageUpdate } from "./raft_storage.ts";

const EMPTY = new Uint8Array(0);

/** Log blocks and snapshot data are stored in parts of at most this many bytes. */
export const CHUNK_BYTES = 60 * 1024;
/**
 * Entries of one save are cut into blocks of at most this many bytes, so that a
 * block fits one commit; a larger entry gets a block of its own.
 */
export const BLOCK_BYTES = 600 * 1024;

/** Mutations per commit (Deno KV allows 1,000), records included. */
const COMMIT_MUTATIONS = 900;
/** Estimated bytes per commit (Deno KV allows 800 KiB of keys and values). */
const COMMIT_BYTES = 700 * 1024;
/** Room kept in every commit for the `hs`, `log` and `snap` records. */
const RECORD_MUTATIONS = 3;
const RECORD_BYTES = 16 * 1024;
/** A generous estimate of an encoded key. */
const KEY_BYTES = 40;

const HS_KEY: Deno.KvKey = ["hs"];
const LOG_KEY: Deno.KvKey = ["log"];
const SNAP_KEY: Deno.KvKey = ["snap"];
const RECOVERING_KEY: Deno.KvKey = ["recovering"];

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

/** The entries `[first, last]` a block holds. */
interface BlockRange {
  first: number;
  last: number;
}

/** A complete block on disk: entries `[first, last]` in `parts` keys `["b", gen, k]`. */
interface BlockRef extends BlockRange {
  gen: number;
  parts: number;
}

/** The part of the log a block provides when blocks are replayed. */
interface Span {
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
export class KvStorage implements RaftStorage {
  readonly #kv: Deno.Kv;
  readonly #mem: MemoryStorage;
  /**
   * The complete blocks on disk that are not queued as garbage, in `gen`
   * order. Invariant: replaying them gives the log `[firstIndex(), lastIndex()]`.
   */
  #blocks: BlockRef[];
  #meta: SnapMeta | undefined;
  #nextGen: number;
  #nextSnapId: number;
  /** Groups of keys that are garbage whatever happens next; a group is deleted in one commit when it fits. */
  #garbage: Deno.KvKey[][] = [];
  #faults: KvStorageOptions["faults"];
  #commits = 0;
  #failed: unknown = undefined;
  #closed = false;
  #recovering: boolean;
  #tail: Promise<unknown> = Promise.resolve();
  /**
   * The data of the current snapshot while it is in memory (`#mem` holds the
   * snapshot's metadata only). Released by {@linkcode releaseSnapshotData},
   * loaded back on demand.
   */
  #snapData: Uint8Array | undefined;
  #snapLoad: Promise<void> | undefined;

  private constructor(kv: Deno.Kv, loaded: Loaded) {
    this.#kv = kv;
    this.#mem = loaded.mem;
    this.#blocks = loaded.blocks;
    this.#meta = loaded.meta;
    this.#nextGen = loaded.maxGen + 1;
    this.#nextSnapId = loaded.maxSnapId + 1;
    this.#garbage = loaded.garbage;
    this.#recovering = loaded.recovering;
    this.#snapData = loaded.snapData;
  }

  /**
   * Opens (or creates) the KV file at `path` and loads the whole log, the
   * snapshot and the hard state into memory. Garbage left by an interrupted
   * write or collection (superseded blocks, incomplete blocks, orphan parts and
   * chunks) is deleted before it returns.
   * @throws {Error} when the file holds keys that are not raft storage, a
   * record is missing or malformed, or an entry of the log is missing.
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

  /**
   * The current snapshot, data included, while its data is in memory: after
   * opening, creating or saving a snapshot, until
   * {@linkcode releaseSnapshotData}. Otherwise it starts loading the data.
   * @throws {SnapshotTemporarilyUnavailableError} while the data is not in
   * memory; a call after the load (see {@linkcode snapshotLoaded}) has it.
   */
  snapshot(): Snapshot {
    const s = this.#mem.snapshot();
    if (s.metadata.index === 0) return s;
    if (this.#snapData) return { metadata: s.metadata, data: this.#snapData };
    this.#loadSnapshotData();
    throw new SnapshotTemporarilyUnavailableError(s.metadata.index);
  }

  /** The current snapshot's index, term and membership (always in memory). */
  snapshotMetadata(): Snapshot["metadata"] {
    return this.#mem.snapshot().metadata;
  }

  /**
   * Drops the current snapshot's data from memory: it is on disk, and only a
   * follower that needs a snapshot asks for it again. A state machine's
   * snapshot is as large as its data, so keeping it would double a node's
   * memory.
   */
  releaseSnapshotData(): void {
    this.#snapData = undefined;
  }

  /** Resolves once a load started by {@linkcode snapshot} has ended (at once when none runs). */
  snapshotLoaded(): Promise<void> {
    return this.#snapLoad ?? Promise.resolve();
  }

  /**
   * Persists one Ready's worth, with {@linkcode MemoryStorage} semantics:
   * `snapshot` replaces the whole log, then `entries` are appended (replacing a
   * conflicting suffix, skipping entries at or before the snapshot), then
   * `hardState` is set. Entries go in blocks of at most {@linkcode BLOCK_BYTES},
   * in as few commits as the Deno KV limits allow; the hard state goes in the
   * last one, so a crash midway leaves an older hard state and a valid prefix of
   * the new log. Memory is updated only once everything is durable. A snapshot
   * also moves the persisted commit index up to the snapshot index (the log
   * below it is gone).
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
   * without them. Blocks entirely below the new first index are deleted; a
   * block holding it stays until a later compaction passes it.
   * @throws {UnavailableError} when `index` is past the last entry.
   * @throws {RangeError} when `index` is past the snapshot index.
   */
  compact(index: number): Promise<void> {
    return this.#exclusive("compact the log", () => this.#compact(index));
  }

  /**
   * Whether the node lost its disk and has not caught up since (see
   * `Config.recovering`). Persisted so that a restart mid-recovery stays cautious.
   */
  recovering(): boolean {
    return this.#recovering;
  }

  /** Persists the recovering flag. */
  setRecovering(on: boolean): Promise<void> {
    return this.#exclusive("record the recovering flag", async () => {
      if (this.#recovering === on) return;
      const op = this.#kv.atomic();
      if (on) op.set(RECOVERING_KEY, true);
      else op.delete(RECOVERING_KEY);
      await this.#commit(op);
      this.#recovering = on;
    });
  }

  /** Closes the KV file. Call it once pending writes have settled; later writes throw. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#kv.close();
  }

  /** Loads the current snapshot's data into memory, once at a time; a failed load is retried by the next call. */
  #loadSnapshotData(): void {
    const meta = this.#meta;
    if (this.#snapLoad || !meta || this.#closed) return;
    this.#snapLoad = (async () => {
      const chunks = new Map<number, Uint8Array>();
      for await (const e of this.#kv.list<Uint8Array>({ prefix: ["sc", meta.id] })) {
        chunks.set(e.key[2] as number, e.value);
      }
      const data = assemble(chunks, meta.chunks, meta.size);
      // A newer snapshot may have replaced this one meanwhile.
      if (data && this.#meta === meta) this.#snapData = data;
    })().catch(() => {}).finally(() => {
      this.#snapLoad = undefined;
    });
  }

  async #save(u: StorageUpdate): Promise<void> {
    const plan = this.#planSave(u);
    const { base, entries } = plan;
    const batch = this.#batch();
    let meta: SnapMeta | undefined;
    if (u.snapshot) {
      meta = await this.#writeSnapshot(batch, u.snapshot);
      batch.record(SNAP_KEY, meta);
      batch.record(LOG_KEY, base);
      batch.record(HS_KEY, { ...(u.hardState ?? this.#mem.hardState()), commit: base.last });
    }
    const written: BlockRef[] = [];
    for (const run of cutBlocks(entries, BLOCK_BYTES)) {
      const block = await this.#writeBlock(batch, run);
      written.push(block);
      // Only now, with every part of the block pending: the bounds never cover an incomplete block.
      batch.record(LOG_KEY, { ...base, last: block.last });
    }
    if (u.hardState) batch.record(HS_KEY, plan.hardState);
    await batch.flush();

    // Durable: now memory. Blocks this save superseded are collected by the next drain.
    if (u.snapshot && meta) {
      this.#mem.applySnapshot({ metadata: u.snapshot.metadata, data: EMPTY });
      this.#snapData = u.snapshot.data;
      this.#retireSnapshot();
      this.#meta = meta;
    }
    this.#mem.append(entries);
    if (!hardStateEqual(plan.hardState, this.#mem.hardState())) {
      this.#mem.setHardState(plan.hardState);
    }
    for (const b of written) this.#blocks.push(b);
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
    const snap = this.#mem.createSnapshot(index, confState, EMPTY);
    this.#snapData = data;
    this.#retireSnapshot();
    this.#meta = meta;
    await this.#drainQuietly();
    return { metadata: snap.metadata, data };
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
    await this.#drainQuietly();
  }

  /** Adds the chunks of `snap`'s data under a fresh id to `batch`; returns the meta to switch to. */
  async #writeSnapshot(batch: Batch, snap: Snapshot): Promise<SnapMeta> {
    const id = this.#nextSnapId++;
    const { data } = snap;
    const chunks = Math.ceil(data.byteLength / CHUNK_BYTES);
    for (let k = 0; k < chunks; k++) {
      const piece = data.subarray(k * CHUNK_BYTES, (k + 1) * CHUNK_BYTES);
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

  /**
   * Adds `run` to `batch` as one block under a fresh generation. Its parts go
   * into one commit, a new one when the pending commit lacks room, unless the
   * block is larger than any commit.
   */
  async #writeBlock(batch: Batch, run: readonly Entry[]): Promise<BlockRef> {
    const gen = this.#nextGen++;
    const parts = encodeBlock(run, CHUNK_BYTES);
    let bytes = 0;
    for (const p of parts) bytes += KEY_BYTES + p.byteLength;
    await batch.makeRoom(parts.length, bytes);
    for (let k = 0; k < parts.length; k++) {
      const part = parts[k]!;
      await batch.set(["b", gen, k], part, KEY_BYTES + part.byteLength);
    }
    return { gen, first: run[0]!.index, last: run[run.length - 1]!.index, parts: parts.length };
  }

  /** Queues the chunks of the current snapshot for deletion. */
  #retireSnapshot(): void {
    const m = this.#meta;
    if (!m) return;
    const keys: Deno.KvKey[] = [];
    for (let k = 0; k < m.chunks; k++) keys.push(["sc", m.id, k]);
    this.#garbage.push(keys);
  }

  /** Moves the blocks that no longer provide any entry of the log to the garbage. */
  #collectBlocks(): void {
    const spans = replaySpans(this.#blocks, this.#mem.firstIndex(), this.#mem.lastIndex());
    const keep: BlockRef[] = [];
    this.#blocks.forEach((b, i) => {
      if (spans[i]) keep.push(b);
      else this.#garbage.push(blockKeys(b.gen, b.parts));
    });
    this.#blocks = keep;
  }

  /** Deletes queued garbage and blocks no longer needed, in bounded batches. */
  async #drain(): Promise<void> {
    this.#collectBlocks();
    const groups = this.#garbage;
    this.#garbage = [];
    const batch = this.#batch();
    for (const keys of groups) await batch.deleteAll(keys);
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
    (await this.#reserve(1, bytes)).op.set(key, value);
  }

  async delete(key: Deno.KvKey): Promise<void> {
    (await this.#reserve(1, KEY_BYTES)).op.delete(key);
  }

  /** Deletes `keys` in one commit when they fit one, else in order over several. */
  async deleteAll(keys: readonly Deno.KvKey[]): Promise<void> {
    await this.makeRoom(keys.length, keys.length * KEY_BYTES);
    for (const key of keys) await this.delete(key);
  }

  /**
   * Commits what is pending when `mutations` more totalling `bytes` would not
   * fit with it but would fit a commit of their own.
   */
  async makeRoom(mutations: number, bytes: number): Promise<void> {
    if (this.#mutations > 0 && !this.#fits(mutations, bytes) && fitsEmpty(mutations, bytes)) {
      await this.flush();
    }
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

  #fits(mutations: number, bytes: number): boolean {
    return fitsEmpty(this.#mutations + mutations, this.#bytes + bytes);
  }

  /** Makes room for more mutations; the op comes wrapped as it is not awaitable. */
  async #reserve(mutations: number, bytes: number): Promise<{ op: Deno.AtomicOperation }> {
    if (!this.#fits(mutations, bytes)) await this.flush();
    this.#op ??= this.#kv.atomic();
    this.#mutations += mutations;
    this.#bytes += bytes;
    return { op: this.#op };
  }
}

/** Whether `mutations` totalling `bytes` fit one commit beside the records. */
function fitsEmpty(mutations: number, bytes: number): boolean {
  return mutations <= COMMIT_MUTATIONS - RECORD_MUTATIONS && bytes <= COMMIT_BYTES - RECORD_BYTES;
}

/** What {@linkcode load} found in a KV file. */
interface Loaded {
  /** Holds the snapshot's metadata only (its data is `snapData`). */
  mem: MemoryStorage;
  snapData: Uint8Array | undefined;
  blocks: BlockRef[];
  meta: SnapMeta | undefined;
  maxGen: number;
  maxSnapId: number;
  garbage: Deno.KvKey[][];
  recovering: boolean;
}

/** A block found on disk by {@linkcode load}; `parts` is undefined when some are missing. */
interface FoundBlock extends BlockRange {
  gen: number;
  /** Whether the block is too large for one commit, so that writing it may have been interrupted. */
  spansCommits: boolean;
  /** The part numbers on disk that belong to the block. */
  present: number[];
  parts: Uint8Array[] | undefined;
}

/** Reads the whole file and rebuilds the storage; everything not reachable is returned as garbage. */
async function load(kv: Deno.Kv, path: string): Promise<Loaded> {
  let hs: HardState | undefined;
  let bounds: LogBounds | undefined;
  let meta: SnapMeta | undefined;
  const blockParts = new Map<number, Map<number, Uint8Array>>();
  const snapChunks = new Map<number, Map<number, Uint8Array>>();
  let maxGen = 0;
  let maxSnapId = 0;
  let recovering = false;
  const corrupt = (what: string, cause?: unknown) =>
    new Error(`Cannot open ${path} as ${what}`, cause === undefined ? undefined : { cause });

  for await (const { key, value } of kv.list({ prefix: [] }, { batchSize: 500 })) {
    const [kind, a, b] = key;
    if (kind === "hs" && key.length === 1 && isHardState(value)) hs = value;
    else if (kind === "log" && key.length === 1 && isLogBounds(value)) bounds = value;
    else if (kind === "snap" && key.length === 1 && isSnapMeta(value)) meta = value;
    else if (kind === "recovering" && key.length === 1 && value === true) recovering = true;
    else if (
      kind === "b" && key.length === 3 && typeof a === "number" && typeof b === "number" &&
      value instanceof Uint8Array
    ) {
      mapOf(blockParts, a).set(b, value);
      maxGen = Math.max(maxGen, a);
    } else if (
      kind === "sc" && key.length === 3 && typeof a === "number" && typeof b === "number" &&
      value instanceof Uint8Array
    ) {
      mapOf(snapChunks, a).set(b, value);
      maxSnapId = Math.max(maxSnapId, a);
    } else if (kind === "e" || kind === "ec") {
      throw corrupt(
        "it holds a log in the one-key-per-entry layout, which this version does not read",
      );
    } else {
      throw corrupt(`key ${JSON.stringify(key.map(String))} is not a raft storage record`);
    }
  }

  const garbage: Deno.KvKey[][] = [];
  let snapshot = emptySnapshot();
  if (meta) {
    const data = assemble(snapChunks.get(meta.id), meta.chunks, meta.size);
    if (!data) throw corrupt(`the data of snapshot ${meta.index} is incomplete`);
    const { index, term, confState } = meta;
    snapshot = { metadata: { index, term, confState }, data };
  }
  for (const [id, chunks] of snapChunks) {
    const keep = id === meta?.id ? meta.chunks : 0;
    const keys: Deno.KvKey[] = [];
    for (const k of chunks.keys()) if (k >= keep) keys.push(["sc", id, k]);
    if (keys.length > 0) garbage.push(keys);
  }

  const snapIndex = snapshot.metadata.index;
  const b = bounds ?? { first: snapIndex + 1, last: snapIndex, prevTerm: snapshot.metadata.term };
  if (b.first - 1 > snapIndex || (meta && snapIndex > b.last)) {
    throw corrupt(`the log [${b.first}, ${b.last}] does not cover snapshot ${snapIndex}`);
  }

  const found = findBlocks(blockParts, garbage, corrupt);
  const { entries, blocks } = replay(found, b, garbage, corrupt);

  let mem: MemoryStorage;
  if (b.first - 1 === snapIndex) {
    mem = new MemoryStorage({ metadata: snapshot.metadata, data: EMPTY });
    mem.append(entries);
  } else {
    // The log starts before the snapshot: rebuild from the log, then record the snapshot.
    mem = new MemoryStorage({
      metadata: { index: b.first - 1, term: b.prevTerm, confState: emptyConfState() },
      data: new Uint8Array(0),
    });
    mem.append(entries);
    mem.createSnapshot(snapIndex, snapshot.metadata.confState, EMPTY);
    if (mem.snapshot().metadata.term !== snapshot.metadata.term) {
      throw corrupt(
        `snapshot ${snapIndex} has term ${snapshot.metadata.term} but the log has another`,
      );
    }
  }
  if (hs) mem.setHardState(hs);
  const snapData = meta ? snapshot.data : undefined;
  return { mem, snapData, blocks, meta, maxGen, maxSnapId, garbage, recovering };
}

/**
 * The blocks in `parts` (by generation, then part number), in `gen` order.
 * Parts without a part 0 and parts outside a block's part count are added to `garbage`.
 */
function findBlocks(
  parts: Map<number, Map<number, Uint8Array>>,
  garbage: Deno.KvKey[][],
  corrupt: (what: string, cause?: unknown) => Error,
): FoundBlock[] {
  const found: FoundBlock[] = [];
  for (const gen of [...parts.keys()].sort(byNumber)) {
    const byPart = parts.get(gen)!;
    const part0 = byPart.get(0);
    if (!part0) {
      garbage.push(blockKeys(gen, [...byPart.keys()]));
      continue;
    }
    let h: BlockHeader;
    try {
      h = readBlockHeader(part0);
    } catch (e) {
      throw corrupt(`the header of block ${gen} is corrupt`, e);
    }
    const belongs = (k: number) => Number.isInteger(k) && k >= 0 && k < h.parts;
    const extra = [...byPart.keys()].filter((k) => !belongs(k));
    if (extra.length > 0) garbage.push(blockKeys(gen, extra));
    const present = [...byPart.keys()].filter(belongs);
    const ordered: Uint8Array[] = [];
    for (let k = 0; k < h.parts; k++) {
      const p = byPart.get(k);
      if (p) ordered.push(p);
    }
    found.push({
      gen,
      first: h.first,
      last: h.first + h.count - 1,
      spansCommits: !fitsEmpty(h.parts, h.size + h.parts * KEY_BYTES),
      present,
      parts: ordered.length === h.parts ? ordered : undefined,
    });
  }
  return found;
}

/**
 * Replays `found` within `bounds`: returns the entries of the log and the
 * blocks that provide them, and adds every other block to `garbage`.
 *
 * An incomplete block that spans commits and is the newest is an interrupted
 * write: it is left out, as the bounds never moved over it. Any other
 * incomplete block was written whole, so it is garbage whose collection was
 * interrupted, or damage: it still truncates the log but provides no entry, so
 * that damage to a block the log needs is reported as a hole instead of older
 * entries showing through.
 */
function replay(
  found: readonly FoundBlock[],
  bounds: LogBounds,
  garbage: Deno.KvKey[][],
  corrupt: (what: string, cause?: unknown) => Error,
): { entries: Entry[]; blocks: BlockRef[] } {
  let replayed = found;
  const newest = found[found.length - 1];
  if (newest && !newest.parts && newest.spansCommits) {
    replayed = found.slice(0, -1);
    garbage.push(blockKeys(newest.gen, newest.present));
  }
  const spans = replaySpans(replayed, bounds.first, bounds.last);
  const entries: Entry[] = [];
  const blocks: BlockRef[] = [];
  let next = bounds.first;
  replayed.forEach((block, i) => {
    const span = spans[i];
    if (!span) {
      garbage.push(blockKeys(block.gen, block.present));
      return;
    }
    if (span.lo !== next) {
      throw corrupt(`entry ${next} is missing from the log [${bounds.first}, ${bounds.last}]`);
    }
    if (!block.parts) {
      throw corrupt(
        `block ${block.gen}, which holds entries [${span.lo}, ${span.hi}] of the log, is missing parts`,
      );
    }
    let decoded: Entry[];
    try {
      decoded = decodeBlock(block.parts);
    } catch (e) {
      throw corrupt(`block ${block.gen} is corrupt`, e);
    }
    for (let j = span.lo; j <= span.hi; j++) entries.push(decoded[j - block.first]!);
    blocks.push({
      gen: block.gen,
      first: block.first,
      last: block.last,
      parts: block.parts.length,
    });
    next = span.hi + 1;
  });
  if (next !== bounds.last + 1) {
    throw corrupt(`entry ${next} is missing from the log [${bounds.first}, ${bounds.last}]`);
  }
  return { entries, blocks };
}

/**
 * What each of `blocks` (in `gen` order) provides of `[first, last]` when they
 * are replayed, each truncating the log at its first index and appending its
 * entries: walking from the newest, a block keeps what is below every newer
 * block's first index. Undefined for a block that provides nothing (garbage).
 */
function replaySpans(
  blocks: readonly BlockRange[],
  first: number,
  last: number,
): (Span | undefined)[] {
  const spans: (Span | undefined)[] = new Array(blocks.length);
  let limit = last + 1;
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i]!;
    const lo = Math.max(b.first, first);
    const hi = Math.min(b.last, limit - 1);
    spans[i] = lo <= hi ? { lo, hi } : undefined;
    limit = Math.min(limit, b.first);
  }
  return spans;
}

/** The keys of parts `ks` (or `0 .. ks-1`) of block `gen`, highest first, so that part 0 goes last. */
function blockKeys(gen: number, ks: number | readonly number[]): Deno.KvKey[] {
  const list = typeof ks === "number" ? Array.from({ length: ks }, (_, k) => k) : [...ks];
  return list.sort(byNumber).reverse().map((k) => ["b", gen, k]);
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

function mapOf<K, V>(outer: Map<K, Map<number, V>>, key: K): Map<number, V> {
  let inner = outer.get(key);
  if (!inner) outer.set(key, inner = new Map());
  return inner;
}

function byNumber(a: number, b: number): number {
  return a - b;
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

function noop(): void {}
