/**
 * One seeded run of the real driver, VOPR style: the seed draws the "swarm"
 * (fault rates, delays, client load, snapshot cadence), a safety phase runs
 * with faults (partitions, crashes, disk wipes, membership changes,
 * leadership transfers) and steers part of them at rare moments (reads on a
 * leader just elected or just cut off, a leader cut off with an uncommitted
 * tail, stale appends replayed after a leader change, a second membership
 * change right behind the first, heartbeats overtaking appends in flight),
 * then a liveness phase heals everything and
 * requires a leader and the completion of every pending write within a
 * bounded time.
 *
 * @module
 */

import { SeededPrng } from "../../shared/prng.ts";
import type { RaftFactory } from "../../shared/raft/raw_node.ts";
import { ConfChangeType, StateType } from "../../shared/raft/types.ts";
import { SafetyViolation } from "./checkers.ts";
import { SimCluster, type SimOptions } from "./cluster.ts";
import type { DriverImpl, SimNode } from "./sim_node.ts";

/** What one run reports. */
export interface RunResult {
  seed: number;
  size: number;
  ok: boolean;
  error?: string;
  /** The command that replays this run. */
  replay: string;
  stats: Record<string, number>;
  /** The whole trace, when asked for with `keepTrace`. */
  trace?: string[];
}

/** Knobs a caller may force instead of drawing them from the seed. */
export interface RunOptions {
  /** Simulated ms of the safety phase. */
  safetyMs?: number;
  /** Bound on the liveness phase, in simulated ms. */
  livenessMs?: number;
  factory?: (id: number) => RaftFactory | undefined;
  /** The driver and core classes (a broken variant's copies; default the real ones). */
  impl?: DriverImpl;
  /** The broken variant's name, for the replay command. */
  core?: string;
  verbose?: boolean;
  /** Keep the whole trace in the result (for replay digests). */
  keepTrace?: boolean;
  /** See {@linkcode SimOptions.lateSnapshotRate}. */
  lateSnapshotRate?: number;
}

/** The one-line command that replays `seed` for a cluster of `size` with the same options. */
export function replayCommand(seed: number, size: number, ro: RunOptions = {}): string {
  const parts = [`deno task sim --nodes ${size} --seed ${seed}`];
  if (ro.core) parts.push(`--core ${ro.core}`);
  if (ro.lateSnapshotRate) parts.push(`--late-snapshots ${ro.lateSnapshotRate}`);
  if (ro.safetyMs !== undefined) parts.push(`--safety-ms ${ro.safetyMs}`);
  if (ro.livenessMs !== undefined) parts.push(`--liveness-ms ${ro.livenessMs}`);
  return `${parts.join(" ")} --verbose`;
}

/** Draws the swarm options of a run from its seed. */
export function swarmOptions(seed: number, size: number): SimOptions {
  const p = new SeededPrng(seed ^ 0x5eed);
  const maxDelay = 1 + p.intn(p.chance(0.3) ? 40 : 10);
  return {
    seed,
    voters: Array.from({ length: size }, (_, i) => i + 1),
    network: {
      minDelay: 1,
      maxDelay,
      dropRate: p.chance(0.2) ? 0 : p.float() * 0.15,
      dupRate: p.chance(0.3) ? 0 : p.float() * 0.05,
      maxInFlight: 20_000,
    },
    disk: {
      minLatency: 0,
      maxLatency: p.intn(4),
      tornWriteRate: p.float() * 0.5,
    },
    raft: {
      maxSizePerMsg: 256 + p.intn(4096),
      maxInflightMsgs: 1 + p.intn(64),
      snapshotChunkBytes: 64 + p.intn(1024),
      snapshotChunkWindow: 1 + p.intn(4),
      maxUncommittedEntriesSize: p.chance(0.5) ? 0 : 2048 + p.intn(8192),
    },
    tickMs: 10,
    snapshotEvery: p.chance(0.2) ? 0 : 10 + p.intn(100),
    keepEntries: p.intn(30),
    timeoutMs: 150 + p.intn(1000),
    workload: {
      clients: 1 + p.intn(5),
      keys: 1 + p.intn(6),
      opRate: 0.02 + p.float() * 0.2,
      readShare: p.float() * 0.6,
      timeout: 150 + p.intn(300),
    },
  };
}

