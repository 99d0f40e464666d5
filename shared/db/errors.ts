/**
 * How cassemdb reports failures, shared by the server and both clients: the
 * metadata keys that carry the details, {@linkcode DbError} (a gRPC status
 * by name plus those details), and predicates to test an error with.
 *
 * ```ts
 * try {
 *   await db.set("app/k", "v", { condition: { modRevision: 7 } });
 * } catch (e) {
 *   if (isCompareFailed(e)) { ... }        // someone else wrote first
 *   else if (mayHaveApplied(e)) { ... }    // outcome unknown: read before retrying
 *   else throw e;
 * }
 * ```
 *
 * @module
 */

/** Metadata key: client address of the leader, on a NOT_LEADER answer. */
export const LEADER_ADDR = "x-cassem-leader";
/** Metadata key: the request field that was rejected, on INVALID_ARGUMENT and store refusals. */
export const FIELD = "x-cassem-field";
/** Metadata key: the oldest revision still in the watch history, on a compacted watch. */
export const COMPACT_REVISION = "x-cassem-compact-revision";
/** Metadata key: the store's revision when a read was answered NOT_FOUND (decimal). */
export const REVISION = "x-cassem-revision";
/** Metadata key: "1" when the server did not apply the request, so it is safe to retry. */
export const RETRYABLE = "x-cassem-retryable";
/**
 * Request metadata key: the caller's request id (1 to 128 printable ASCII
 * characters), which the node logs with every line about the call.
 */
export const REQUEST_ID_METADATA = "x-request-id";

/** The gRPC status codes by name (grpc/status.h). */
export const STATUS_CODES = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status by name. */
export type StatusName = keyof typeof STATUS_CODES;

const NAMES = new Map<number, StatusName>(
  Object.entries(STATUS_CODES).map(([k, v]) => [v, k as StatusName]),
);

/** The name of gRPC status `code` (UNKNOWN for a number that is none). */
export function statusName(code: number): StatusName {
  return NAMES.get(code) ?? "UNKNOWN";
}

/** Details a {@linkcode DbError} may carry. */
export interface DbErrorDetails {
  /** The request field that was rejected (`x-cassem-field`). */
  field?: string;
  /** The leader's client address (`x-cassem-leader`). */
  leaderAddr?: string;
  /** The server said it did not apply the request (`x-cassem-retryable: 1`). */
  retryable?: boolean;
  /** NOT_FOUND of a read: the revision it was served at (`x-cassem-revision`). */
  revision?: number;
  /** OUT_OF_RANGE of a watch: the oldest revision still kept (`x-cassem-compact-revision`). */
  compactRevision?: number;
  /** A write whose outcome is unknown: it may have applied. */
  mayHaveApplied?: boolean;
  /** The error this one reports, if any. */
  cause?: unknown;
}

/**
 * A cassemdb call failed. `code` is the gRPC status by name; the other
 * fields carry what the server (or the client) knows about it.
 */
export class DbError extends Error {
  /** The gRPC status by name. */
  readonly code: StatusName;
  /** The same status as its number. */
  readonly grpcCode: number;
  /** INVALID_ARGUMENT and store refusals: the request field at fault (proto path, e.g. `ops[1].set.key`). */
  readonly field: string | undefined;
  /** The leader's client address, when the node that answered knew it. */
  readonly leaderAddr: string | undefined;
  /** The server said it certainly did not apply the request: retrying cannot apply it twice. */
  readonly retryable: boolean;
  /** NOT_FOUND of a read: the revision it was served at. */
  readonly revision: number | undefined;
  /** OUT_OF_RANGE of a watch: the oldest revision the node still keeps. */
  readonly compactRevision: number | undefined;
  /**
   * A write whose outcome is unknown (the connection was lost after it was
   * sent, its deadline passed, the node answered UNAVAILABLE without saying
   * it did not apply it): it may have applied. Always false for reads and for
   * refusals.
   */
  readonly mayHaveApplied: boolean;

