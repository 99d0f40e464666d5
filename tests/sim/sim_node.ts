/**
 * One simulated node: the real driver ({@linkcode RaftNode}) on a simulated
 * clock, disk and network, with the simulation's state machine. Each start
 * is a new process (an incarnation): a crash kills its timers and its
 * in-flight writes, and it never hears from the network again.
 *
 * @module
 */

import type { SeededPrng } from "../../shared/prng.ts";
import { decodeConfChange } from "../../shared/raft/conf_change.ts";
import type { RaftNode, RaftNodeOptions, StateMachine } from "../../shared/raft/node.ts";
import type { Config, Raft } from "../../shared/raft/raft.ts";
import type { RaftFactory } from "../../shared/raft/raw_node.ts";
import type { Transport, TransportHandlers } from "../../shared/raft/transport.ts";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  type Snapshot,
  StateType,
} from "../../shared/raft/types.ts";
import { NodeClock, type Owner, type SimScheduler } from "./sim_clock.ts";
import type { LateSnapshots, SimDisk, SimDiskHandle } from "./sim_storage.ts";
import { KvStateMachine, type WriteOp } from "./state_machine.ts";

/** The driver and core classes a run uses: the real ones, or a broken variant's copies. */
export interface DriverImpl {
  RaftNode: typeof RaftNode;
  Raft: typeof Raft;
}

/** What a node reports to the cluster as the driver runs. */
export interface NodeEvents {
  /** The driver hands `m` to the transport. */
  send(node: SimNode, m: Message): void;
  /** The state machine applied `e` (a write's `op`, and where it first applied). */
  applied(node: SimNode, e: Entry, op: WriteOp | undefined, firstIndex: number): void;
  /** The state machine was replaced by a snapshot at `index`. */
  restored(node: SimNode, index: number): void;
  /** The node's view of the leader changed. */
  leaderChange(node: SimNode, lead: number, term: number): void;
  /** The driver's loop stopped with an error. */
  fatal(node: SimNode, e: unknown): void;
}

/** How every node of a cluster runs. */
export interface NodeEnv {
  sched: SimScheduler;
  impl: DriverImpl;
  events: NodeEvents;
  /** Raft settings; id, storage and prng are set by the driver. */
  raft: RaftNodeOptions["raft"];
  tickMs: number;
  snapshotEvery: number;
  keepEntries: number;
  /** The driver's deadline for proposals and reads, in simulated ms. */
  timeoutMs: number;
  logger?: (line: string) => void;
}

/** One node of the simulated cluster. */
export class SimNode {
  readonly id: number;
  readonly disk: SimDisk;
  /** The running driver; undefined while down or starting. */
  raft: RaftNode | undefined;
  /** The core of the current process (known from its construction, before start resolves). */
  core: Raft | undefined;
  /** The state machine of the current process. */
  sm = new KvStateMachine();
  /** Starts so far; a promise of an earlier process is stale. */
  incarnation = 0;
  /** The tick phase (ms offset) so nodes do not tick in lockstep. */
  readonly tickPhase: number;
  #owner: Owner | undefined;
  #handlers: TransportHandlers | undefined;
  #handle: SimDiskHandle | undefined;

  constructor(id: number, disk: SimDisk, tickPhase: number) {
    this.id = id;
    this.disk = disk;
    this.tickPhase = tickPhase;
  }

  /** Whether a process runs (started, or starting). */
  get alive(): boolean {
    return this.#owner !== undefined;
  }

  /** Whether the driver runs and takes requests. */
  get up(): boolean {
    return this.raft !== undefined;
  }

  /** Whether the node leads, as far as it knows. */
  isLeader(): boolean {
    return this.up && this.core?.state === StateType.Leader;
  }

  /** The disk as the current process sees it. */
  get handle(): SimDiskHandle | undefined {
    return this.#handle;
  }

