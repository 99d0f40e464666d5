/**
 * Safety checkers run by the simulator: election safety, log matching,
 * leader completeness, state-machine safety, that a commit index never moves
 * back, that nothing is applied beyond the commit index, that an applied
 * entry is never replaced in a node's committed log (in memory or on disk),
 * that a leader has at most one membership change of its own above its
 * applied index, that nothing a node sends (a granted vote, an append answer,
 * the leader's own match) claims more than its disk holds, and that the
 * driver's verdict on each proposal matches what applied. A violation throws
 * {@linkcode SafetyViolation}.
 *
 * @module
 */

import type { RaftLog } from "../../shared/raft/log.ts";
import {
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
} from "../../shared/raft/types.ts";
import { decodeWrite, entryDigest } from "./state_machine.ts";

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
  | "liveness"
  | "applied-uncommitted"
  | "applied-entry-replaced"
  | "membership-changes"
  | "sent-before-durable"
  | "proposal-outcome";

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
export interface Applied {
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

  /**
   * State-machine safety: every node applies the same entry at an index, and
   * only once it is committed there (`committed` is the node's commit index).
   * Returns whether this is the first time any node applied the index.
   */
  onApply(node: number, e: Entry, chain: number, committed: number): boolean {
    if (e.index > committed) {
      throw new SafetyViolation(
        "applied-uncommitted",
        `node ${node} applied index ${e.index} but its commit index is ${committed}`,
      );
    }
    const digest = entryDigest(e);
    const prev = this.applied.get(e.index);
    if (prev === undefined) {
      this.applied.set(e.index, { digest, chain, node, committedBy: this.#maxLeaderTerm });
      if (e.index > this.maxApplied) this.maxApplied = e.index;
      return true;
    }
    if (prev.digest !== digest || prev.chain !== chain) {
      throw new SafetyViolation(
        "state-machine-safety",
        `index ${e.index}: node ${node} applied ${digest} (chain ${chain}) but node ${prev.node} applied ${prev.digest} (chain ${prev.chain})`,
      );
    }
    return false;
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

/**
 * An entry applied anywhere is never replaced in a node's committed log:
 * `entries`, a run of the committed part of one node's log (in memory or on
 * disk, as `where` says), holds exactly the entries applied at those indexes.
 */
export function checkCommittedPrefix(
  node: number,
  where: string,
  entries: readonly Entry[],
  applied: ReadonlyMap<number, Applied>,
): void {
  for (const e of entries) {
    const a = applied.get(e.index);
    if (a && a.digest !== entryDigest(e)) {
      throw new SafetyViolation(
        "applied-entry-replaced",
        `node ${node} holds ${
          entryDigest(e)
        } in its ${where} at committed index ${e.index} where ${a.digest} was applied`,
      );
    }
  }
}

/**
 * Raft's single-server membership changes: a leader appends a change of its
 * own only once every earlier change is applied, so its log never holds a
 * change of its term above its applied index beside another one.
 */
export function checkPendingConfChanges(
  node: number,
  log: RaftLog,
  applied: number,
  term: number,
): void {
  const last = log.lastIndex();
  const from = Math.max(applied + 1, log.firstIndex());
  if (last < from) return;
  let changes = 0;
  let own = 0;
  for (const e of log.slice(from, last + 1, Number.MAX_SAFE_INTEGER)) {
    if (e.type !== EntryType.ConfChange) continue;
    changes++;
    if (e.term === term) own++;
  }
  if (own > 0 && changes > 1) {
    throw new SafetyViolation(
      "membership-changes",
      `leader ${node} of term ${term} holds ${changes} membership changes above its applied index ${applied}`,
    );
  }
}

/** What a node's disk durably holds, for {@linkcode checkSentDurable}. */
export interface DurableView {
  hardState(): HardState;
  lastIndex(): number;
  firstIndex(): number;
  term(index: number): number;
}

/**
 * Nothing a node sends claims more than its disk holds (otherwise a crash
 * makes it forget a vote it granted or an entry the leader counted): a
 * granted vote is durable for its term, and an append answer's index is on
 * disk under a durable term at least the message's. `logTerm` gives the
 * sender's in-memory term at an index, to compare with the disk's.
 */
export function checkSentDurable(
  node: number,
  m: Message,
  disk: DurableView,
  logTerm: (index: number) => number | undefined,
): void {
  const hs = disk.hardState();
  if ((m.type === MessageType.VoteResp) && !m.reject) {
    if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to)) {
      throw new SafetyViolation(
        "sent-before-durable",
        `node ${node} granted its vote in term ${m.term} to ${m.to} but its disk has term ${hs.term} vote ${hs.vote}`,
      );
    }
    return;
  }
  if (m.type === MessageType.AppResp && !m.reject) {
    if (hs.term < m.term) {
      throw new SafetyViolation(
        "sent-before-durable",
        `node ${node} answered an append in term ${m.term} but its disk has term ${hs.term}`,
      );
    }
    if (disk.lastIndex() < m.index) {
      throw new SafetyViolation(
        "sent-before-durable",
        `node ${node} acknowledged index ${m.index} but its disk ends at ${disk.lastIndex()}`,
      );
    }
    if (m.index >= disk.firstIndex()) {
      const mem = logTerm(m.index);
      const onDisk = disk.term(m.index);
      if (mem !== undefined && mem !== onDisk) {
        throw new SafetyViolation(
          "sent-before-durable",
          `node ${node} acknowledged index ${m.index} of term ${mem} but its disk has term ${onDisk} there`,
        );
      }
    }
  }
}

/** The leader counts its own copy of an entry only once its disk holds it. */
export function checkOwnMatch(node: number, match: number, disk: DurableView): void {
  if (match > disk.lastIndex()) {
    throw new SafetyViolation(
      "sent-before-durable",
      `leader ${node} counts its own match at ${match} but its disk ends at ${disk.lastIndex()}`,
    );
  }
}

/**
 * The driver's verdict on each proposal, against what applied: a proposal
 * rejected with ProposalDroppedError never applies anywhere; a resolved one
 * is the entry applied at its index (on every node, by state-machine safety);
 * any other outcome (timeout, outcome unknown) may go either way.
 */
export class OutcomeChecker {
  /** attempt → why it was reported dropped. */
  readonly #dropped = new Map<string, string>();
  /** index → the attempt some node resolved there. */
  readonly #resolvedAt = new Map<number, string>();
  /** attempt → the index where it first applied. */
  readonly #appliedAttempt = new Map<string, number>();
  /** index → the attempt applied there ("" for an entry without a write). */
  readonly #attemptAt = new Map<number, string>();
  readonly stats = { attempts: 0, resolved: 0, droppedVerdicts: 0 };

  /** An attempt was handed to a driver. */
  onPropose(_attempt: string): void {
    this.stats.attempts++;
  }

  /** An entry applied for the first time anywhere. */
  onFirstApply(e: Entry): void {
    const attempt = decodeWrite(e)?.attempt ?? "";
    this.#attemptAt.set(e.index, attempt);
    if (attempt) this.#appliedAttempt.set(attempt, e.index);
    const why = this.#dropped.get(attempt);
    if (attempt && why !== undefined) {
      throw new SafetyViolation(
        "proposal-outcome",
        `write ${attempt} applied at ${e.index} but the driver said it was dropped (${why})`,
      );
    }
    const resolved = this.#resolvedAt.get(e.index);
    if (resolved !== undefined && resolved !== attempt) {
      throw new SafetyViolation(
        "proposal-outcome",
        `the driver resolved write ${resolved} at ${e.index} but ${
          attempt || "another entry"
        } applied there`,
      );
    }
  }

  /** A driver resolved `attempt` with `index`. */
  onResolved(attempt: string, index: number): void {
    this.stats.resolved++;
    this.#resolvedAt.set(index, attempt);
    const there = this.#attemptAt.get(index);
    if (there !== undefined && there !== attempt) {
      throw new SafetyViolation(
        "proposal-outcome",
        `the driver resolved write ${attempt} at ${index} but ${
          there || "another entry"
        } applied there`,
      );
    }
  }

  /** A driver rejected `attempt` with ProposalDroppedError. */
  onDropped(attempt: string, why: string): void {
    this.stats.droppedVerdicts++;
    this.#dropped.set(attempt, why);
    const at = this.#appliedAttempt.get(attempt);
    if (at !== undefined) {
      throw new SafetyViolation(
        "proposal-outcome",
        `the driver said write ${attempt} was dropped (${why}) but it applied at ${at}`,
      );
    }
  }
}
