/**
 * The errors adm answers with, and their HTTP status, in one place.
 *
 * Every failure a request can meet becomes one of these classes (or is
 * mapped to one by {@linkcode toAdmError}); the error handler
 * (`http/error_handler.ts`) turns it into JSON
 * `{ "error": { "code", "message", "field"? } }` with {@linkcode httpStatusOf}.
 * Messages read "Cannot X as Y: current value is Z" and never carry a stack.
 *
 * @module
 */

import { HTTPException } from "hono/http-exception";
import { CorruptRecordError, InvalidNameError } from "../shared/config/mod.ts";
import { isDbError, isUnavailable } from "../shared/db/mod.ts";

/** The machine-readable error codes, one per class. */
export type ErrorCode =
  | "invalid_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "precondition_failed"
  | "payload_too_large"
  | "unsupported_media_type"
  | "invalid_content"
  | "rate_limited"
  | "unavailable"
  | "internal";

/** Options of an {@linkcode AdmError}. */
export interface AdmErrorOptions {
  /** The request field at fault (`body.raw`, `query.limit`, `path.app`, `header.If-Match`). */
  field?: string;
  /** The error this one reports (logged, never sent). */
  cause?: unknown;
}

/** Base class of every error adm answers with; see {@linkcode httpStatusOf}. */
export abstract class AdmError extends Error {
  /** The machine-readable code. */
  abstract readonly code: ErrorCode;
  /** The request field at fault, when one is. */
  readonly field: string | undefined;
  /** An error with `message`, optionally naming the `field` at fault. */
  constructor(message: string, options: AdmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.field = options.field;
  }
}

/** 400: the request is malformed or invalid (a field, a parameter, a header). */
export class BadRequestError extends AdmError {
  /** Always "invalid_request". */
  readonly code = "invalid_request";
  override readonly name = "BadRequestError";
}

/** 401: no credentials, or credentials that are unknown, expired, revoked or of a disabled user. */
export class UnauthorizedError extends AdmError {
  /** Always "unauthorized". */
  readonly code = "unauthorized";
  override readonly name = "UnauthorizedError";
}

/** 403: the caller is known but its roles do not allow the route. */
export class ForbiddenError extends AdmError {
  /** Always "forbidden". */
  readonly code = "forbidden";
  override readonly name = "ForbiddenError";
}

/** 404: the app, env, element, user, token ... does not exist. */
export class NotFoundError extends AdmError {
  /** Always "not_found". */
  readonly code = "not_found";
  override readonly name = "NotFoundError";
}

/** 409: the change conflicts with the current state (exists already, deprecated app, ...). */
export class ConflictError extends AdmError {
  /** Always "conflict". */
  readonly code = "conflict";
  override readonly name = "ConflictError";
}

/** 412: `If-Match` named another version of the resource. */
export class PreconditionFailedError extends AdmError {
  /** Always "precondition_failed". */
  readonly code = "precondition_failed";
  override readonly name = "PreconditionFailedError";
}

/** 413: the body, or a field of it, is larger than allowed. */
export class PayloadTooLargeError extends AdmError {
  /** Always "payload_too_large". */
  readonly code = "payload_too_large";
  override readonly name = "PayloadTooLargeError";
}

/** 415: the body is not JSON. */
export class UnsupportedMediaTypeError extends AdmError {
  /** Always "unsupported_media_type". */
  readonly code = "unsupported_media_type";
  override readonly name = "UnsupportedMediaTypeError";
}

/** 422: the content does not parse as its type or violates its schema. */
export class InvalidContentError extends AdmError {
  /** Always "invalid_content". */
  readonly code = "invalid_content";
  override readonly name = "InvalidContentError";
  /** Extra facts for the body (`line`, `column`, `paths`), sent beside the message. */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** An error with `message`, the `field` at fault and optional `details`. */
  constructor(
    message: string,
    options: AdmErrorOptions & { details?: Record<string, unknown> } = {},
  ) {
    super(message, options);
    this.details = options.details;
  }
}

