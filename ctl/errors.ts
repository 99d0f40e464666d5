/**
 * cassemctl's errors and their exit codes, in one place: each class is one
 * kind of failure a script may want to tell apart, and
 * {@linkcode fromHttp} / {@linkcode fromDbError} map cassemadm's HTTP
 * statuses and cassemdb's gRPC statuses onto them.
 *
 * | exit | class               | when                                                          |
 * | ---: | ------------------- | ------------------------------------------------------------- |
 * |    0 |                     | done                                                          |
 * |    1 | `CtlError`          | anything else (a server error, an unexpected answer)          |
 * |    2 | `UsageError`        | the command line is wrong (unknown command or flag, bad name) |
 * |    3 | `AuthError`         | not logged in, credentials refused or expired, not allowed    |
 * |    4 | `NotFoundError`     | the app, env, element, version, key... does not exist         |
 * |    5 | `ConflictError`     | it conflicts with the current state (exists, changed meanwhile, pending version) |
 * |    6 | `UnreachableError`  | the server cannot be reached, or cannot reach cassemdb         |
 * |    7 | `InvalidInputError` | the server refused the input (bad content, too large, bad field) |
 *
 * @module
 */

import { DbError } from "../shared/db/mod.ts";

/** Exit code of a command that did what it was asked. */
export const EXIT_OK = 0;

/** A failure of a command; `exitCode` tells scripts which kind (1: none of the others). */
export class CtlError extends Error {
  /** The process's exit code for this failure. */
  readonly exitCode: number = 1;
  /** `message`: one line, "Cannot X as Y: current value is Z". */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CtlError";
  }
}

/** The command line is wrong: an unknown command or flag, a missing argument, a bad name. */
export class UsageError extends CtlError {
  override readonly exitCode = 2;
  /** `message` names the argument or flag. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Not logged in, credentials refused or expired, or the caller may not do this. */
export class AuthError extends CtlError {
  override readonly exitCode = 3;
  /** `message` says what to do (log in, ask an owner). */
  constructor(message: string) {
    super(message);
    this.name = "AuthError";
  }
}

/** What the command names does not exist. */
export class NotFoundError extends CtlError {
  override readonly exitCode = 4;
  /** `message` names what is missing. */
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

/** The command conflicts with the current state (exists, changed meanwhile, a pending version). */
export class ConflictError extends CtlError {
  override readonly exitCode = 5;
  /** `message` says what is in the way. */
  constructor(message: string) {
    super(message);
    this.name = "ConflictError";
  }
}

/** The server cannot be reached, or cannot reach its own backend (cassemdb). */
export class UnreachableError extends CtlError {
  override readonly exitCode = 6;
  /** `message` names the address. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UnreachableError";
  }
}

/** The server refused the input: bad content, a bad field, too large. */
export class InvalidInputError extends CtlError {
  override readonly exitCode = 7;
  /** `message` names the field (and for content, the line and column). */
  constructor(message: string) {
    super(message);
    this.name = "InvalidInputError";
  }
}

/** The exit code of `e`: its class's, or 1 for any other error. */
export function exitCodeOf(e: unknown): number {
  return e instanceof CtlError ? e.exitCode : 1;
}

/** What cassemadm's JSON error body holds (`{ error: { code, message, field? } }`). */
export interface AdmErrorBody {
  /** A short code such as `not_found`, `conflict`, `invalid_content`. */
  code?: string;
  /** The server's sentence. */
  message?: string;
  /** The request field at fault (`body.raw`, `path.app`, `query.limit`). */
  field?: string;
}

/**
 * The error for an HTTP answer of cassemadm with status `status` (not 2xx)
 * and error body `body`; `what` says what was asked ("GET /api/apps/shop").
 */
export function fromHttp(status: number, body: AdmErrorBody | undefined, what: string): CtlError {
  const said = body?.message ?? `${what} answered ${status}`;
  // The field helps with input errors; for credentials it is noise.
  const field = body?.field && !said.includes(body.field) && status !== 401
    ? ` (${body.field})`
    : "";
  const message = `${said}${field}`;
  switch (status) {
    case 401:
      return new AuthError(`${message} (cassemctl login; or set CASSEM_TOKEN)`);
    case 403:
      return new AuthError(message);
    case 404:
      return new NotFoundError(message);
    case 409:
    case 412:
      return new ConflictError(message);
    case 400:
    case 413:
    case 415:
    case 422:
      return new InvalidInputError(message);
    case 502:
    case 503:
    case 504:
      return new UnreachableError(message);
  }
  return new CtlError(`${message} (HTTP ${status})`);
}

/** grpc-js's words for a node it could not connect to. */
export const CONNECT_FAILED =
  /ECONNREFUSED|No connection established|Name resolution failed|EHOSTUNREACH|ENETUNREACH/i;

/**
 * The error for a failed cassemdb call (`cassemctl db ...`); `endpoints`
 * are the addresses asked, for a node that cannot be reached.
 */
export function fromDbError(e: DbError, endpoints: readonly string[] = []): CtlError {
  const field = e.field && !e.message.includes(e.field) ? ` (${e.field})` : "";
  const message = `${e.message}${field}`;
  if (e.code === "UNAVAILABLE" && CONNECT_FAILED.test(e.message) && !e.mayHaveApplied) {
    const refused = /ECONNREFUSED/.test(e.message)
      ? "the connection was refused"
      : "no connection could be made";
    return new UnreachableError(
      `Cannot reach cassemdb at ${
        endpoints.join(",") || "its endpoints"
      } as ${refused}: is it running? (pass --endpoints, or set CASSEMDB_ENDPOINTS)`,
    );
  }
  switch (e.code) {
    case "NOT_FOUND":
      return new NotFoundError(message);
    case "ALREADY_EXISTS":
    case "ABORTED":
    case "FAILED_PRECONDITION":
      return new ConflictError(message);
    case "INVALID_ARGUMENT":
    case "OUT_OF_RANGE":
      return new InvalidInputError(message);
    case "UNAVAILABLE":
    case "DEADLINE_EXCEEDED":
      return new UnreachableError(
        e.mayHaveApplied
          ? `${message} (the write may have applied: read before retrying)`
          : message,
      );
    case "UNAUTHENTICATED":
    case "PERMISSION_DENIED":
      return new AuthError(message);
  }
  return new CtlError(`${message} (${e.code})`);
}
