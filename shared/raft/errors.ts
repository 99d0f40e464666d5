/**
 * Errors the raft module throws. Argument mistakes use the built-in
 * `RangeError`/`TypeError`; the classes here are conditions callers handle.
 *
 * @module
 */

/** Thrown by a {@linkcode Storage} when the requested index is behind the last snapshot. */
export class CompactedError extends Error {
  constructor(index: number, firstIndex: number) {
    super(`Cannot read index ${index} as it is compacted: first index is ${firstIndex}`);
    this.name = "CompactedError";
  }
}

/** Thrown by a {@linkcode Storage} when the requested index is past the last entry. */
export class UnavailableError extends Error {
  constructor(index: number, lastIndex: number) {
    super(`Cannot read index ${index} as it is not in the log: last index is ${lastIndex}`);
    this.name = "UnavailableError";
  }
}

/**
 * Thrown by a {@linkcode Storage} whose snapshot data is not in memory right
 * now: it is being loaded, and a later call will have it. The leader then
 * retries sending the snapshot on the follower's next heartbeat response.
 */
export class SnapshotTemporarilyUnavailableError extends Error {
  constructor(index: number) {
    super(`Cannot hand out snapshot ${index} yet as its data is being loaded`);
    this.name = "SnapshotTemporarilyUnavailableError";
  }
}

/** Thrown when a snapshot older than the storage's current one is applied or created. */
export class SnapshotOutOfDateError extends Error {
  constructor(index: number, current: number) {
    super(`Cannot use snapshot at ${index} as it is older than the current one at ${current}`);
    this.name = "SnapshotOutOfDateError";
  }
}

/**
 * Thrown by `propose` when the proposal cannot be accepted right now: there is no
 * leader, a leadership transfer is in progress, or too much is uncommitted; and
 * by the driver when a different entry was applied where the proposal's was.
 * Either way the proposal certainly does not apply, so the caller may retry
 * later; `leaderHint` names the leader when one is known.
 */
export class ProposalDroppedError extends Error {
  readonly leaderHint: number;
  constructor(reason: string, leaderHint = 0) {
    super(`Cannot accept the proposal as ${reason}`);
    this.name = "ProposalDroppedError";
    this.leaderHint = leaderHint;
  }
}

/**
 * A proposal's entry may or may not have been applied: a snapshot from the leader replaced the
 * log where it was, so the driver cannot tell. The caller must find out from the state machine
 * (for example by a request id carried in the entry).
 */
export class ProposalOutcomeUnknownError extends Error {
  readonly index: number;
  readonly term: number;
  constructor(index: number, term: number) {
    super(
      `Cannot tell whether the proposal at index ${index} (term ${term}) applied as a snapshot replaced the log: its outcome is unknown`,
    );
    this.name = "ProposalOutcomeUnknownError";
    this.index = index;
    this.term = term;
  }
}

/** Thrown by the driver when this node is not the leader; `leaderHint` is 0 when unknown. */
export class NotLeaderError extends Error {
  readonly leaderHint: number;
  constructor(leaderHint: number) {
    super(
      leaderHint
        ? `Cannot serve the request as this node is not the leader: leader is ${leaderHint}`
        : "Cannot serve the request as there is no leader",
    );
    this.name = "NotLeaderError";
    this.leaderHint = leaderHint;
  }
}

/** Thrown by the driver for calls made after it stopped. */
export class StoppedError extends Error {
  constructor() {
    super("Cannot serve the request as the raft node is stopped");
    this.name = "StoppedError";
  }
}

/**
 * Thrown by the driver when a proposal was not applied within its deadline.
 * Unlike {@linkcode ProposalDroppedError}, the outcome is unknown: the entry
 * may still commit.
 */
export class CommitTimeoutError extends Error {
  readonly leaderHint: number;
  constructor(timeoutMs: number, leaderHint = 0) {
    super(
      `Cannot confirm the proposal as it was not applied within ${timeoutMs} ms: it may still apply`,
    );
    this.name = "CommitTimeoutError";
    this.leaderHint = leaderHint;
  }
}
