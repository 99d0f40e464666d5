/**
 * Simulated clients of the real driver: each has at most one operation
 * outstanding, a register write (`RaftNode.propose`) or a linearizable read
 * (`RaftNode.linearizableRead`), sent to a node and retried elsewhere when the
 * node answers "not leader", "dropped" or "timed out", or crashes. Every
 * attempt of a write carries its own id, so the outcome the driver reports
 * can be checked against what applied (see {@linkcode OutcomeChecker}); reads
 * are checked for linearizability against real (simulated) time.
 *
 * @module
 */

import type { SeededPrng } from "../../shared/prng.ts";
import { NotLeaderError, ProposalDroppedError } from "../../shared/raft/errors.ts";
import { type OutcomeChecker, SafetyViolation } from "./checkers.ts";
import type { SimNode } from "./sim_node.ts";
import { encodeWrite, type WriteOp } from "./state_machine.ts";

/** Client behaviour of a swarm. */
export interface WorkloadOptions {
  clients: number;
  keys: number;
  /** Probability per ms that an idle client starts an operation. */
  opRate: number;
  /** Share of operations that are reads. */
  readShare: number;
  /** The driver's deadline for a proposal or read, in ms. */
  timeout: number;
}

interface PendingWrite {
  kind: "write";
  op: WriteOp;
  node: number;
  incarnation: number;
  startedAt: number;
  /** When to try again after a refusal (undefined while an attempt is outstanding). */
  retryAt?: number;
  /** The leader the last refusal named, if any. */
  hint?: number;
}

interface PendingRead {
  kind: "read";
  key: string;
  node: number;
  incarnation: number;
  startedAt: number;
  /** Highest index of a write to `key` acknowledged before this read started. */
  mustSeeIndex: number;
  /** Highest write index any read of `key` returned before this read started. */
  mustSeeRead: number;
}

/** An acknowledged write and the index where it applied. */
export interface AckedWrite {
  op: WriteOp;
  index: number;
  ackedAt: number;
}

/** The clients and their history. */
export class Workload {
  readonly opts: WorkloadOptions;
  readonly #prng: SeededPrng;
  readonly #outcomes: OutcomeChecker;
  readonly #pending = new Map<number, PendingWrite | PendingRead>();
  readonly #seq = new Map<number, number>();
  #attempts = 0;
  /** Probe reads (not tied to a client) still outstanding. */
  #probes = 0;
  /** Acknowledged writes, by "client:seq". */
  readonly acked = new Map<string, AckedWrite>();
  /** Per key: the highest index among acknowledged writes. */
  readonly #maxAcked = new Map<string, number>();
  /** Per key: the highest write index returned by a completed read. */
  readonly #maxRead = new Map<string, number>();
  readonly stats = {
    writes: 0,
    reads: 0,
    readsServed: 0,
    readsFailed: 0,
    probeReads: 0,
    retries: 0,
    proposalsDropped: 0,
    outcomeUnknown: 0,
  };
  /** Whether idle clients start new operations. */
  active = true;
  /** The simulated time, set by the cluster before each step. */
  now = 0;
  /**
   * Where a violation found in a promise continuation goes (a throw there
   * would be an unhandled rejection); the cluster raises it after the step.
   */
  onError: (e: unknown) => void = (e) => {
    throw e;
  };

  constructor(prng: SeededPrng, opts: WorkloadOptions, outcomes: OutcomeChecker) {
    this.#prng = prng;
    this.opts = opts;
    this.#outcomes = outcomes;
  }

