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

/** This node is stopping: its watches end. Answered UNAVAILABLE; clients resume elsewhere. */
export class NodeStoppingError extends Error {
  /** `resumeFrom` is the start_revision that resumes the ended watch without a gap. */
  constructor(resumeFrom?: number) {
    super(
      resumeFrom === undefined
        ? "Cannot serve the watch as this node is stopping: watch another node"
        : `Cannot serve the watch as this node is stopping: resume with start_revision ${resumeFrom} on another node`,
    );
    this.name = "NodeStoppingError";
  }
}