/** 429: too many attempts; retry after `retryAfterSeconds`. */
export class RateLimitedError extends AdmError {
  /** Always "rate_limited". */
  readonly code = "rate_limited";
  override readonly name = "RateLimitedError";
  /** Seconds until a retry may succeed (the `Retry-After` header). */
  readonly retryAfterSeconds: number;
  /** An error with `message`, retryable after `retryAfterSeconds`. */
  constructor(message: string, retryAfterSeconds: number, options: AdmErrorOptions = {}) {
    super(message, options);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** 503: cassemdb cannot be reached (or did not answer in time); retry after `retryAfterSeconds`. */
export class UnavailableError extends AdmError {
  /** Always "unavailable". */
  readonly code = "unavailable";
  override readonly name = "UnavailableError";
  /** Seconds to wait before retrying (the `Retry-After` header). */
  readonly retryAfterSeconds: number;
  /** An error with `message`, retryable after `retryAfterSeconds` (default 1). */
  constructor(message: string, retryAfterSeconds = 1, options: AdmErrorOptions = {}) {
    super(message, options);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** 500: a bug or damaged data; the message sent is generic, the cause is logged. */
export class InternalError extends AdmError {
  /** Always "internal". */
  readonly code = "internal";
  override readonly name = "InternalError";
}

/** The one mapping of error classes to HTTP statuses. */
const STATUS: ReadonlyArray<readonly [abstract new (...a: never[]) => AdmError, number]> = [
  [BadRequestError, 400],
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
  [PreconditionFailedError, 412],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaTypeError, 415],
  [InvalidContentError, 422],
  [RateLimitedError, 429],
  [UnavailableError, 503],
  [InternalError, 500],
];

/** The HTTP status of an {@linkcode AdmError}. */
export function httpStatusOf(error: AdmError): number {
  for (const [cls, status] of STATUS) if (error instanceof cls) return status;
  return 500;
}

/**
 * Any thrown value as an {@linkcode AdmError}: adm's own as they are;
 * Hono's HTTP exceptions (malformed JSON, body limit, media type) by
 * status; invalid names as 400 naming the field; cassemdb being unreachable
 * as 503; anything else as a 500 whose cause is kept for the log.
 */
export function toAdmError(e: unknown): AdmError {
  if (e instanceof AdmError) return e;
  if (e instanceof InvalidNameError) return new BadRequestError(e.message, { field: e.field });
  if (e instanceof HTTPException) {
    switch (e.status) {
      case 400:
        return new BadRequestError(
          /malformed json/i.test(e.message)
            ? "Cannot read the body as it is not valid JSON"
            : `Cannot read the request as it is malformed: ${e.message}`,
          { field: "body" },
        );
      case 413:
        return new PayloadTooLargeError(e.message, { field: "body" });
      case 415:
        return new UnsupportedMediaTypeError(
          "Cannot read the body as its Content-Type must be application/json",
          { field: "header.Content-Type" },
        );
      default:
        return new InternalError("Cannot answer the request as an internal error occurred", {
          cause: e,
        });
    }
  }
  if (isUnavailable(e)) {
    return new UnavailableError(
      "Cannot reach cassemdb as it did not answer in time: retry later",
      1,
      { cause: e },
    );
  }
  if (e instanceof CorruptRecordError || isDbError(e)) {
    return new InternalError("Cannot answer the request as the stored data could not be used", {
      cause: e,
    });
  }
  return new InternalError("Cannot answer the request as an internal error occurred", {
    cause: e,
  });
}

/** The JSON body of an error response. */
export interface ErrorBody {
  /** The error. */
  error: {
    /** Machine-readable code. */
    code: ErrorCode;
    /** A sentence for people. */
    message: string;
    /** The request field at fault, when one is. */
    field?: string;
    /** Extra facts for some codes (`invalid_content`: line, column, paths). */
    [extra: string]: unknown;
  };
}

/** The response body of `e`. */
export function errorBody(e: AdmError): ErrorBody {
  const body: ErrorBody = { error: { code: e.code, message: e.message } };
  if (e.field !== undefined) body.error.field = e.field;
  if (e instanceof InvalidContentError && e.details) Object.assign(body.error, e.details);
  return body;
}
