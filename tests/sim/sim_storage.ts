/**
 * A simulated disk for one node. {@linkcode SimDisk} is what survives a
 * crash: a MemoryStorage of exactly what was durably written, and the
 * recovering flag. A node process opens it as a {@linkcode SimDiskHandle},
 * the {@linkcode RaftStorage} the real driver runs on: each write completes
 * after a latency in simulated ms, writes complete in the order issued, reads
 * answer from what is durable, and a crash loses every write not yet
 * complete (the one in progress may leave a prefix of its entries, never the
 * hard state written with them). Nothing is written that the driver does not
 * ask for, so a hard state the driver defers (a change of the commit index
 * alone) is lost by a crash, as on a real disk.
 *
 * @module
 */

import type { SeededPrng } from "../../shared/prng.ts";
import {
  SnapshotOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  UnavailableError,
} from "../../shared/raft/errors.ts";
import type { RaftStorage, StorageUpdate } from "../../shared/raft/raft_storage.ts";
import { type InitialState, MemoryStorage } from "../../shared/raft/storage.ts";
import type { ConfState, Entry, HardState, Snapshot } from "../../shared/raft/types.ts";
import type { Owner, SimScheduler } from "./sim_clock.ts";

/** Disk behaviour of a swarm. */
export interface DiskOptions {
  /** Minimum ms for a synced write. */
  minLatency: number;
  /** Maximum ms for a synced write. */
  maxLatency: number;
  /** Probability that a crash during a write leaves a prefix of its entries on disk. */
  tornWriteRate: number;
}

/** A disk that writes instantly and never tears. */
export const INSTANT_DISK: DiskOptions = { minLatency: 0, maxLatency: 0, tornWriteRate: 0 };

/**
 * Makes the storage sometimes answer `snapshot()` with "being loaded" even
 * when the data is in memory (beyond the load after each release).
 */
export interface LateSnapshots {
  prng: SeededPrng;
  /** Probability that one call is answered that way. */
  rate: number;
  /** Called for each such answer. */
  onDefer(): void;
}

/** A write issued and not yet complete (`update` for a save, to tear it on a crash). */
interface PendingWrite {
  update?: StorageUpdate;
  done: boolean;
}

/** The durable state of one node. */
export class SimDisk {
  /** Exactly what was durably written. */
  durable: MemoryStorage;
  /** Persisted flag: the node lost its disk and has not caught up since. */
  recovering = false;
  readonly #prng: SeededPrng;
  readonly #opts: DiskOptions;
  #handle: SimDiskHandle | undefined;
  /** Writes that completed (for run summaries). */
  writes = 0;
  /** Writes lost to crashes, and how many of them left a torn prefix. */
  readonly losses = { lost: 0, torn: 0 };

  constructor(prng: SeededPrng, opts: DiskOptions, storage = new MemoryStorage()) {
    this.#prng = prng;
    this.#opts = opts;
    this.durable = storage;
  }

  /** A write latency in ms drawn from the disk's options. */
  latency(): number {
    const { minLatency, maxLatency } = this.#opts;
    return minLatency +
      (maxLatency > minLatency ? this.#prng.intn(maxLatency - minLatency + 1) : 0);
  }

  /** Opens the disk for a new process (the previous one must have crashed or stopped). */
  open(sched: SimScheduler, owner: Owner, late?: LateSnapshots): SimDiskHandle {
    this.#handle = new SimDiskHandle(this, sched, owner, late);
    return this.#handle;
  }

  /**
   * The process died: every write not yet complete is lost, except that the
   * one in progress may leave a prefix of its entries (never its hard state).
   */
  crash(): void {
    const h = this.#handle;
    this.#handle = undefined;
    if (!h) return;
    const pending = h.pendingWrites();
    this.losses.lost += pending.length;
    const first = pending[0]?.update;
    if (
      first && !first.snapshot && first.entries.length >= 2 &&
      this.#prng.chance(this.#opts.tornWriteRate)
    ) {
      this.losses.torn++;
      const keep = 1 + this.#prng.intn(first.entries.length - 1);
      this.durable.append(first.entries.slice(0, keep));
    }
  }

  /** Loses everything, as when a node comes back on a new, empty volume. */
  wipe(): void {
    this.durable = new MemoryStorage();
    this.recovering = false;
  }
}

/** One process's view of a {@linkcode SimDisk}: the driver's storage. */
export class SimDiskHandle implements RaftStorage {
  readonly disk: SimDisk;
  readonly #sched: SimScheduler;
  readonly #owner: Owner;
  readonly #late: LateSnapshots | undefined;
  /** Writes issued and not yet complete, oldest first. */
  #queue: PendingWrite[] = [];
  /** When the last issued write completes. */
  #busyUntil = 0;
  /** Whether the current snapshot's data is in memory (as KvStorage after open or a write). */
  #snapLoaded = true;
  #loading = false;
  /** Whether the driver released the data once (it reads it at open). */
  #released = false;
  #closed = false;

