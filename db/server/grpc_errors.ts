/**
 * Maps cassemdb failures to gRPC statuses, once, with the metadata the
 * shared client reads (leader address, rejected field, retry safety).
 *
 * @module
 */

import { grpc } from "../../shared/grpc.ts";
import { COMPACT_REVISION, FIELD, LEADER_ADDR, RETRYABLE, REVISION } from "../../shared/db/mod.ts";
import {
  CommitTimeoutError,
  NotLeaderError,
  ProposalDroppedError,
  ProposalOutcomeUnknownError,
  StoppedError,
} from "../../shared/raft/mod.ts";
import {
  CompactedError as HistoryCompactedError,
  type ErrorCode,
  InvalidArgumentError,
  WatcherFellBehindError,
} from "../../shared/store/mod.ts";
import {
  NodeRemovedError,
  NodeStoppingError,
  NoLeaderError,
  ReadClockError,
  WatchLeaderlessError,
  WriteOutcomeUnknownError,
  WriteResultLostError,
} from "./errors.ts";

/**
 * An answer that is a gRPC status: its code, a message, and the metadata the
 * shared client reads. Handlers throw it (or a domain error that
 * {@linkcode toStatus} maps to one); grpc-js sends it as the call's status.
 */
export class StatusError extends Error {
  readonly code: grpc.status;
  readonly details: string;
  readonly metadata: grpc.Metadata;
  constructor(code: grpc.status, details: string, md: Record<string, string> = {}) {
    super(details);
    this.name = "StatusError";
    this.code = code;
    this.details = details;
    this.metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(md)) this.metadata.set(k, v);
  }
}

/** A store result that failed, as the store reports it. */
export interface StoreFailure {
  code: ErrorCode;
  field?: string;
  message: string;
}

/** The status of a store failure. */
export function storeError(f: StoreFailure): StatusError {
  return new StatusError(grpc.status[f.code], f.message, f.field ? { [FIELD]: f.field } : {});
}

/** A read of a key that does not exist, with the revision it was read at. */
export function notFound(message: string, revision: number): StatusError {
  return new StatusError(grpc.status.NOT_FOUND, message, { [REVISION]: String(revision) });
}

/** A watch that asked for compacted history. */
export function compactedError(compactRevision: number): StatusError {
  return new StatusError(
    grpc.status.OUT_OF_RANGE,
    `Cannot watch from that revision as it is compacted: the oldest kept is ${compactRevision}; re-list and watch again`,
    { [COMPACT_REVISION]: String(compactRevision) },
  );
}

/**
 * Maps any error thrown while serving to a status. `leaderAddrOf` turns a
 * leader id into its client address for NOT_LEADER answers.
 */
export function toStatus(
  e: unknown,
  leaderAddrOf: (id: number) => string | undefined,
): StatusError {
  if (e instanceof StatusError) return e;
  if (e instanceof InvalidArgumentError) {
    return new StatusError(grpc.status.INVALID_ARGUMENT, e.message, { [FIELD]: e.field });
  }
  if (e instanceof NotLeaderError) {
    const addr = e.leaderHint ? leaderAddrOf(e.leaderHint) : undefined;
    return new StatusError(
      grpc.status.UNAVAILABLE,
      addr
        ? `Cannot serve the request as this node is not the leader: the leader is at ${addr}`
        : e.message,
      addr ? { [LEADER_ADDR]: addr, [RETRYABLE]: "1" } : { [RETRYABLE]: "1" },
    );
  }
  if (e instanceof NoLeaderError) {
    // Thrown before anything was proposed: certainly not applied.
    return new StatusError(grpc.status.UNAVAILABLE, e.message, { [RETRYABLE]: "1" });
  }
  if (e instanceof CommitTimeoutError) {
    return new StatusError(grpc.status.DEADLINE_EXCEEDED, e.message);
  }
  // "Certainly not applied": only these may carry the retryable flag.
  if (e instanceof ProposalDroppedError) {
    return new StatusError(grpc.status.UNAVAILABLE, e.message, { [RETRYABLE]: "1" });
  }
  if (e instanceof StoppedError || e instanceof ReadClockError) {
    return new StatusError(grpc.status.UNAVAILABLE, e.message, { [RETRYABLE]: "1" });
  }
  // The outcome is unknown, or the write applied: never retryable.
  if (e instanceof ProposalOutcomeUnknownError) {
    return new StatusError(grpc.status.UNAVAILABLE, `${e.message} and it may have applied`);
  }
  if (e instanceof WriteOutcomeUnknownError || e instanceof WriteResultLostError) {
    return new StatusError(grpc.status.UNAVAILABLE, e.message);
  }
  // How a watch ends.
  if (e instanceof HistoryCompactedError) return compactedError(e.compactRevision);
  if (e instanceof WatcherFellBehindError) {
    // No revision named: messages sent just before a failing status can be
    // lost on the way (grpc-js drops those its caller has not read yet), so
    // only the client knows the last revision it received.
    return new StatusError(
      grpc.status.RESOURCE_EXHAUSTED,
      "Cannot keep up with this watcher as it fell too far behind: resume with start_revision one after the last revision received",
    );
  }
  if (
    e instanceof NodeRemovedError || e instanceof NodeStoppingError ||
    e instanceof WatchLeaderlessError
  ) {
    return new StatusError(grpc.status.UNAVAILABLE, e.message);
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new StatusError(
    grpc.status.INTERNAL,
    `Cannot serve the request as an internal error occurred: ${msg}`,
  );
}

/** A request as grpc-js hands it to a handler (shaped by the .proto). */
// deno-lint-ignore no-explicit-any
export type Req = any;
/** A grpc-js unary handler. */
export type Unary = (
  call: grpc.ServerUnaryCall<Req, unknown>,
  cb: grpc.sendUnaryData<unknown>,
) => void;

/** Adapts async handlers to grpc-js unary callbacks, answering errors with `statusOf(e)`. */
export function unaryHandlers(
  statusOf: (e: unknown) => StatusError,
): (fn: (req: Req) => Promise<unknown>) => Unary {
  return (fn) => (call, cb) => {
    fn(call.request).then((resp) => cb(null, resp), (e) => cb(statusOf(e)));
  };
}
