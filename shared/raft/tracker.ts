/**
 * ProgressTracker holds the membership (voters and learners), the leader's
 * progress for each member, and the votes of the current election.
 *
 * @module
 */

import { Inflights } from "./inflights.ts";
import { Progress } from "./progress.ts";
import { committedIndex, VoteResult, voteResult } from "./quorum.ts";
import { byNumber } from "./storage.ts";
import type { ConfState } from "./types.ts";

/** Membership, per-member progress and votes. Invariant: every member has a Progress. */
export class ProgressTracker {
  /** Voting members, sorted. */
  voters: number[] = [];
  /** Non-voting members, sorted. Invariant: disjoint from `voters`. */
  learners: number[] = [];
  readonly progress = new Map<number, Progress>();
  readonly votes = new Map<number, boolean>();
  readonly #maxInflight: number;
  readonly #maxInflightBytes: number;

  constructor(maxInflight: number, maxInflightBytes: number) {
    this.#maxInflight = maxInflight;
    this.#maxInflightBytes = maxInflightBytes;
  }

  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  isVoter(id: number): boolean {
    return this.voters.includes(id);
  }

  isLearner(id: number): boolean {
    return this.learners.includes(id);
  }

  /** Members in id order. */
  ids(): number[] {
    return [...this.progress.keys()].sort(byNumber);
  }

  /** Replaces the membership with `cs`; every member starts probing at `next`. */
  reset(cs: ConfState, next: number): void {
    this.progress.clear();
    this.voters = [...cs.voters].sort(byNumber);
    this.learners = [...cs.learners].sort(byNumber);
    for (const id of this.voters) this.progress.set(id, this.#newProgress(next, false));
    for (const id of this.learners) this.progress.set(id, this.#newProgress(next, true));
  }

  /** Adds a voter, or promotes a learner. */
  addVoter(id: number, next: number): void {
    if (this.isVoter(id)) return;
    this.learners = this.learners.filter((x) => x !== id);
    this.voters = [...this.voters, id].sort(byNumber);
    const pr = this.progress.get(id);
    if (pr) pr.isLearner = false;
    else this.progress.set(id, this.#newProgress(next, false));
  }

  /** Adds a learner; a voter stays a voter. */
  addLearner(id: number, next: number): void {
    if (this.isVoter(id) || this.isLearner(id)) return;
    this.learners = [...this.learners, id].sort(byNumber);
    this.progress.set(id, this.#newProgress(next, true));
  }

  remove(id: number): void {
    this.voters = this.voters.filter((x) => x !== id);
    this.learners = this.learners.filter((x) => x !== id);
    this.progress.delete(id);
  }

  /** The largest index acknowledged by a majority of voters. */
  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records `id`'s vote (the first one counts) and returns the election outcome. */
  recordVote(id: number, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.voters, this.votes);
  }

  /** Whether a majority of voters were recently active; `self` always counts. */
  quorumActive(self: number): boolean {
    const active = new Map<number, boolean>();
    for (const id of this.voters) {
      active.set(id, id === self || (this.progress.get(id)?.recentActive ?? false));
    }
    return voteResult(this.voters, active) === VoteResult.Won;
  }

  #newProgress(next: number, isLearner: boolean): Progress {
    return new Progress(next, isLearner, new Inflights(this.#maxInflight, this.#maxInflightBytes));
  }
}
