/**
 * One simulated node: a RawNode, its disk, its state machine, and the Ready
 * in progress. Follows the Ready contract: persist (after the disk's
 * latency), then send, then apply, then advance.
 *
 * @module
 */

import type { SeededPrng } from "../../shared/prng.ts";
import { SnapshotTemporarilyUnavailableError } from "../../shared/raft/errors.ts";
import type { Config } from "../../shared/raft/raft.ts";
import { type RaftFactory, RawNode, type Ready } from "../../shared/raft/raw_node.ts";
import type { Storage } from "../../shared/raft/storage.ts";
import {
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  type ReadState,
  StateType,
} from "../../shared/raft/types.ts";
import type { SimDisk } from "./sim_storage.ts";
import { KvStateMachine, type WriteOp } from "./state_machine.ts";

/**
 * Makes the storage sometimes answer `snapshot()` with "being loaded", as
 * KvStorage does once a snapshot's data has left memory.
 */
export interface LateSnapshots {
  prng: SeededPrng;
  /** Probability that one call is answered that way. */
  rate: number;
  /** Called for each such answer. */
  onDefer(): void;
}

/** What a node reports to the cluster while it processes a Ready. */
export interface NodeEvents {
  send(m: Message): void;
  applied(node: SimNode, e: Entry, op: WriteOp | undefined, firstIndex: number): void;
  restored(node: SimNode, index: number): void;
  readState(node: SimNode, rs: ReadState): void;
  becameLeader(node: SimNode): void;
}

/** One node of the simulated cluster. */
export class SimNode {
  readonly id: number;
  readonly disk: SimDisk;
  /** The running core; undefined while the node is down. */
  rn: RawNode | undefined;
  sm = new KvStateMachine();
  confState: ConfState = { voters: [], learners: [] };
  /** The Ready being written and when the write completes. */
  inflight: { rd: Ready; doneAt: number } | undefined;
  /** Applied entries since the last snapshot. */
  sinceSnapshot = 0;
  /** The tick phase (ms offset) so nodes do not tick in lockstep. */
  readonly tickPhase: number;
  incarnation = 0;

  constructor(id: number, disk: SimDisk, tickPhase: number) {
    this.id = id;
    this.disk = disk;
    this.tickPhase = tickPhase;
  }

  get up(): boolean {
    return this.rn !== undefined;
  }

  /** Starts (or restarts) the node from what is on its disk. */
  start(
    config: Omit<Config, "id" | "storage" | "prng">,
    prng: SeededPrng,
    factory?: RaftFactory,
    lateSnapshots?: LateSnapshots,
  ): void {
    const snap = this.disk.storage.snapshot();
    this.sm = KvStateMachine.restore(snap.data);
    this.confState = structuredClone(snap.metadata.confState);
    this.sinceSnapshot = 0;
    this.inflight = undefined;
    this.incarnation++;
    this.rn = new RawNode({
      ...config,
      id: this.id,
      storage: lateSnapshots ? this.#lateSnapshotStorage(lateSnapshots) : this.disk.storage,
      prng,
      applied: snap.metadata.index,
      recovering: this.disk.recovering,
    }, factory);
  }

  /** The disk's storage, except that `snapshot()` is sometimes not ready yet. */
  #lateSnapshotStorage(late: LateSnapshots): Storage {
    const disk = this.disk;
    return {
      initialState: () => disk.storage.initialState(),
      entries: (lo, hi, maxBytes) => disk.storage.entries(lo, hi, maxBytes),
      term: (index) => disk.storage.term(index),
      firstIndex: () => disk.storage.firstIndex(),
      lastIndex: () => disk.storage.lastIndex(),
      snapshot: () => {
        const snap = disk.storage.snapshot();
        if (snap.metadata.index > 0 && late.prng.chance(late.rate)) {
          late.onDefer();
          throw new SnapshotTemporarilyUnavailableError(snap.metadata.index);
        }
        return snap;
      },
    };
  }

  /** Stops the node; a write in progress is lost or torn. */
  crash(): void {
    this.disk.crash(this.inflight?.rd);
    this.rn = undefined;
    this.inflight = undefined;
  }

  /** Whether the node leads, as far as it knows. */
  isLeader(): boolean {
    return this.rn?.raft.state === StateType.Leader;
  }

  /**
   * Drives the Ready loop at time `now`: completes a finished write, then
   * starts the next one. Returns true when something happened.
   */
  process(now: number, ev: NodeEvents, snapshotEvery: number, keepEntries: number): boolean {
    const rn = this.rn;
    if (!rn) return false;
    let busy = false;
    for (;;) {
      if (this.inflight) {
        if (this.inflight.doneAt > now) return busy;
        const { rd } = this.inflight;
        this.inflight = undefined;
        this.#complete(rn, rd, ev);
        busy = true;
        if (this.rn !== rn) return true; // a callback crashed us
        this.#maybeSnapshot(snapshotEvery, keepEntries);
      }
      if (!rn.hasReady()) return busy;
      const rd = rn.ready();
      for (const m of rd.earlyMessages) ev.send(m);
      this.inflight = { rd, doneAt: now + this.disk.latency(rd) };
      busy = true;
    }
  }

  #complete(rn: RawNode, rd: Ready, ev: NodeEvents): void {
    const wasLeader = rd.softState !== undefined && rd.softState.raftState === StateType.Leader;
    this.disk.persist(rd);
    if (!rn.raft.recovering) this.disk.recovering = false;
    for (const m of rd.messages) ev.send(m);
    if (rd.snapshot) {
      this.sm = KvStateMachine.restore(rd.snapshot.data);
      this.confState = structuredClone(rd.snapshot.metadata.confState);
      this.sinceSnapshot = 0;
      ev.restored(this, rd.snapshot.metadata.index);
    }
    for (const e of rd.committedEntries) {
      const { op, firstIndex } = this.sm.apply(e);
      this.sinceSnapshot++;
      if (e.type === EntryType.ConfChange) {
        this.confState = rn.applyConfChange(RawNode.decodeConfChange(e.data));
      }
      ev.applied(this, e, op, firstIndex);
    }
    for (const rs of rd.readStates) ev.readState(this, rs);
    rn.advance(rd);
    if (wasLeader) ev.becameLeader(this);
  }

  #maybeSnapshot(every: number, keep: number): void {
    if (every <= 0 || this.sinceSnapshot < every || this.inflight) return;
    const st = this.disk.storage;
    const index = this.sm.appliedIndex;
    if (index <= st.snapshot().metadata.index || index > st.lastIndex()) return;
    st.createSnapshot(index, this.confState, this.sm.snapshot());
    if (index - keep > st.firstIndex()) st.compact(index - keep);
    this.sinceSnapshot = 0;
  }
}
