/**
 * {@linkcode RaftStorage}: what the driver ({@linkcode RaftNode}) needs of
 * durable storage. {@linkcode KvStorage} implements it on Deno KV, and the
 * simulator's disk implements it on simulated time, so the real driver runs
 * in both.
 *
 * @module
 */

import type { Storage } from "./storage.ts";
import type { ConfState, Entry, HardState, Snapshot } from "./types.ts";

/** What one Ready asks to persist, applied in this order: snapshot, entries, hard state. */
export interface StorageUpdate {
  /** The new hard state, when it changed. */
  hardState?: HardState;
  /** Entries to append, contiguous; a conflicting suffix of the log is replaced. */
  entries: Entry[];
  /** A snapshot received from the leader; it replaces the whole log. */
  snapshot?: Snapshot;
}

/**
 * Durable raft storage as the driver uses it. The read-only {@linkcode Storage}
 * methods answer from what is durable (memory is updated only once a write is);
 * the writes below are serialized by the implementation, and each promise
 * resolves only once its write is durable: a crash before that may lose it (or
 * keep a prefix of its entries, but never a hard state without the entries
 * written with it).
 */
export interface RaftStorage extends Storage {
  /** Whether nothing was ever written (a new or wiped disk). */
  isEmpty(): boolean;
  /** The persisted hard state. */
  hardState(): HardState;
  /** The current snapshot's index, term and membership (always available, unlike its data). */
  snapshotMetadata(): Snapshot["metadata"];
  /** Lets the current snapshot's data leave memory; `snapshot()` loads it again when asked. */
  releaseSnapshotData(): void;
  /** Persists one Ready's worth (snapshot, then entries, then hard state). */
  save(u: StorageUpdate): Promise<void>;
  /** Persists a snapshot of the state machine at the committed `index`; the log is kept. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot>;
  /** Drops the log up to and including `index` (at most the snapshot index). */
  compact(index: number): Promise<void>;
  /** Whether the node lost its disk and has not caught up since (persisted). */
  recovering(): boolean;
  /** Persists the recovering flag. */
  setRecovering(on: boolean): Promise<void>;
  /** Releases the storage once pending writes have settled; later writes throw. */
  close(): void;
}