  /** Writes still outstanding (reads may fail; writes must finish). */
  pendingWrites(): number {
    let n = 0;
    for (const p of this.#pending.values()) if (p.kind === "write") n++;
    return n;
  }

  /** Lets clients act at time `now` on the member nodes. */
  step(now: number, nodes: SimNode[]): void {
    this.now = now;
    const up = nodes.filter((n) => n.up);
    for (let c = 1; c <= this.opts.clients; c++) {
      const p = this.#pending.get(c);
      if (p) {
        const node = nodes.find((n) => n.id === p.node);
        const lost = !node?.up || node.incarnation !== p.incarnation;
        if (p.kind === "read") {
          // A crashed node never answers: the client gives up on the read.
          if (lost) {
            this.#pending.delete(c);
            this.stats.readsFailed++;
          }
          continue;
        }
        const due = p.retryAt !== undefined && p.retryAt <= now;
        if ((lost || due) && up.length > 0) {
          if (lost) this.stats.retries++;
          this.#submitWrite(p, this.#pickFor(p, up, nodes));
        }
        continue;
      }
      if (!this.active || up.length === 0 || !this.#prng.chance(this.opts.opRate)) continue;
      const key = `k${this.#prng.intn(this.opts.keys)}`;
      const node = this.#pick(up);
      if (this.#prng.chance(this.opts.readShare)) {
        this.stats.reads++;
        this.#read(node, key, c);
      } else {
        const seq = (this.#seq.get(c) ?? 0) + 1;
        this.#seq.set(c, seq);
        const w: PendingWrite = {
          kind: "write",
          op: { client: c, seq, key, value: `v${c}.${seq}`, attempt: "" },
          node: node.id,
          incarnation: node.incarnation,
          startedAt: now,
        };
        this.#pending.set(c, w);
        this.stats.writes++;
        this.#submitWrite(w, node);
      }
    }
  }

  /**
   * A read not tied to a client, steered at a moment the swarm rarely hits
   * by chance (a leader just elected, or just cut off).
   */
  probeRead(node: SimNode): void {
    if (!node.up) return;
    this.stats.probeReads++;
    this.#read(node, `k${this.#prng.intn(this.opts.keys)}`, 0);
  }

  /** Probe reads still outstanding. */
  pendingProbes(): number {
    return this.#probes;
  }

  #pick(up: SimNode[]): SimNode {
    return up[this.#prng.intn(up.length)]!;
  }

  /** The hinted leader when the last attempt named one that is up, else a random node. */
  #pickFor(w: PendingWrite, up: SimNode[], nodes: SimNode[]): SimNode {
    const hint = w.hint;
    const hinted = hint ? nodes.find((n) => n.id === hint && n.up) : undefined;
    return hinted && this.#prng.chance(0.8) ? hinted : this.#pick(up);
  }

  #submitWrite(w: PendingWrite, node: SimNode): void {
    const raft = node.raft!;
    const attempt = `${w.op.client}.${w.op.seq}.${++this.#attempts}`;
    const op: WriteOp = { ...w.op, attempt };
    w.op = op;
    w.node = node.id;
    w.incarnation = node.incarnation;
    w.retryAt = undefined;
    this.#outcomes.onPropose(attempt);
    raft.propose(encodeWrite(op)).then(
      (index) => this.#onResolved(w, op, node, index),
      (e) => this.#onRejected(w, op, e),
    ).catch(this.onError);
  }

  #onResolved(w: PendingWrite, op: WriteOp, node: SimNode, index: number): void {
    this.#outcomes.onResolved(op.attempt, index);
    if (this.#pending.get(op.client) !== w || w.op.attempt !== op.attempt) return;
    // The write took effect where its first applied attempt did (retries deduplicate).
    const last = node.sm.lastSeq.get(op.client);
    if (!last || last.seq !== op.seq) {
      throw new SafetyViolation(
        "proposal-outcome",
        `node ${node.id} resolved write ${op.attempt} at ${index} but its state machine has seq ${last?.seq} of client ${op.client}`,
      );
    }
    this.#pending.delete(op.client);
    this.acked.set(`${op.client}:${op.seq}`, { op, index: last.index, ackedAt: this.now });
    if (last.index > (this.#maxAcked.get(op.key) ?? 0)) this.#maxAcked.set(op.key, last.index);
  }

  #onRejected(w: PendingWrite, op: WriteOp, e: unknown): void {
    if (e instanceof ProposalDroppedError) {
      this.stats.proposalsDropped++;
      this.#outcomes.onDropped(op.attempt, (e as Error).message);
    } else {
      this.stats.outcomeUnknown++;
    }
    if (this.#pending.get(op.client) !== w || w.op.attempt !== op.attempt) return;
    w.hint = e instanceof NotLeaderError || e instanceof ProposalDroppedError
      ? e.leaderHint
      : undefined;
    // Try again a little later, not in a tight loop while there is no leader.
    w.retryAt = this.now + 1 + this.#prng.intn(20);
    this.stats.retries++;
  }

  /** Starts a linearizable read of `key` on `node` for `client` (0 for a probe). */
  #read(node: SimNode, key: string, client: number): void {
    const r: PendingRead = {
      kind: "read",
      key,
      node: node.id,
      incarnation: node.incarnation,
      startedAt: this.now,
      mustSeeIndex: this.#maxAcked.get(key) ?? 0,
      mustSeeRead: this.#maxRead.get(key) ?? 0,
    };
    if (client > 0) this.#pending.set(client, r);
    else this.#probes++;
    const done = () => {
      if (client > 0) {
        if (this.#pending.get(client) !== r) return false;
        this.#pending.delete(client);
      } else {
        this.#probes--;
      }
      return true;
    };
    node.raft!.linearizableRead().then(
      () => {
        if (!done()) return;
        if (node.incarnation !== r.incarnation) return;
        this.stats.readsServed++;
        this.#serve(node, r);
      },
      () => {
        if (done()) this.stats.readsFailed++;
      },
    ).catch(this.onError);
  }

  /** Serves a read whose read point the node has applied, checking linearizability. */
  #serve(node: SimNode, p: PendingRead): void {
    const applied = node.sm.appliedIndex;
    const w = node.sm.data.get(p.key)?.index ?? 0;
    if (applied < p.mustSeeIndex) {
      throw new SafetyViolation(
        "linearizability",
        `read of ${p.key} on node ${node.id} saw state at ${applied} but a write at ${p.mustSeeIndex} was acknowledged before it started`,
      );
    }
    if (w < p.mustSeeRead) {
      throw new SafetyViolation(
        "linearizability",
        `read of ${p.key} on node ${node.id} returned the write at ${w} but an earlier read returned the one at ${p.mustSeeRead}`,
      );
    }
    if (w > (this.#maxRead.get(p.key) ?? 0)) this.#maxRead.set(p.key, w);
  }
}