  constructor(disk: SimDisk, sched: SimScheduler, owner: Owner, late?: LateSnapshots) {
    this.disk = disk;
    this.#sched = sched;
    this.#owner = owner;
    this.#late = late;
  }

  /** Writes issued by this process and not yet durable. */
  pendingWrites(): readonly PendingWrite[] {
    return this.#queue;
  }

  // ---- reads: what is durable ---------------------------------------------

  initialState(): InitialState {
    return this.disk.durable.initialState();
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.disk.durable.entries(lo, hi, maxBytes);
  }
  term(index: number): number {
    return this.disk.durable.term(index);
  }
  firstIndex(): number {
    return this.disk.durable.firstIndex();
  }
  lastIndex(): number {
    return this.disk.durable.lastIndex();
  }
  isEmpty(): boolean {
    return this.disk.durable.isEmpty();
  }
  hardState(): HardState {
    return this.disk.durable.hardState();
  }
  snapshotMetadata(): Snapshot["metadata"] {
    return this.disk.durable.snapshot().metadata;
  }
  recovering(): boolean {
    return this.disk.recovering;
  }

  /**
   * The current snapshot while its data is in memory; otherwise starts loading
   * it (one disk latency) and throws "being loaded", as KvStorage does.
   */
  snapshot(): Snapshot {
    const snap = this.disk.durable.snapshot();
    if (snap.metadata.index === 0) return snap;
    if (!this.#snapLoaded) {
      if (!this.#loading) {
        this.#loading = true;
        this.#sched.at(this.#sched.now + this.disk.latency(), this.#owner, () => {
          this.#loading = false;
          this.#snapLoaded = true;
        });
      }
      throw new SnapshotTemporarilyUnavailableError(snap.metadata.index);
    }
    // (Not at open: KvStorage has the data in memory until the driver releases it.)
    if (this.#released && this.#late && this.#late.prng.chance(this.#late.rate)) {
      this.#late.onDefer();
      throw new SnapshotTemporarilyUnavailableError(snap.metadata.index);
    }
    return snap;
  }

  releaseSnapshotData(): void {
    this.#snapLoaded = false;
    this.#released = true;
  }

  // ---- writes: durable after a latency, in order ----------------------------

  /** KvStorage semantics: snapshot (moving the commit up to it), entries, hard state. */
  save(u: StorageUpdate): Promise<void> {
    const entries = [...u.entries];
    const update: StorageUpdate = { hardState: u.hardState, entries, snapshot: u.snapshot };
    return this.#write(update, () => {
      const st = this.disk.durable;
      if (update.snapshot) {
        st.applySnapshot(update.snapshot);
        const hs = st.hardState();
        if (hs.commit < update.snapshot.metadata.index) {
          st.setHardState({ ...hs, commit: update.snapshot.metadata.index });
        }
        this.#snapLoaded = true;
      }
      st.append(entries);
      if (update.hardState) st.setHardState(update.hardState);
      const hs = st.hardState();
      if (hs.commit > st.lastIndex()) {
        throw new RangeError(
          `Cannot save a commit index of ${hs.commit} as the log ends at ${st.lastIndex()}`,
        );
      }
    });
  }

  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    let snap: Snapshot | undefined;
    return this.#write(undefined, () => {
      const st = this.disk.durable;
      if (index <= st.snapshot().metadata.index) {
        throw new SnapshotOutOfDateError(index, st.snapshot().metadata.index);
      }
      if (index > st.lastIndex()) throw new UnavailableError(index, st.lastIndex());
      if (index > st.hardState().commit) {
        throw new RangeError(
          `Cannot snapshot at ${index} as the persisted commit index is ${st.hardState().commit}`,
        );
      }
      snap = st.createSnapshot(index, confState, data);
      this.#snapLoaded = true;
    }).then(() => snap!);
  }

  compact(index: number): Promise<void> {
    return this.#write(undefined, () => {
      const st = this.disk.durable;
      const snapIndex = st.snapshot().metadata.index;
      if (index > st.lastIndex()) throw new UnavailableError(index, st.lastIndex());
      if (index > snapIndex) {
        throw new RangeError(`Cannot compact to ${index} as the snapshot is at ${snapIndex}`);
      }
      st.compact(index);
    });
  }

  setRecovering(on: boolean): Promise<void> {
    return this.#write(undefined, () => {
      this.disk.recovering = on;
    });
  }

  close(): void {
    this.#closed = true;
  }

  /**
   * Issues a write that completes after one latency, after every earlier one.
   * The promise never settles when the process crashes first.
   */
  #write(update: StorageUpdate | undefined, apply: () => void): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Error("Cannot write as the simulated disk is closed"));
    }
    const w: PendingWrite = { update, done: false };
    this.#queue.push(w);
    const at = Math.max(this.#sched.now, this.#busyUntil) + this.disk.latency();
    this.#busyUntil = at;
    return new Promise((resolve, reject) => {
      this.#sched.at(at, this.#owner, () => {
        this.#queue.shift();
        w.done = true;
        try {
          apply();
          this.disk.writes++;
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });
  }
}
