/**
 * SimCluster runs simulated nodes on a simulated network and disk, one
 * millisecond at a time, on one thread, from one seed. It offers the fault
 * operations (crash, restart, wipe, partitions) and runs the checkers after
 * every step. Both the random swarm and the scripted scenarios use it.
 *
 * @module
 */

import { SeededPrng } from "../../shared/prng.ts";
import { ProposalDroppedError } from "../../shared/raft/errors.ts";
import type { RaftLog } from "../../shared/raft/log.ts";
import type { Config } from "../../shared/raft/raft.ts";
import type { RaftFactory } from "../../shared/raft/raw_node.ts";
import { MemoryStorage } from "../../shared/raft/storage.ts";
import { type ConfChange, EntryType, type Message, StateType } from "../../shared/raft/types.ts";
import { Checker, checkLogMatching } from "./checkers.ts";
import { type NetworkOptions, PERFECT_NETWORK, SimNetwork } from "./sim_network.ts";
import { type LateSnapshots, SimNode } from "./sim_node.ts";
import { type DiskOptions, INSTANT_DISK, SimDisk } from "./sim_storage.ts";
import { Workload, type WorkloadOptions } from "./workload.ts";

/** Everything that shapes one simulated run. */
export interface SimOptions {
  seed: number;
  /** Founding voters. */
  voters: number[];
  network?: NetworkOptions;
  disk?: DiskOptions;
  /** Raft settings (ticks, sizes); id, storage and prng are set per node. */
  raft?: Partial<Omit<Config, "id" | "storage" | "prng">>;
  /** Milliseconds per raft tick. */
  tickMs?: number;
  /** Whether nodes tick at all (scripted scenarios may drive elections by hand). */
  ticking?: boolean;
  /** Applied entries between state-machine snapshots (0 = never). */
  snapshotEvery?: number;
  /** Entries kept in the log behind a snapshot. */
  keepEntries?: number;
  workload?: WorkloadOptions;
  /** The core for a node (tests swap in broken ones). */
  factory?: (id: number) => RaftFactory | undefined;
  /** Prints raft diagnostics. */
  verbose?: boolean;
  /** Run the O(n²·log) log-matching check every this many ms. */
  logCheckEvery?: number;
  /**
   * Probability that a node's storage answers a request for its snapshot
   * with "being loaded" (as KvStorage does once the data left memory); 0 by
   * default, which leaves every seed's run as it was.
   */
  lateSnapshotRate?: number;
}

/** A simulated cluster. */
export class SimCluster {
  readonly opts: SimOptions;
  readonly prng: SeededPrng;
  readonly net: SimNetwork;
  readonly checker = new Checker();
  readonly nodes = new Map<number, SimNode>();
  readonly workload: Workload | undefined;
  /** Simulated time in ms. */
  now = 0;
  /** Counts of fault and membership events, for run summaries. */
  readonly events = {
    crashes: 0,
    wipes: 0,
    restores: 0,
    confChanges: 0,
    leaderChanges: 0,
    lateSnapshots: 0,
  };
  /** Lines of the event trace, kept for failure reports. */
  readonly trace: string[] = [];
  readonly #raft: Omit<Config, "id" | "storage" | "prng">;
  readonly #diskOpts: DiskOptions;
  readonly #tickMs: number;

