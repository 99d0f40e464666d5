/**
 * SimCluster runs the real raft driver ({@linkcode RaftNode}) on simulated
 * nodes, network, disks and time, one millisecond at a time, from one seed.
 * Every source of nondeterminism is the simulation's: the clock and timers
 * ({@linkcode SimScheduler}), message delivery ({@linkcode SimNetwork}), disk
 * writes ({@linkcode SimDisk}), and the order of the driver's promise
 * continuations (drained to completion after each batch of events, always in
 * the same order). It offers the fault operations (crash, restart, wipe,
 * partitions) and runs the checkers after every step. Both the random swarm
 * and the scripted scenarios use it.
 *
 * @module
 */

import { SeededPrng } from "../../shared/prng.ts";
import { ProposalDroppedError } from "../../shared/raft/errors.ts";
import type { RaftLog } from "../../shared/raft/log.ts";
import { RaftNode } from "../../shared/raft/node.ts";
import { type Config, Raft } from "../../shared/raft/raft.ts";
import type { RaftFactory } from "../../shared/raft/raw_node.ts";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  StateType,
} from "../../shared/raft/types.ts";
import {
  checkCommittedPrefix,
  Checker,
  checkLogMatching,
  checkOwnMatch,
  checkPendingConfChanges,
  checkSentDurable,
  OutcomeChecker,
  SafetyViolation,
} from "./checkers.ts";
import { Drainer, SimScheduler } from "./sim_clock.ts";
import { type NetworkOptions, PERFECT_NETWORK, SimNetwork } from "./sim_network.ts";
import { type DriverImpl, type NodeEnv, SimNode } from "./sim_node.ts";
import { type DiskOptions, INSTANT_DISK, type LateSnapshots, SimDisk } from "./sim_storage.ts";
import { decodeWrite, type WriteOp } from "./state_machine.ts";
import { Workload, type WorkloadOptions } from "./workload.ts";

/** The real driver and core. */
export const REAL_DRIVER: DriverImpl = { RaftNode, Raft };

/** Everything that shapes one simulated run. */
export interface SimOptions {
  seed: number;
  /** Founding voters. */
  voters: number[];
  network?: NetworkOptions;
  disk?: DiskOptions;
  /** Raft settings (ticks, sizes); id, storage and prng are set per node. */
  raft?: Partial<Omit<Config, "id" | "storage" | "prng" | "applied">>;
  /** Milliseconds per raft tick. */
  tickMs?: number;
  /** Whether nodes tick at all (scripted scenarios may drive elections by hand). */
  ticking?: boolean;
  /** Applied entries between state-machine snapshots (0 = never). */
  snapshotEvery?: number;
  /** Entries kept in the log behind a snapshot. */
  keepEntries?: number;
  /** The driver's deadline for proposals and reads, in simulated ms (default 1000). */
  timeoutMs?: number;
  workload?: WorkloadOptions;
  /** The core for a node (tests swap in broken ones). */
  factory?: (id: number) => RaftFactory | undefined;
  /** The driver and core classes (default the real ones; broken variants swap in copies). */
  impl?: DriverImpl;
  /** Prints the trace as it happens. */
  verbose?: boolean;
  /** Records the whole trace (for replay digests), not only its last lines. */
  keepTrace?: boolean;
  /** Run the log checks every this many ms. */
  logCheckEvery?: number;
  /**
   * Probability that a node's storage answers a request for its snapshot
   * with "being loaded" even when its data is in memory (0 by default).
   */
  lateSnapshotRate?: number;
}

/** A simulated cluster. */
export class SimCluster {
  readonly opts: SimOptions;
  readonly prng: SeededPrng;
  readonly sched = new SimScheduler();
  readonly net: SimNetwork;
  readonly checker = new Checker();
  readonly outcomes = new OutcomeChecker();
  readonly nodes = new Map<number, SimNode>();
  readonly workload: Workload | undefined;
  /** Counts of fault and membership events, for run summaries. */
  readonly events = {
    crashes: 0,
    wipes: 0,
    restores: 0,
    confChanges: 0,
    leaderChanges: 0,
    lateSnapshots: 0,
    steered: 0,
  };
  /** Lines of the event trace, kept for failure reports. */
  readonly trace: string[] = [];
  /** attempt → the driver's verdict on a write proposed with {@linkcode propose}. */
  readonly verdicts = new Map<string, string>();
  /** Called when a node becomes leader (the swarm steers reads and faults at it). */
  onLeaderElected: ((n: SimNode) => void) | undefined;
  readonly #env: NodeEnv;
  readonly #diskOpts: DiskOptions;
  readonly #drainer = new Drainer();
  /** The first violation or driver failure found inside a promise continuation. */
  #failure: unknown;
  /** node → index up to which its committed log was checked against applied entries. */
  readonly #verified = new Map<number, number>();
  /** node → the highest applied index it ever reached and its membership then. */
  readonly #members = new Map<number, { applied: number; conf: ConfState }>();

