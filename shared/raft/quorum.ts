/**
 * Majority quorum arithmetic over one voter set: the committed index and
 * the outcome of an election. Pure functions, no state.
 *
 * @module
 */

/** The outcome of counting votes. */
export enum VoteResult {
  /** Neither side has a majority yet. */
  Pending = 0,
  /** A majority granted. */
  Won = 1,
  /** A majority can no longer be reached. */
  Lost = 2,
}

/** Votes needed for a majority of `n` voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The largest index that a majority of `voters` have acknowledged, given each
 * voter's acknowledged index. An empty voter set commits nothing (0).
 */
export function committedIndex(voters: readonly number[], acked: (id: number) => number): number {
  if (voters.length === 0) return 0;
  const idx = voters.map(acked).sort((a, b) => b - a);
  return idx[majority(voters.length) - 1]!;
}

/**
 * Tallies `votes` (true = granted) cast by members of `voters`; votes from
 * non-voters are ignored. An empty voter set wins, so that the caller decides.
 */
export function voteResult(
  voters: readonly number[],
  votes: ReadonlyMap<number, boolean>,
): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = majority(voters.length);
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}