  constructor(opts: SimOptions) {
    this.opts = opts;
    this.prng = new SeededPrng(opts.seed);
    this.net = new SimNetwork(this.prng.fork(), opts.network ?? PERFECT_NETWORK);
    this.#diskOpts = opts.disk ?? INSTANT_DISK;
    this.#tickMs = opts.tickMs ?? 10;
    this.#raft = {
      electionTick: 10,
      heartbeatTick: 1,
      maxSizePerMsg: 4096,
      maxInflightMsgs: 64,
      snapshotChunkBytes: 256,
      snapshotChunkWindow: 2,
      logger: opts.verbose ? (line) => this.log(line) : undefined,
      ...opts.raft,
    };
    if (opts.workload) this.workload = new Workload(this.prng.fork(), opts.workload);
    for (const id of opts.voters) {
      this.#addNode(id, MemoryStorage.bootstrap(opts.voters)).start(
        this.#raft,
        this.prng.fork(),
        opts.factory?.(id),
        this.#lateSnapshots(id),
      );
    }
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

  /** Records a line in the trace (and prints it when verbose). */
  log(line: string): void {
    const l = `[${this.now}ms] ${line}`;
    this.trace.push(l);
    if (this.trace.length > 400) this.trace.shift();
    if (this.opts.verbose) console.log(l);
  }

  #addNode(id: number, storage: MemoryStorage): SimNode {
    const disk = new SimDisk(this.prng.fork(), this.#diskOpts, storage);
    const node = new SimNode(id, disk, this.prng.intn(this.#tickMs));
    this.nodes.set(id, node);
    return node;
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
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (!best || n.sm.appliedIndex > best.sm.appliedIndex) best = n;
    }
    if (!best) return [];
    const { voters, learners } = best.confState;
    return [...voters, ...learners].filter((id) => this.nodes.has(id)).sort((a, b) => a - b);
  }

  // ---- faults and operator actions ------------------------------------------

  crash(id: number): void {
    const n = this.node(id);
    if (!n.up) return;
    n.crash();
    this.events.crashes++;
    this.log(`crash ${id}`);
  }

  restart(id: number): void {
    const n = this.node(id);
    if (n.up) return;
    n.start(this.#raft, this.prng.fork(), this.opts.factory?.(id), this.#lateSnapshots(id));
    this.checker.resetCommit(id, n.rn!.raft.raftLog.committed);
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
    const n = this.#addNode(id, new MemoryStorage());
    n.disk.recovering = true;
    n.start(this.#raft, this.prng.fork(), this.opts.factory?.(id), this.#lateSnapshots(id));
    this.log(`spawn ${id}`);
    return n;
  }

  /** Proposes a membership change on `id`; returns false when it was dropped. */
  proposeConfChange(id: number, cc: ConfChange): boolean {
    const rn = this.node(id).rn;
    if (!rn) return false;
    try {
      rn.proposeConfChange(cc);
      this.log(`propose conf change ${JSON.stringify(cc)} on ${id}`);
      return true;
    } catch (e) {
      if (e instanceof ProposalDroppedError) return false;
      throw e;
    }
  }

  /** Proposes raw data on `id`; returns false when it was dropped. */
  propose(id: number, data: Uint8Array): boolean {
    const rn = this.node(id).rn;
    if (!rn) return false;
    try {
      rn.propose(data);
      return true;
    } catch (e) {
      if (e instanceof ProposalDroppedError) return false;
      throw e;
    }
  }

  /** The node that leads in the highest term among the nodes that are up, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (!n.isLeader()) continue;
      if (!best || n.rn!.raft.term > best.rn!.raft.term) best = n;
    }
    return best;
  }

  /** A leader that every up member follows in its term. */
  stableLeader(): SimNode | undefined {
    const l = this.leader();
    if (!l) return undefined;
    const term = l.rn!.raft.term;
    for (const id of this.memberIds()) {
      const n = this.node(id);
      if (!n.up) return undefined;
      if (n.rn!.raft.term !== term || n.rn!.raft.lead !== l.id) return undefined;
    }
    return l;
  }

  // ---- time ---------------------------------------------------------------

  /** Advances simulated time by one millisecond and runs the checkers. */
  step(): void {
    this.now++;
    for (const m of this.net.due(this.now)) this.#deliver(m);
    if (this.opts.ticking !== false) {
      for (const n of this.nodes.values()) {
        if (n.rn && this.now % this.#tickMs === n.tickPhase) n.rn.tick();
      }
    }
    this.workload?.step(this.now, this.memberIds().map((id) => this.node(id)));
    this.#processAll();
    this.workload?.serveReads(this.nodes);
    this.#check();
  }

  /** Processes every node's Ready until the cluster is quiet at this instant. */
  #processAll(): void {
    const events = {
      send: (m: Message) => this.net.send(m, this.now),
      applied: (
        n: SimNode,
        e: Parameters<Checker["onApply"]>[1],
        op: Parameters<Workload["onApplied"]>[2],
        first: number,
      ) => {
        this.checker.onApply(n.id, e, n.sm.chain);
        if (e.type === EntryType.ConfChange && this.checker.applied.get(e.index)?.node === n.id) {
          this.events.confChanges++;
        }
        this.workload?.onApplied(n, e, op, first, this.now);
      },
      restored: (n: SimNode, index: number) => {
        this.checker.onRestore(n.id, index, n.sm.chain);
        this.events.restores++;
        this.log(`node ${n.id} restored snapshot at ${index}`);
      },
      readState: (n: SimNode, rs: Parameters<Workload["onReadState"]>[1]) =>
        this.workload?.onReadState(n, rs),
      becameLeader: (n: SimNode) => {
        this.log(`node ${n.id} leads term ${n.rn!.raft.term}`);
        this.events.leaderChanges++;
        this.checker.onBecomeLeader(n.id, n.rn!.raft.raftLog, n.rn!.raft.term);
      },
    };
    const snapEvery = this.opts.snapshotEvery ?? 0;
    const keep = this.opts.keepEntries ?? 20;
    for (let round = 0; round < 100; round++) {
      let busy = false;
      for (const n of this.nodes.values()) {
        if (n.process(this.now, events, snapEvery, keep)) busy = true;
      }
      if (!busy) return;
    }
  }

  #deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (!n?.rn) return;
    try {
      n.rn.step(m);
    } catch (e) {
      // A forwarded proposal that the receiver cannot take is lost, as on a real network.
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
  }

  #check(): void {
    for (const n of this.nodes.values()) {
      const r = n.rn?.raft;
      if (!r) continue;
      if (r.state === StateType.Leader) this.checker.onLeader(n.id, r.term);
      this.checker.onCommit(n.id, r.raftLog.committed);
    }
    const every = this.opts.logCheckEvery ?? 50;
    if (every > 0 && this.now % every === 0) this.checkLogs();
  }

  /** Runs the log-matching check over every node that is up. */
  checkLogs(): void {
    const logs = new Map<number, RaftLog>();
    for (const n of this.nodes.values()) if (n.rn) logs.set(n.id, n.rn.raft.raftLog);
    checkLogMatching(logs);
  }

  /** Runs for `ms` simulated milliseconds. */
  runFor(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) this.step();
  }

  /** Runs until `done()` holds; returns false if `maxMs` passed first. */
  runUntil(done: () => boolean, maxMs: number): boolean {
    const end = this.now + maxMs;
    while (this.now < end) {
      if (done()) return true;
      this.step();
    }
    return done();
  }
}
