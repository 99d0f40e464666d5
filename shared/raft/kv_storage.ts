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
import { cutBlocks, encodeBlock } from "./kv_block.ts";
import type { RaftStorage, StorageUpdate } from "./raft_storage.ts";
import { type InitialState, MemoryStorage } from "./storage.ts";
import {
  type ConfState,
  type Entry,
  type HardState,
  hardStateEqual,
  type Snapshot,
} from "./types.ts";
import {
  assemble,
  BLOCK_BYTES,
  blockKeys,
  type BlockRef,
  CHUNK_BYTES,
  HS_KEY,
  isZero,
  KEY_BYTES,
  LOG_KEY,
  type LogBounds,
  RECOVERING_KEY,
  SNAP_KEY,
  type SnapMeta,
} from "./kv_layout.ts";
import { Batch } from "./kv_batch.ts";
import { load, type Loaded, replaySpans } from "./kv_recovery.ts";

export type { StorageUpdate } from "./raft_storage.ts";
export { BLOCK_BYTES, CHUNK_BYTES } from "./kv_layout.ts";

const EMPTY = new Uint8Array(0);

/** Options of {@linkcode KvStorage.open}. */
export interface KvStorageOptions {
  /**
   * Test hook: with `failAfterCommits: n`, the first `n` commits made after
   * `open` returns succeed and every later one throws without writing, as if
   * the process had crashed there.
   */
  faults?: { failAfterCommits?: number };
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

function noop(): void {}
