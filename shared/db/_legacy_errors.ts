/**
 * How cassemdb reports errors over gRPC, shared by the server and the client:
 * status codes plus metadata keys that carry the details.
 *
 * @module
 */

/** Metadata key: client address of the leader, on a NOT_LEADER answer. */
export const LEADER_ADDR = "x-cassem-leader";
/** Metadata key: the request field that was rejected, on INVALID_ARGUMENT. */
export const FIELD = "x-cassem-field";
/** Metadata key: the oldest revision still in the watch history, on a compacted watch. */
export const COMPACT_REVISION = "x-cassem-compact-revision";
/** Metadata key: the store's revision when a read was answered NOT_FOUND (decimal). */
export const REVISION = "x-cassem-revision";
/** Metadata key: "1" when the server did not apply the request, so it is safe to retry. */
export const RETRYABLE = "x-cassem-retryable";

/** A cassemdb call failed; `code` is the gRPC status code. */
export class DbError extends Error {
  readonly code: number;
  readonly field: string | undefined;
  readonly leaderAddr: string | undefined;
  /** The server did not apply the request: retrying cannot apply it twice. */
  readonly retryable: boolean;
  /** On NOT_FOUND of a read: the revision it was served at. */
  readonly revision: number | undefined;
  constructor(
    code: number,
    message: string,
    extra: { field?: string; leaderAddr?: string; retryable?: boolean; revision?: number } = {},
  ) {
    super(message);
    this.name = "DbError";
    this.code = code;
    this.field = extra.field;
    this.leaderAddr = extra.leaderAddr;
    this.retryable = extra.retryable ?? false;
    this.revision = extra.revision;
  }
}

/** A watch asked for changes older than the history keeps: re-list, then watch again. */
export class WatchCompactedError extends Error {
  readonly compactRevision: number;
  constructor(compactRevision: number) {
    super(
      `Cannot resume the watch as its revisions are compacted: the oldest kept is ${compactRevision}`,
    );
    this.name = "WatchCompactedError";
    this.compactRevision = compactRevision;
  }
}
