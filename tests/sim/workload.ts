/**
 * Simulated clients: each has at most one operation outstanding, a register
 * write (proposal) or a linearizable read (ReadIndex), sent to a random node
 * and retried elsewhere on timeout. The workload records the history and
 * checks it: every acknowledged write stays applied, and reads are
 * linearizable with respect to real (simulated) time.
 *
 * @module
 */

import type { SeededPrng } from "../../shared/prng.ts";
import { ProposalDroppedError } from "../../shared/raft/errors.ts";
import type { Entry, ReadState } from "../../shared/raft/types.ts";
import { SafetyViolation } from "./checkers.ts";
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
  /** ms before a client gives up on a node and retries (writes) or abandons (reads). */
  timeout: number;
}

interface PendingWrite {
  kind: "write";
  op: WriteOp;
  node: number;
  startedAt: number;
  sentAt: number;
}

interface PendingRead {
  kind: "read";
  key: string;
  ctx: string;
  node: number;
  startedAt: number;
  sentAt: number;
  /** Highest index of a write to `key` acknowledged before this read started. */
  mustSeeIndex: number;
  /** Highest write index any read of `key` returned before this read started. */
  mustSeeRead: number;
  /** Set once the node returned a read point. */
  readIndex?: number;
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
  readonly #pending = new Map<number, PendingWrite | PendingRead>();
  readonly #seq = new Map<number, number>();
  readonly #readSeq = { n: 0 };
  /** Acknowledged writes, by "client:seq". */
  readonly acked = new Map<string, AckedWrite>();
  /** Per key: the highest index among acknowledged writes. */
  readonly #maxAcked = new Map<string, number>();
  /** Per key: the highest write index returned by a completed read. */
  readonly #maxRead = new Map<string, number>();
  readonly stats = { writes: 0, reads: 0, readsAbandoned: 0, retries: 0, proposalsDropped: 0 };
  /** Whether idle clients start new operations. */
  active = true;

  constructor(prng: SeededPrng, opts: WorkloadOptions) {
    this.#prng = prng;
    this.opts = opts;
  }

  /** Operations still outstanding. */
  pendingCount(): number {
    return this.#pending.size;
  }

  /** Writes still outstanding (reads may be abandoned; writes must finish). */
  pendingWrites(): number {
    let n = 0;
    for (const p of this.#pending.values()) if (p.kind === "write") n++;
    return n;
  }

  /** Lets clients act at time `now` on the nodes that are up. */
  step(now: number, nodes: SimNode[]): void {
    const up = nodes.filter((n) => n.up);
    for (let c = 1; c <= this.opts.clients; c++) {
      const p = this.#pending.get(c);
      if (p) {
        if (now - p.sentAt < this.opts.timeout && nodes.find((n) => n.id === p.node)?.up) continue;
        if (p.kind === "read") {
          this.#pending.delete(c);
          this.stats.readsAbandoned++;
          continue;
        }
        // Retry the same write elsewhere; the state machine deduplicates it.
        if (up.length === 0) continue;
        this.stats.retries++;
        this.#submitWrite(p, this.#pick(up), now);
        continue;
      }
      if (!this.active || up.length === 0 || !this.#prng.chance(this.opts.opRate)) continue;
      const key = `k${this.#prng.intn(this.opts.keys)}`;
      const node = this.#pick(up);
      if (this.#prng.chance(this.opts.readShare)) {
        const ctx = `r${c}.${++this.#readSeq.n}`;
        const read: PendingRead = {
          kind: "read",
          key,
          ctx,
          node: node.id,
          startedAt: now,
          sentAt: now,
          mustSeeIndex: this.#maxAcked.get(key) ?? 0,
          mustSeeRead: this.#maxRead.get(key) ?? 0,
        };
        this.#pending.set(c, read);
        this.stats.reads++;
        node.rn!.readIndex(ctx);
      } else {
        const seq = (this.#seq.get(c) ?? 0) + 1;
        this.#seq.set(c, seq);
        const w: PendingWrite = {
          kind: "write",
          op: { client: c, seq, key, value: `v${c}.${seq}` },
          node: node.id,
          startedAt: now,
          sentAt: now,
        };
        this.#pending.set(c, w);
        this.stats.writes++;
        this.#submitWrite(w, node, now);
      }
    }
  }

  #pick(up: SimNode[]): SimNode {
    return up[this.#prng.intn(up.length)]!;
  }

  #submitWrite(w: PendingWrite, node: SimNode, now: number): void {
    w.node = node.id;
    w.sentAt = now;
    try {
      node.rn!.propose(encodeWrite(w.op));
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.stats.proposalsDropped++; // retried after the timeout
    }
  }

  /** A node applied `e`; acknowledges the write if its client is waiting on that node. */
  onApplied(
    node: SimNode,
    _e: Entry,
    op: WriteOp | undefined,
    firstIndex: number,
    now: number,
  ): void {
    if (!op || firstIndex < 0) return;
    const p = this.#pending.get(op.client);
    if (!p || p.kind !== "write" || p.op.seq !== op.seq || p.node !== node.id) return;
    this.#pending.delete(op.client);
    this.acked.set(`${op.client}:${op.seq}`, { op, index: firstIndex, ackedAt: now });
    if (firstIndex > (this.#maxAcked.get(op.key) ?? 0)) this.#maxAcked.set(op.key, firstIndex);
  }

  /** A node answered a ReadIndex request. */
  onReadState(node: SimNode, rs: ReadState): void {
    for (const p of this.#pending.values()) {
      if (p.kind === "read" && p.ctx === rs.context && p.node === node.id) p.readIndex = rs.index;
    }
  }

  /** Serves reads whose read point the node has applied, checking linearizability. */
  serveReads(nodes: Map<number, SimNode>): void {
    for (const [c, p] of this.#pending) {
      if (p.kind !== "read" || p.readIndex === undefined) continue;
      const node = nodes.get(p.node);
      if (!node?.up || node.sm.appliedIndex < p.readIndex) continue;
      this.#pending.delete(c);
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
}