  constructor(opts: SimOptions) {
    this.opts = opts;
    this.prng = new SeededPrng(opts.seed);
    this.net = new SimNetwork(this.prng.fork(), opts.network ?? PERFECT_NETWORK);
    this.#diskOpts = opts.disk ?? INSTANT_DISK;
    const tickMs = opts.tickMs ?? 10;
    this.#env = {
      sched: this.sched,
      impl: opts.impl ?? REAL_DRIVER,
      events: this.#events(),
      raft: {
        electionTick: 10,
        heartbeatTick: 1,
        maxSizePerMsg: 4096,
        maxInflightMsgs: 64,
        snapshotChunkBytes: 256,
        snapshotChunkWindow: 2,
        ...opts.raft,
      },
      tickMs: opts.ticking === false ? 1e12 : tickMs,
      snapshotEvery: opts.snapshotEvery || Number.MAX_SAFE_INTEGER,
      keepEntries: opts.keepEntries ?? 20,
      timeoutMs: opts.timeoutMs ?? 1000,
      logger: opts.verbose || opts.keepTrace ? (line) => this.log(line) : undefined,
    };
    if (opts.workload) {
      this.workload = new Workload(this.prng.fork(), opts.workload, this.outcomes);
      this.workload.onError = (e) => this.#fail(e);
    }
    for (const id of opts.voters) {
      const n = this.#addNode(id, tickMs);
      this.#start(n, opts.voters);
    }
  }

  /** Simulated time in ms. */
  get now(): number {
    return this.sched.now;
  }

  /** Releases what the run holds outside the simulation (the drain channel). */
  close(): void {
    this.#drainer.close();
  }

  /** Records a line in the trace (and prints it when verbose). */
  log(line: string): void {
    const l = `[${this.now}ms] ${line}`;
    this.trace.push(l);
    if (!this.opts.keepTrace && this.trace.length > 400) this.trace.shift();
    if (this.opts.verbose) console.log(l);
  }

  #addNode(id: number, tickMs: number): SimNode {
    const disk = new SimDisk(this.prng.fork(), this.#diskOpts);
    const node = new SimNode(id, disk, this.prng.intn(tickMs));
    this.nodes.set(id, node);
    return node;
  }

  #start(n: SimNode, bootstrap?: number[]): void {
    n.start(this.#env, this.prng.fork(), {
      bootstrap,
      factory: this.opts.factory?.(n.id),
      late: this.#lateSnapshots(n.id),
    });
    this.#verified.set(n.id, 0);
  }

  /** Late snapshots for node `id`, on a PRNG of their own so that other draws are unchanged. */
  #lateSnapshots(id: number): LateSnapshots | undefined {
    const rate = this.opts.lateSnapshotRate ?? 0;
    if (rate <= 0) return undefined;
    return {
      prng: new SeededPrng((this.opts.seed ^ 0x51a7e) + id * 7919),
      rate,
      onDefer: () => this.events.lateSnapshots++,
    };
  }

  node(id: number): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new RangeError(`Cannot find simulated node ${id}`);
    return n;
  }

  /**
   * Members of the newest committed membership: the configuration of the
   * node that applied the most. Removed nodes, and spawned nodes whose
   * addition never committed, stay up but do not count.
   */
  memberIds(): number[] {
    let best: { applied: number; conf: ConfState } | undefined;
    for (const m of this.#members.values()) if (!best || m.applied > best.applied) best = m;
    if (!best) return [...this.opts.voters];
    const { voters, learners } = best.conf;
    return [...voters, ...learners].filter((id) => this.nodes.has(id)).sort((a, b) => a - b);
  }

  // ---- faults and operator actions ------------------------------------------

  crash(id: number): void {
    const n = this.node(id);
    if (!n.alive) return;
    n.crash();
    this.events.crashes++;
    this.log(`crash ${id}`);
  }

  /** Restarts `id` on its disk (with `bootstrap`: as an operator re-bootstrapping an empty one). */
  restart(id: number, opts: { bootstrap?: number[] } = {}): void {
    const n = this.node(id);
    if (n.alive) return;
    // What a crash cannot take: the disk's committed log holds the applied entries.
    const st = n.disk.durable;
    const hs = st.hardState();
    const lo = Math.max(st.firstIndex(), 1);
    const hi = Math.min(hs.commit, st.lastIndex());
    if (hi >= lo) {
      checkCommittedPrefix(id, "disk", st.entries(lo, hi + 1, Infinity), this.checker.applied);
    }
    this.#start(n, opts.bootstrap);
    this.checker.resetCommit(id, hs.commit);
    this.log(`restart ${id}${n.disk.recovering ? " (recovering)" : ""}`);
  }

  /** Crashes `id`, loses its whole disk, and restarts it empty. */
  wipe(id: number): void {
    this.crash(id);
    this.node(id).disk.wipe();
    this.events.wipes++;
    this.log(`wipe ${id}`);
    this.restart(id);
  }

  /** Starts a brand-new node with an empty disk (to be added as a learner). */
  spawn(id: number): SimNode {
    const n = this.#addNode(id, this.opts.tickMs ?? 10);
    this.#start(n);
    this.log(`spawn ${id}`);
    return n;
  }

  /** Proposes a membership change on `id`; returns false when the node cannot take it now. */
  proposeConfChange(id: number, cc: ConfChange): boolean {
    const raft = this.node(id).raft;
    if (!raft?.isLeader) return false;
    this.log(`propose conf change ${JSON.stringify(cc)} on ${id}`);
    raft.proposeConfChange(cc).then(
      (index) => this.log(`conf change ${JSON.stringify(cc)} applied at ${index} on ${id}`),
      (e) => this.log(`conf change ${JSON.stringify(cc)} on ${id} failed: ${(e as Error).message}`),
    );
    return true;
  }

  /**
   * Proposes raw data on `id`; returns false when the node does not lead. The
   * driver's verdict is checked like a client's (see {@linkcode OutcomeChecker})
   * when the data is a write with an attempt id, and kept in {@linkcode verdicts}.
   */
  propose(id: number, data: Uint8Array): boolean {
    const raft = this.node(id).raft;
    if (!raft?.isLeader) return false;
    const attempt = decodeWrite({ index: 0, term: 0, type: EntryType.Normal, data })?.attempt;
    if (attempt) this.outcomes.onPropose(attempt);
    raft.propose(data).then(
      (index) => {
        if (attempt) this.verdicts.set(attempt, `resolved at ${index}`);
        if (attempt) this.outcomes.onResolved(attempt, index);
      },
      (e) => {
        if (attempt) this.verdicts.set(attempt, (e as Error).name);
        if (attempt && e instanceof ProposalDroppedError) {
          this.outcomes.onDropped(attempt, (e as Error).message);
        }
      },
    ).catch((e) => this.#fail(e));
    return true;
  }

  /** The node that leads in the highest term among the nodes that are up, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (!n.isLeader()) continue;
      if (!best || n.core!.term > best.core!.term) best = n;
    }
    return best;
  }

  /** A leader that every up member follows in its term. */
  stableLeader(): SimNode | undefined {
    const l = this.leader();
    if (!l) return undefined;
    const term = l.core!.term;
    for (const id of this.memberIds()) {
      const n = this.node(id);
      if (!n.up) return undefined;
      if (n.core!.term !== term || n.core!.lead !== l.id) return undefined;
    }
    return l;
  }

  // ---- time ---------------------------------------------------------------

  /**
   * Advances simulated time by one millisecond: delivers due messages, fires
   * due timers (ticks, deadlines, completed disk writes), lets clients act,
   * runs every driver continuation that follows, repeats while something
   * fell due at this instant, then runs the checkers.
   */
  async step(): Promise<void> {
    this.sched.now++;
    const now = this.now;
    for (const m of this.net.due(now)) this.nodes.get(m.to)?.deliver(m);
    this.sched.runDue();
    this.workload?.step(now, this.memberIds().map((id) => this.node(id)));
    await this.#drainer.drain();
    for (let round = 0; round < 1000 && this.sched.hasDue(); round++) {
      this.sched.runDue();
      await this.#drainer.drain();
    }
    this.#raise();
    this.#check();
  }

  #fail(e: unknown): void {
    if (this.#failure === undefined) this.#failure = e ?? new Error("unknown failure");
  }

  /** Throws the first failure found inside a continuation. */
  #raise(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  #events(): NodeEnv["events"] {
    return {
      send: (n: SimNode, m: Message) => {
        const core = n.core;
        if (core) {
          try {
            checkSentDurable(n.id, m, n.disk.durable, (i) => core.raftLog.term(i));
          } catch (e) {
            // Say what the sender knew, to tell a driver bug from a core one.
            const log = core.raftLog;
            this.log(
              `node ${n.id} sent ${
                MessageType[m.type]
              } to ${m.to} (term ${m.term} index ${m.index}) with log [${log.firstIndex()}, ${log.lastIndex()}] unstable from ${log.unstable.offset} commit ${log.committed}, ${
                n.handle?.pendingWrites().length ?? 0
              } writes in flight`,
            );
            throw e;
          }
        }
        this.net.send(m, this.now);
      },
      applied: (n: SimNode, e: Entry, _op: WriteOp | undefined, _first: number) => {
        const first = this.checker.onApply(n.id, e, n.sm.chain, n.core?.raftLog.committed ?? 0);
        if (first) this.outcomes.onFirstApply(e);
        if (e.type === EntryType.ConfChange) {
          if (first) this.events.confChanges++;
          if (n.raft) this.#noteMembers(n, e.index, n.raft.confState);
        }
      },
      restored: (n: SimNode, index: number) => {
        this.checker.onRestore(n.id, index, n.sm.chain);
        this.events.restores++;
        this.log(`node ${n.id} restored snapshot at ${index}`);
        const conf = n.disk.durable.snapshot().metadata;
        if (conf.index === index) this.#noteMembers(n, index, conf.confState);
      },
      leaderChange: (n: SimNode, lead: number, term: number) => {
        if (lead !== n.id) return;
        this.log(`node ${n.id} leads term ${term}`);
        this.events.leaderChanges++;
        if (n.core) this.checker.onBecomeLeader(n.id, n.core.raftLog, term);
        this.onLeaderElected?.(n);
      },
      fatal: (n: SimNode, e: unknown) => {
        this.log(`node ${n.id} driver stopped: ${(e as Error)?.message ?? e}`);
        this.#fail(e);
      },
    };
  }

  #noteMembers(n: SimNode, applied: number, conf: ConfState): void {
    const prev = this.#members.get(n.id);
    if (!prev || applied >= prev.applied) {
      this.#members.set(n.id, { applied, conf: structuredClone(conf) });
    }
  }

  #check(): void {
    for (const n of this.nodes.values()) {
      const r = n.core;
      if (!r || !n.raft) continue;
      if (r.state === StateType.Leader) {
        this.checker.onLeader(n.id, r.term);
        checkPendingConfChanges(n.id, r.raftLog, n.raft.applied, r.term);
        const own = r.trk.progress.get(n.id);
        if (own) checkOwnMatch(n.id, own.match, n.disk.durable);
      }
      this.checker.onCommit(n.id, r.raftLog.committed);
      if (n.sm.appliedIndex > (this.#members.get(n.id)?.applied ?? 0)) {
        this.#noteMembers(n, n.sm.appliedIndex, n.raft.confState);
      }
    }
    const every = this.opts.logCheckEvery ?? 50;
    if (every > 0 && this.now % every === 0) this.checkLogs();
  }

  /**
   * Runs the log checks over every node that is up: log matching, and that
   * each committed log holds the applied entries (from a little before
   * where the previous check ended).
   */
  checkLogs(): void {
    const logs = new Map<number, RaftLog>();
    for (const n of this.nodes.values()) {
      const log = n.core?.raftLog;
      if (!log || !n.raft) continue;
      logs.set(n.id, log);
      const lo = Math.max((this.#verified.get(n.id) ?? 0) - 64, log.firstIndex(), 1);
      const hi = Math.min(log.committed, log.lastIndex());
      if (hi >= lo) {
        checkCommittedPrefix(
          n.id,
          "log",
          log.slice(lo, hi + 1, Number.MAX_SAFE_INTEGER),
          this.checker.applied,
        );
      }
      this.#verified.set(n.id, hi);
    }
    checkLogMatching(logs);
  }

  /** Runs for `ms` simulated milliseconds. */
  async runFor(ms: number): Promise<void> {
    const end = this.now + ms;
    while (this.now < end) await this.step();
  }

  /** Runs until `done()` holds; returns false if `maxMs` passed first. */
  async runUntil(done: () => boolean, maxMs: number): Promise<boolean> {
    const end = this.now + maxMs;
    while (this.now < end) {
      if (done()) return true;
      await this.step();
    }
    return done();
  }
}

export { SafetyViolation };
