/**
 * Conditions of a cassemdb node that its gRPC handlers report; each maps to
 * one status in `grpc_errors.ts` (the one place).
 *
 * @module
 */

/**
 * A write whose outcome this node cannot tell: it may or may not have
 * applied. Answered UNAVAILABLE without `x-cassem-retryable`, so that no
 * client takes it for "not applied" and applies it twice.
 */
export class WriteOutcomeUnknownError extends Error {
  /** `why` completes "Cannot confirm the write as ...". */
  constructor(why: string) {
    super(`Cannot confirm the write as ${why}: its outcome is unknown and it may have applied`);
    this.name = "WriteOutcomeUnknownError";
  }
}

/**
 * A write that applied, whose result the request table no longer holds (it
 * was pushed out before the proposer read it). Answered UNAVAILABLE without
 * `x-cassem-retryable`: retrying would apply it twice.
 */
export class WriteResultLostError extends Error {
  /** The log index the write applied at. */
  readonly index: number;
  constructor(index: number) {
    super(
      `Cannot answer with the write's result as it applied at index ${index} but its result is no longer recorded: read the keys to see it`,
    );
    this.name = "WriteResultLostError";
    this.index = index;
  }
}

/**
 * This node applied its own removal from the cluster: it serves no watch
 * (its state no longer moves). Answered UNAVAILABLE; clients go elsewhere.
 */
export class NodeRemovedError extends Error {
  constructor(id: number) {
    super(
      `Cannot serve the watch as this node (id ${id}) was removed from the cluster: watch another node`,
    );
    this.name = "NodeRemovedError";
  }
}

/**
 * This node has had no leader for a long while: cut off from the others, or
 * removed from the cluster without having learnt it (a removed node stops
 * hearing from the leader, which need not tell it). Its state does not move,
 * so it serves no watch. Answered UNAVAILABLE; clients go elsewhere.
 */
export class NoLeaderError extends Error {
  constructor(ms: number) {
    super(
      `Cannot serve the watch as this node has had no leader for ${ms} ms (cut off from the cluster, or removed from it): watch another node`,
    );
    this.name = "NoLeaderError";
  }
}

/**
 * This node is stopping: its watches end. Answered UNAVAILABLE; clients
 * resume on another node after the last revision they received.
 */
export class NodeStoppingError extends Error {
  constructor() {
    super(
      "Cannot serve the watch as this node is stopping: resume on another node with start_revision one after the last revision received",
    );
    this.name = "NodeStoppingError";
  }
}

/**
 * A linearizable read could not settle which elements had expired: this
 * node's clock did not move past the read's uncertainty window (it went
 * back?). Answered UNAVAILABLE, retryable: a read changes nothing.
 */
export class ReadClockError extends Error {
  constructor(start: number) {
    super(
      `Cannot serve the read as this node's clock did not move past its expiry uncertainty window: the read started at ${start} and the clock reads ${Date.now()}`,
    );
    this.name = "ReadClockError";
  }
}
