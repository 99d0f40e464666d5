/**
 * Safety checkers run by the simulator after every step: election safety,
 * log matching, leader completeness, state-machine safety, and that a commit
 * index never moves back. A violation throws {@linkcode SafetyViolation}.
 *
 * @module
 */

import type { RaftLog } from "../../shared/raft/log.ts";
import type { Entry } from "../../shared/raft/types.ts";
import { entryDigest } from "./state_machine.ts";

/** The kinds of violation the checkers report. */
export type ViolationKind =
  | "election-safety"
  | "log-matching"
  | "leader-completeness"
  | "state-machine-safety"
  | "commit-regressed"
  | "snapshot-mismatch"
  | "lost-write"
  | "linearizability"
  | "liveness";

/** Thrown when an invariant does not hold. */
export class SafetyViolation extends Error {
  readonly kind: ViolationKind;
  constructor(kind: ViolationKind, detail: string) {
    super(`${kind}: ${detail}`);
    this.name = "SafetyViolation";
    this.kind = kind;
  }
}

/** One committed entry as first applied anywhere. */
interface Applied {
  digest: string;
  /** The state machine's hash chain after applying it. */
  chain: number;
  node: number;
  /** The highest term led when it was first applied: it was committed in this term or before. */
  committedBy: number;
}

/** Collects what every node did and checks it against what the others did. */
export class Checker {
  /** term → the one node that led it. */
  readonly leaderOfTerm = new Map<number, number>();
  /** index → the entry applied there (by whichever node applied it first). */
  readonly applied = new Map<number, Applied>();
  maxApplied = 0;
  #maxLeaderTerm = 0;
  /** node → the highest commit index seen for its current incarnation. */
  readonly #commit = new Map<number, number>();

  /** Election safety: at most one leader per term. */
  onLeader(node: number, term: number): void {
    const prev = this.leaderOfTerm.get(term);
    if (prev === undefined) {
      this.leaderOfTerm.set(term, node);
      if (term > this.#maxLeaderTerm) this.#maxLeaderTerm = term;
    } else if (prev !== node) {
      throw new SafetyViolation(
        "election-safety",
        `nodes ${prev} and ${node} both lead term ${term}`,
      );
    }
  }

  /** State-machine safety: every node applies the same entry at an index. */
  onApply(node: number, e: Entry, chain: number): void {
    const digest = entryDigest(e);
    const prev = this.applied.get(e.index);
    if (prev === undefined) {
      this.applied.set(e.index, { digest, chain, node, committedBy: this.#maxLeaderTerm });
      if (e.index > this.maxApplied) this.maxApplied = e.index;
      return;
    }
    if (prev.digest !== digest || prev.chain !== chain) {
      throw new SafetyViolation(
        "state-machine-safety",
        `index ${e.index}: node ${node} applied ${digest} (chain ${chain}) but node ${prev.node} applied ${prev.digest} (chain ${prev.chain})`,
      );
    }
  }

  /** A restored snapshot must equal the state every other node had at that index. */
  onRestore(node: number, index: number, chain: number): void {
    const prev = this.applied.get(index);
    if (prev && prev.chain !== chain) {
      throw new SafetyViolation(
        "snapshot-mismatch",
        `node ${node} restored a snapshot at ${index} with chain ${chain}, expected ${prev.chain}`,
      );
    }
  }

  /** A commit index never moves back within one incarnation of a node (or below what it persisted). */
  onCommit(node: number, commit: number): void {
    const prev = this.#commit.get(node) ?? 0;
    if (commit < prev) {
      throw new SafetyViolation(
        "commit-regressed",
        `node ${node} commit went from ${prev} to ${commit}`,
      );
    }
    this.#commit.set(node, commit);
  }

  /** Forgets a node's commit history (its disk was wiped, a new incarnation starts at 0). */
  resetCommit(node: number, to: number): void {
    this.#commit.set(node, to);
  }

  /**
   * Leader completeness (Raft §5.4): the leader of `term` holds every entry
   * committed in an earlier term, unless compacted behind its snapshot.
   * Entries applied anywhere are committed; one first applied while the
   * highest term led was below `term` was committed before `term`. (A later
   * one may belong to a higher term: a candidate of a lower term can still win
   * with votes cast before its voters heard of the higher one; seed 801883.)
   */
  onBecomeLeader(node: number, log: RaftLog, term: number): void {
    const first = log.firstIndex();
    const last = log.lastIndex();
    let required = 0;
    for (const [i, a] of this.applied) {
      if (a.committedBy < term && i > required) required = i;
    }
    if (last < required) {
      throw new SafetyViolation(
        "leader-completeness",
        `leader ${node} of term ${term} ends at ${last} but index ${required} was committed before`,
      );
    }
    for (let i = Math.max(first, 1); i <= required; i++) {
      const a = this.applied.get(i);
      if (!a || a.committedBy >= term) continue;
      const [e] = log.slice(i, i + 1, Number.MAX_SAFE_INTEGER);
      if (!e || entryDigest(e) !== a.digest) {
        throw new SafetyViolation(
          "leader-completeness",
          `leader ${node} has ${
            e ? entryDigest(e) : "nothing"
          } at committed index ${i}, expected ${a.digest}`,
        );
      }
    }
  }
}

/**
 * Log matching: if two logs have an entry with the same index and term, they
 * are identical up to it. Checks every pair over the range both still hold.
 */
export function checkLogMatching(logs: ReadonlyMap<number, RaftLog>): void {
  const ids = [...logs.keys()].sort((a, b) => a - b);
  const views = new Map(ids.map((id) => [id, logView(logs.get(id)!)]));
  for (let x = 0; x < ids.length; x++) {
    for (let y = x + 1; y < ids.length; y++) {
      const a = views.get(ids[x]!)!;
      const b = views.get(ids[y]!)!;
      const lo = Math.max(a.first, b.first);
      const hi = Math.min(a.first + a.ents.length - 1, b.first + b.ents.length - 1);
      let matched = false;
      for (let i = hi; i >= lo; i--) {
        const ea = a.ents[i - a.first]!;
        const eb = b.ents[i - b.first]!;
        if (!matched && ea.term === eb.term) matched = true;
        if (matched && entryDigest(ea) !== entryDigest(eb)) {
          throw new SafetyViolation(
            "log-matching",
            `nodes ${ids[x]} and ${ids[y]} agree on a later term but differ at ${i}: ${
              entryDigest(ea)
            } vs ${entryDigest(eb)}`,
          );
        }
      }
    }
  }
}

function logView(log: RaftLog): { first: number; ents: Entry[] } {
  const first = log.firstIndex();
  const last = log.lastIndex();
  if (last < first) return { first, ents: [] };
  return { first, ents: log.slice(first, last + 1, Number.MAX_SAFE_INTEGER) };
}
