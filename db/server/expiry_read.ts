/**
 * When a linearizable read hides an expired element, and when it must wait
 * before it answers.
 *
 * The rule: a linearizable read never returns an element whose `expire_at`
 * had passed, by the leader's clock, at the moment the read takes effect (a
 * moment between its arrival and its answer). Expiry itself goes through the
 * log and lags: the leader's scan runs every 100 ms and the expire entry must
 * commit and apply; until then the element is still in the store, so reads
 * filter it themselves.
 *
 * The leader reads its own clock: it hides every element with
 * `expire_at ≤ now`, its time when it answers.
 *
 * A follower does not know the leader's clock. It assumes the two clocks
 * differ by at most `skew` ({@linkcode MAX_CLOCK_SKEW_MS}). With `start` its
 * clock when the read arrived and `now` when it answers, the leader's clock
 * was at most `start + skew` at the start and at least `now - skew` at the
 * end, so it passed every time in between, and the cut `now - skew` is a
 * leader time during the read whenever no element's `expire_at` lies in
 * `(now - skew, start + skew]` (all cuts in that window then hide the same
 * elements). When one does, the follower waits until its clock reads
 * `start + 2·skew`, reads again, and the window is empty. So an answer is
 * delayed, by at most 2·skew, only when it holds an element that expires
 * within about a skew of now; every other read answers at once.
 *
 * Why not carry the leader's time in the read path instead: the ReadIndex
 * round that confirms a read is the raft module's (its messages carry no
 * time), and a time from the leader would still be off by the round trip.
 * The bound is an assumption (NTP keeps servers within milliseconds; 500 ms
 * is generous): if two clocks differ by more, a follower's read can return
 * an element up to the excess after its expiry, or hide one that much early.
 *
 * @module
 */

/** The largest difference assumed between two nodes' clocks, in ms. */
export const MAX_CLOCK_SKEW_MS = 500;

/** The clock readings of one read on one node. */
export interface ReadClock {
  /** This node's clock when the read arrived (before its ReadIndex round), ms since the epoch. */
  start: number;
  /** This node's clock now, as it answers. */
  now: number;
  /** 0 on the leader (its own clock decides); {@linkcode MAX_CLOCK_SKEW_MS} on a follower. */
  skew: number;
}

/** The cut of a read: it hides the elements with `0 < expireAt ≤ cut`. */
export function expiryCut(c: ReadClock): number {
  return c.now - c.skew;
}

/**
 * Whether `e` is hidden by `cut`: an element whose ttl ran out at or before
 * it. A cut of `undefined` (a serializable read) hides nothing.
 */
export function expiredBy(e: { expireAt: number }, cut: number | undefined): boolean {
  return cut !== undefined && e.expireAt > 0 && e.expireAt <= cut;
}

/**
 * When the read must answer no sooner than (this node's clock, ms), given
 * the elements it would return under {@linkcode expiryCut}; `undefined` when
 * it may answer now. Read again after waiting: the cut will have moved.
 */
export function answerNotBefore(
  c: ReadClock,
  returned: readonly { expireAt: number }[],
): number | undefined {
  const cut = expiryCut(c);
  const latestStart = c.start + c.skew;
  for (const e of returned) {
    if (e.expireAt > cut && e.expireAt <= latestStart) return c.start + 2 * c.skew;
  }
  return undefined;
}