/** Runs one seed; never throws for a violation, it is reported in the result. */
export async function runSeed(seed: number, size: number, ro: RunOptions = {}): Promise<RunResult> {
  const opts = swarmOptions(seed, size);
  opts.factory = ro.factory;
  opts.impl = ro.impl;
  opts.verbose = ro.verbose;
  opts.keepTrace = ro.keepTrace;
  opts.lateSnapshotRate = ro.lateSnapshotRate;
  const replay = replayCommand(seed, size, ro);
  let sim: SimCluster | undefined;
  let faults: FaultInjector | undefined;
  try {
    sim = new SimCluster(opts);
    faults = new FaultInjector(sim, new SeededPrng(seed ^ 0xfa17), size, seed);
    const safetyEnd = ro.safetyMs ?? 3000;
    while (sim.now < safetyEnd) {
      faults.maybeAct();
      await sim.step();
    }
    heal(sim);
    sim.workload!.active = false;
    faults.steering = false;
    const converged = await sim.runUntil(() => converged_(sim!), ro.livenessMs ?? 6000);
    if (!converged) {
      throw new SafetyViolation("liveness", describeStuck(sim));
    }
    finalChecks(sim);
    return {
      seed,
      size,
      ok: true,
      replay,
      stats: stats(sim, faults),
      trace: ro.keepTrace ? sim.trace : undefined,
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // A crash of the driver or core itself is a failure too; keep its stack.
    const head = e instanceof SafetyViolation ? msg : `${(e as Error)?.stack ?? msg}`;
    return {
      seed,
      size,
      ok: false,
      error: `${head}\n${sim?.trace.slice(-40).join("\n") ?? ""}`,
      replay,
      stats: sim ? stats(sim, faults) : {},
      trace: ro.keepTrace ? sim?.trace : undefined,
    };
  } finally {
    sim?.close();
  }
}

function stats(sim: SimCluster, faults: FaultInjector | undefined): Record<string, number> {
  const steeredBy: Record<string, number> = {};
  for (const k of STEERED_KINDS) steeredBy[`steered.${k}`] = faults?.steeredBy[k] ?? 0;
  return {
    ms: sim.now,
    committed: sim.checker.maxApplied,
    terms: sim.checker.leaderOfTerm.size,
    acked: sim.workload?.acked.size ?? 0,
    ...sim.outcomes.stats,
    ...sim.net.stats,
    ...(sim.workload?.stats ?? {}),
    ...sim.events,
    ...steeredBy,
  };
}

/**
 * The rare moments the fault injector steers at. Each run reports how often
 * each happened as the stat `steered.<kind>` (and the sum as `steered`).
 */
export const STEERED_KINDS = [
  /** A read on a leader just elected (and on the one it deposed). */
  "electionRead",
  /** Stale appends replayed right after a leader change. */
  "replay",
  /** The leader cut off while it holds an uncommitted tail. */
  "strand",
  /** A second membership change proposed right behind the first. */
  "doubleChange",
  /** Heartbeats overtaking the leader's appends in flight. */
  "heartbeatRace",
] as const;

/** One of {@linkcode STEERED_KINDS}. */
export type SteeredKind = typeof STEERED_KINDS[number];

/** Heals the network, restarts every member, and calms the network for the liveness phase. */
function heal(sim: SimCluster): void {
  sim.net.heal();
  sim.net.opts = {
    ...sim.net.opts,
    dropRate: 0,
    dupRate: 0,
    maxDelay: Math.min(sim.net.opts.maxDelay, 5),
  };
  // Every node comes back, removed ones too: a removed leader may still hold
  // what the others need to learn that it was removed.
  for (const id of sim.nodes.keys()) sim.restart(id);
  sim.log("heal");
}

/** Converged: a stable leader, no write outstanding, every member applied the leader's commit. */
function converged_(sim: SimCluster): boolean {
  const l = sim.stableLeader();
  if (!l) return false;
  if ((sim.workload?.pendingWrites() ?? 0) > 0) return false;
  const commit = l.core!.raftLog.committed;
  if (l.core!.raftLog.lastIndex() !== commit) return false;
  for (const id of sim.memberIds()) {
    const n = sim.node(id);
    if (!n.up || n.raft!.applied !== commit || n.sm.appliedIndex !== commit) return false;
  }
  return true;
}

function describeStuck(sim: SimCluster): string {
  const parts = sim.memberIds().map((id) => {
    const n = sim.node(id);
    if (!n.raft) return `${id}:${n.alive ? "starting" : "down"}`;
    const s = n.raft.status();
    return `${id}:${
      StateType[s.raftState]
    } t${s.term} lead${s.lead} commit${s.commit} last${s.lastIndex} applied${s.applied}${
      s.recovering ? " recovering" : ""
    }`;
  });
  return `no convergence after healing: ${
    parts.join(", ")
  }; pending writes ${sim.workload?.pendingWrites()}`;
}

/** End of run: logs match, every acknowledged write is applied on every member, states agree. */
function finalChecks(sim: SimCluster): void {
  sim.checkLogs();
  const members = sim.memberIds().map((id) => sim.node(id));
  const digest = members[0]!.sm.digest();
  for (const n of members) {
    if (n.sm.digest() !== digest) {
      throw new SafetyViolation(
        "state-machine-safety",
        `node ${n.id} ended with a different state`,
      );
    }
  }
  for (const [id, w] of sim.workload?.acked ?? []) {
    for (const n of members) {
      const last = n.sm.lastSeq.get(w.op.client);
      if (!last || last.seq < w.op.seq) {
        throw new SafetyViolation(
          "lost-write",
          `write ${id} acknowledged at index ${w.index} is not applied on node ${n.id}`,
        );
      }
    }
    const a = sim.checker.applied.get(w.index);
    if (!a) {
      throw new SafetyViolation(
        "lost-write",
        `no entry recorded at index ${w.index} for write ${id}`,
      );
    }
  }
}

/**
 * Whether `n`'s disk is lost and not caught up: flagged recovering, or empty
 * (a restart, which never bootstraps, would come back recovering).
 */
function lostDisk(n: SimNode): boolean {
  return n.disk.recovering || n.disk.durable.isEmpty();
}

/**
 * Injects faults during the safety phase. Rates are drawn from the seed; the
 * injector keeps what a majority needs to recover possible: at most one disk
 * wiped and not yet caught up, and at least three voters.
 */
export class FaultInjector {
  readonly #sim: SimCluster;
  readonly #p: SeededPrng;
  readonly #size: number;
  readonly #rates: {
    partition: number;
    crash: number;
    restart: number;
    heal: number;
    wipe: number;
    member: number;
    transfer: number;
    /** Steering: a read on a leader just elected (and on the one it deposed). */
    electionRead: number;
    /** Steering: stale appends replayed right after a leader change. */
    replay: number;
    /** Steering: cut the leader off while it has an uncommitted tail. */
    strand: number;
    /** Steering: a second membership change proposed right behind the first. */
    doubleChange: number;
    /** Steering: heartbeats overtake the leader's appends in flight. */
    heartbeatRace: number;
  };
  /**
   * The heartbeat race's own PRNG: a steering added later draws from it, so
   * the draws of every other fault, and the seeds that catch each broken
   * variant, stay as they were.
   */
  readonly #raceP: SeededPrng;
  #nextId: number;
  /** Whether the steered actions still run (not in the liveness phase). */
  steering = true;
  /** How often each steered moment was set up in this run. */
  readonly steeredBy: Record<SteeredKind, number> = {
    electionRead: 0,
    replay: 0,
    strand: 0,
    doubleChange: 0,
    heartbeatRace: 0,
  };

  constructor(sim: SimCluster, p: SeededPrng, size: number, seed: number) {
    this.#sim = sim;
    this.#p = p;
    this.#raceP = new SeededPrng(seed ^ 0x4ea7);
    this.#size = size;
    this.#nextId = size + 1;
    const r = (max: number) => (p.chance(0.25) ? 0 : p.float() * max);
    this.#rates = {
      partition: r(0.004),
      crash: r(0.004),
      restart: 0.005 + p.float() * 0.02,
      heal: 0.003 + p.float() * 0.01,
      wipe: r(0.0008),
      member: r(0.003),
      transfer: r(0.002),
      electionRead: r(0.8),
      replay: r(0.6),
      strand: r(0.004),
      doubleChange: r(0.6),
      heartbeatRace: this.#raceP.chance(0.25) ? 0 : this.#raceP.float() * 0.004,
    };
    let deposed: SimNode | undefined;
    sim.onLeaderElected = (n) => {
      if (!this.steering) return;
      if (p.chance(this.#rates.electionRead)) {
        // Before its first commit of the term, the new leader must not answer
        // a read from its possibly stale commit index; the old one must not
        // answer at all.
        this.#steered("electionRead");
        sim.workload?.probeRead(n);
        if (deposed && deposed !== n && deposed.up) sim.workload?.probeRead(deposed);
      }
      if (p.chance(this.#rates.replay)) {
        if (sim.net.replayStale(1 + p.intn(8), sim.now) > 0) this.#steered("replay");
      }
      deposed = n;
    };
  }

  maybeAct(): void {
    const sim = this.#sim;
    const p = this.#p;
    const members = sim.memberIds();
    if (this.steering && p.chance(this.#rates.strand)) this.#strand();
    if (this.steering && this.#raceP.chance(this.#rates.heartbeatRace)) this.#raceHeartbeats();
    if (p.chance(this.#rates.partition)) this.#partition(members);
    if (p.chance(this.#rates.heal)) {
      sim.net.heal();
      sim.log("network healed");
    }
    if (p.chance(this.#rates.crash)) {
      const up = members.filter((id) => sim.node(id).alive);
      if (up.length > 0) sim.crash(up[p.intn(up.length)]!);
    }
    if (p.chance(this.#rates.restart)) {
      const down = members.filter((id) => !sim.node(id).alive);
      if (down.length > 0) sim.restart(down[p.intn(down.length)]!);
    }
    if (p.chance(this.#rates.wipe)) this.#wipe(members);
    if (p.chance(this.#rates.member)) this.#changeMembership();
    if (p.chance(this.#rates.transfer)) {
      const l = sim.leader();
      const voters = l?.raft?.confState.voters.filter((id) => id !== l.id) ?? [];
      if (l && voters.length > 0) {
        const to = voters[p.intn(voters.length)]!;
        l.raft!.transferLeadership(to);
        sim.log(`transfer leadership ${l.id} -> ${to}`);
      }
    }
  }

  /**
   * Cuts the leader off at a moment it holds entries not yet committed: the
   * others elect a leader that overwrites (or commits and snapshots past)
   * that tail, and when the network heals the old leader meets a log, or a
   * snapshot, covering its divergent tail, with its proposals pending.
   */
  #strand(): void {
    const sim = this.#sim;
    const l = sim.leader();
    if (!l || !l.core) return;
    const log = l.core.raftLog;
    if (log.lastIndex() <= log.committed) return;
    this.#steered("strand");
    if (this.#p.chance(0.5)) {
      sim.net.isolate(l.id, [...sim.nodes.keys()]);
    } else {
      // Its appends still go out but nothing comes back: the others may
      // commit its tail under a new leader while its proposals wait.
      for (const id of sim.nodes.keys()) if (id !== l.id) sim.net.blockOneWay(id, l.id);
    }
    sim.log(
      `strand leader ${l.id} with entries ${log.committed + 1}..${log.lastIndex()} uncommitted`,
    );
    if (this.#p.chance(0.5)) sim.workload?.probeRead(l);
  }

  #steered(kind: SteeredKind): void {
    this.#sim.events.steered++;
    this.steeredBy[kind]++;
  }

  /**
   * While the leader has appends in flight to a follower, delays its appends
   * and speeds up its heartbeats for a while: heartbeats carrying a commit
   * index reach followers before the entries they commit, and the answers
   * make the leader resend appends that race the late originals.
   */
  #raceHeartbeats(): void {
    const sim = this.#sim;
    const l = sim.leader();
    if (!l || !l.core) return;
    const last = l.core.raftLog.lastIndex();
    const behind = [...l.core.trk.progress].some(([id, pr]) => id !== l.id && pr.match < last);
    if (!behind) return;
    const p = this.#raceP;
    const until = sim.now + 20 + p.intn(80);
    const extra = 5 + p.intn(30);
    sim.net.raceHeartbeats(l.id, until, extra);
    this.#steered("heartbeatRace");
    sim.log(`race heartbeats of leader ${l.id} past its appends (+${extra} ms) until ${until}`);
  }

  #partition(members: number[]): void {
    const sim = this.#sim;
    const p = this.#p;
    if (members.length < 2) return;
    const kind = p.intn(3);
    if (kind === 0) {
      // Fisher-Yates on the seed's PRNG (sort with a random comparator is
      // implementation-defined and did not replay across runs in one process).
      const shuffled = [...members];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = p.intn(i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const cut = 1 + p.intn(Math.max(1, shuffled.length - 1));
      sim.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
    } else if (kind === 1) {
      const l = sim.leader();
      if (l) sim.net.isolate(l.id, [...sim.nodes.keys()]);
    } else {
      const from = members[p.intn(members.length)]!;
      const to = members[p.intn(members.length)]!;
      if (from !== to) sim.net.blockOneWay(from, to);
    }
    sim.log(`partition: ${sim.net.describeBlocked()}`);
  }

  #wipe(members: number[]): void {
    const sim = this.#sim;
    // Losing a second disk before the first caught up can lose committed data
    // in any raft; the injector does not ask for the impossible. An empty disk
    // is lost too even before its recovering flag is durable: a restart
    // without bootstrap (a founder that crashed before its bootstrap write
    // completed, a wiped node that crashed before it saved the flag) comes
    // back recovering (seed 20263601, 3 nodes: founder 1 crashed at 0 ms with
    // nothing written, then 2 was wiped, and neither could ever vote again).
    if (members.some((id) => lostDisk(sim.node(id)))) return;
    const l = sim.leader();
    const candidates = members.filter((id) => id !== l?.id);
    if (candidates.length === 0) return;
    sim.wipe(candidates[this.#p.intn(candidates.length)]!);
  }

  #changeMembership(): void {
    const sim = this.#sim;
    const p = this.#p;
    const l = sim.leader();
    if (!l) return;
    const { voters, learners } = l.raft!.confState;
    // Sometimes a second change right behind the first: the core must refuse
    // it while the first is not applied (Raft's one-at-a-time rule).
    if (this.steering && p.chance(this.#rates.doubleChange) && voters.length > 3) {
      this.#steered("doubleChange");
      const victim = voters.filter((id) => id !== l.id)[0]!;
      sim.proposeConfChange(l.id, { type: ConfChangeType.RemoveNode, nodeId: victim, context: "" });
    }
    const learner = learners[0];
    if (learner !== undefined) {
      // Promote once caught up.
      const pr = l.core!.trk.progress.get(learner);
      if (pr && pr.match + 5 >= l.core!.raftLog.lastIndex()) {
        sim.proposeConfChange(l.id, { type: ConfChangeType.AddNode, nodeId: learner, context: "" });
      }
      return;
    }
    if (voters.length > 3 && (voters.length >= this.#size || p.chance(0.5))) {
      const victim = voters[p.intn(voters.length)]!;
      sim.proposeConfChange(l.id, { type: ConfChangeType.RemoveNode, nodeId: victim, context: "" });
      return;
    }
    if (this.#nextId > this.#size + 4) return;
    const id = this.#nextId;
    if (sim.proposeConfChange(l.id, { type: ConfChangeType.AddLearner, nodeId: id, context: "" })) {
      this.#nextId++;
      sim.spawn(id);
    }
  }
}
