/**
 * A simulated disk for one node. Its MemoryStorage holds only what has been
 * persisted; a write completes after a latency counted in ms, and a crash
 * loses the writes still in progress (or, when torn, keeps a prefix of
 * their entries but never the hard state that goes with them).
 *
 * @module
 */

import type { SeededPrng } from "../../shared/prng.ts";
import type { Ready } from "../../shared/raft/raw_node.ts";
import { MemoryStorage } from "../../shared/raft/storage.ts";

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

/** The durable state of one node. */
export class SimDisk {
  storage: MemoryStorage;
  /** Persisted flag: the node lost its disk and has not caught up since. */
  recovering = false;
  readonly #prng: SeededPrng;
  readonly #opts: DiskOptions;

  constructor(prng: SeededPrng, opts: DiskOptions, storage: MemoryStorage) {
    this.#prng = prng;
    this.#opts = opts;
    this.storage = storage;
  }

  /** How long the write of `rd` takes, in ms (0 when nothing needs a sync). */
  latency(rd: Ready): number {
    if (!rd.mustSync && rd.hardState === undefined) return 0;
    const { minLatency, maxLatency } = this.#opts;
    return minLatency +
      (maxLatency > minLatency ? this.#prng.intn(maxLatency - minLatency + 1) : 0);
  }

  /** Makes `rd` durable: snapshot, then entries (replacing a conflicting suffix), then hard state. */
  persist(rd: Ready): void {
    if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
  }

  /** A crash while `pending` was being written: maybe a prefix of its entries survives. */
  crash(pending: Ready | undefined): void {
    if (!pending || pending.snapshot || pending.entries.length < 2) return;
    if (!this.#prng.chance(this.#opts.tornWriteRate)) return;
    const keep = 1 + this.#prng.intn(pending.entries.length - 1);
    this.storage.append(pending.entries.slice(0, keep));
  }

  /** Loses everything, as when a node comes back on a new, empty volume. */
  wipe(): void {
    this.storage = new MemoryStorage();
    this.recovering = true;
  }
}