  /**
   * Starts a process on the disk: the driver bootstraps `bootstrap` on an
   * empty disk, or recovers. The driver is `up` once its start resolves.
   */
  start(
    env: NodeEnv,
    prng: SeededPrng,
    opts: { bootstrap?: number[]; factory?: RaftFactory; late?: LateSnapshots } = {},
  ): void {
    if (this.#owner) throw new Error(`Cannot start node ${this.id} as it is running`);
    const owner: Owner = { dead: false };
    this.#owner = owner;
    this.incarnation++;
    this.core = undefined;
    this.sm = new KvStateMachine();
    const handle = this.disk.open(env.sched, owner, opts.late);
    this.#handle = handle;
    const inner = opts.factory;
    const factory: RaftFactory = (c: Config) => {
      const r = inner ? inner(c) : new env.impl.Raft(c);
      if (!owner.dead) this.core = r;
      return r;
    };
    env.impl.RaftNode.start({
      id: this.id,
      storage: handle,
      transport: this.#transport(env, owner),
      stateMachine: this.#stateMachine(env, owner),
      clock: new NodeClock(env.sched, owner, this.tickPhase),
      bootstrap: opts.bootstrap,
      tickMs: env.tickMs,
      raft: env.raft,
      snapshotEvery: env.snapshotEvery,
      keepEntries: env.keepEntries,
      timeoutMs: env.timeoutMs,
      seed: prng.next32(),
      factory,
      logger: env.logger ? (line) => env.logger!(`${this.id}: ${line}`) : undefined,
    }).then(
      (node) => {
        if (owner.dead) return;
        this.raft = node;
        node.done().catch((e) => {
          if (!owner.dead) env.events.fatal(this, e);
        });
      },
      (e) => {
        if (!owner.dead) env.events.fatal(this, e);
      },
    );
  }

  /** Kills the process: its timers stop, its writes in flight are lost or torn. */
  crash(): void {
    if (!this.#owner) return;
    this.#owner.dead = true;
    this.#owner = undefined;
    this.disk.crash();
    this.raft = undefined;
    this.core = undefined;
    this.#handlers = undefined;
    this.#handle = undefined;
  }

  /** Delivers a message from the network (dropped unless the process listens). */
  deliver(m: Message): void {
    this.#handlers?.message(m);
  }

  #transport(env: NodeEnv, owner: Owner): Transport {
    return {
      start: (handlers) => {
        if (!owner.dead) this.#handlers = handlers;
      },
      send: (messages) => {
        if (owner.dead) return;
        for (const m of messages) env.events.send(this, m);
      },
      setPeer: () => {},
      close: () => {
        if (!owner.dead) this.#handlers = undefined;
        return Promise.resolve();
      },
    };
  }

  #stateMachine(env: NodeEnv, owner: Owner): StateMachine {
    const ev = env.events;
    const applyOne = (e: Entry) => {
      const { op, firstIndex } = this.sm.apply(e);
      ev.applied(this, e, op, firstIndex);
    };
    return {
      apply: (entries: Entry[]) => {
        if (owner.dead) return;
        for (const e of entries) applyOne(e);
      },
      snapshot: () => this.sm.snapshot(),
      restore: (snap: Snapshot) => {
        if (owner.dead) return;
        this.sm = KvStateMachine.restore(snap.data);
        ev.restored(this, snap.metadata.index);
      },
      onConfChange: (_cc: ConfChange, _cs: ConfState, index: number) => {
        if (owner.dead) return;
        // The driver hands membership changes over without their entry: take
        // it from the core's log (it was just committed there).
        const [e] = this.core!.raftLog.slice(index, index + 1, Number.MAX_SAFE_INTEGER);
        if (!e || e.type !== EntryType.ConfChange) {
          throw new Error(`Cannot find the membership change at ${index} on node ${this.id}`);
        }
        decodeConfChange(e.data);
        applyOne(e);
      },
      onLeaderChange: (lead: number, term: number) => {
        if (!owner.dead) ev.leaderChange(this, lead, term);
      },
    };
  }
}