  /** An error with status `code` and `message` ("Cannot X as Y: current value is Z"). */
  constructor(code: StatusName, message: string, details: DbErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "DbError";
    this.code = code;
    this.grpcCode = STATUS_CODES[code];
    this.field = details.field;
    this.leaderAddr = details.leaderAddr;
    this.retryable = details.retryable ?? false;
    this.revision = details.revision;
    this.compactRevision = details.compactRevision;
    this.mayHaveApplied = details.mayHaveApplied ?? false;
  }
}

/**
 * A watch or list-and-watch handler threw: the watch ended, since the
 * consumer did not take the event. `cause` is what the handler threw.
 */
export class WatchHandlerError extends Error {
  /** The revision whose delivery failed (the snapshot's, for `onSnapshot`). */
  readonly revision: number;
  /** An error for a handler that threw `cause` while taking `revision`. */
  constructor(handler: string, revision: number, cause: unknown) {
    super(
      `Cannot go on watching as the ${handler} handler threw at revision ${revision}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = "WatchHandlerError";
    this.revision = revision;
  }
}

function hasCode(e: unknown, ...codes: StatusName[]): e is DbError {
  return e instanceof DbError && codes.includes(e.code);
}

/** Whether `e` is a {@linkcode DbError}. */
export function isDbError(e: unknown): e is DbError {
  return e instanceof DbError;
}

/** NOT_FOUND: the key (or member) does not exist. */
export function isNotFound(e: unknown): e is DbError {
  return hasCode(e, "NOT_FOUND");
}

/** ALREADY_EXISTS: a set without overwrite of an existing element (or a member added twice). */
export function isAlreadyExists(e: unknown): e is DbError {
  return hasCode(e, "ALREADY_EXISTS");
}

/** ABORTED: a condition did not hold (a lost compare-and-swap); nothing applied. */
export function isCompareFailed(e: unknown): e is DbError {
  return hasCode(e, "ABORTED");
}

/** INVALID_ARGUMENT: bad input, refused before anything was proposed; `e.field` names the field. */
export function isInvalidArgument(e: unknown): e is DbError & { field: string | undefined } {
  return hasCode(e, "INVALID_ARGUMENT");
}

/** FAILED_PRECONDITION: the store's shape forbids it (an element where a directory is needed, ...). */
export function isFailedPrecondition(e: unknown): e is DbError {
  return hasCode(e, "FAILED_PRECONDITION");
}

/**
 * UNAVAILABLE or DEADLINE_EXCEEDED: the cluster could not serve the call in
 * time (no leader, nodes down or cut off). Worth retrying later; for a write
 * check {@linkcode mayHaveApplied} first.
 */
export function isUnavailable(e: unknown): e is DbError {
  return hasCode(e, "UNAVAILABLE", "DEADLINE_EXCEEDED");
}

/** OUT_OF_RANGE of a watch: its history was compacted; re-list, then watch again. */
export function isCompacted(e: unknown): e is DbError & { compactRevision: number | undefined } {
  return hasCode(e, "OUT_OF_RANGE");
}

/** CANCELLED: the caller aborted the call or closed the client. */
export function isCancelled(e: unknown): e is DbError {
  return hasCode(e, "CANCELLED");
}

/**
 * Whether `e` is the failure of a write whose outcome is unknown: it may
 * have applied. Read the key before writing again (or write with a
 * condition that makes a second application fail).
 */
export function mayHaveApplied(e: unknown): boolean {
  return e instanceof DbError && e.mayHaveApplied;
}

/** The {@linkcode DbError} of a store refusal (`requests.ts` `Refusal`) or a rejected field. */
export function refusalError(r: { code: StatusName; field?: string; message: string }): DbError {
  return new DbError(r.code, r.message, r.field === undefined ? {} : { field: r.field });
}
