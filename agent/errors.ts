/**
 * The agent's errors and the one place they map to an HTTP status and a
 * gRPC status. Every answer that is an error has the JSON body
 * `{ "error": { "code", "message", "field"? } }` over HTTP, and the same
 * code, message and field (metadata `x-cassem-field`) over gRPC.
 *
 * @module
 */

import { grpc } from "../shared/grpc.ts";

/** The error codes the agent answers with (gRPC status names). */
export type AgentErrorCode =
  | "INVALID_ARGUMENT"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "NOT_FOUND"
  | "FAILED_PRECONDITION"
  | "RESOURCE_EXHAUSTED"
  | "UNAVAILABLE"
  | "INTERNAL";

/** HTTP status of each code. */
const HTTP_STATUS: Readonly<Record<AgentErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  FAILED_PRECONDITION: 500,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** A failure the agent reports to its client; see the subclasses. */
export class AgentError extends Error {
  /** The code (a gRPC status name). */
  readonly code: AgentErrorCode;
  /** The request field, header or parameter at fault, when there is one. */
  readonly field: string | undefined;
  /** An error with `code`, `message` ("Cannot X as Y: current value is Z") and `field`. */
  constructor(code: AgentErrorCode, message: string, field?: string) {
    super(message);
    this.name = "AgentError";
    this.code = code;
    this.field = field;
  }
}

/** Bad input: a parameter, header or body field (named in `field`). */
export class BadRequestError extends AgentError {
  /** An error for `field`. */
  constructor(field: string, message: string) {
    super("INVALID_ARGUMENT", message, field);
    this.name = "BadRequestError";
  }
}

/** The env needs a client secret and the request carries none. */
export class MissingSecretError extends AgentError {
  /** An error naming the header (or metadata key) that was missing. */
  constructor(field: string) {
    super(
      "UNAUTHENTICATED",
      `Cannot serve this request as it must carry the client secret in ${field}: current request has none`,
      field,
    );
    this.name = "MissingSecretError";
  }
}

/** The client secret presented does not match. Says nothing of the app. */
export class WrongSecretError extends AgentError {
  /** An error naming the header (or metadata key) that held the wrong secret. */
  constructor(field: string) {
    super(
      "PERMISSION_DENIED",
      `Cannot serve this request as the client secret in ${field} is not the one of this app and env`,
      field,
    );
    this.name = "WrongSecretError";
  }
}

/** An app, env or element the agent does not serve. */
export class NotServedError extends AgentError {
  /** An error for `field` (app, env, key) holding `value`. */
  constructor(field: "app" | "env" | "key" | "clientId", value: string, what: string) {
    super("NOT_FOUND", `Cannot find ${what} ${JSON.stringify(value)}: it is not served`, field);
    this.name = "NotServedError";
  }
}

/** cassemdb is out of reach and the agent does not hold what was asked. */
export class UnavailableError extends AgentError {
  /** An error with `message`, optionally naming a field. */
  constructor(message: string, field?: string) {
    super("UNAVAILABLE", message, field);
    this.name = "UnavailableError";
  }
}

/** A secret element cannot be opened by this agent (no key, or not its key). */
export class SecretUnavailableError extends AgentError {
  /** An error with `message` naming the flag or variable that would fix it. */
  constructor(message: string) {
    super("FAILED_PRECONDITION", message, "key");
    this.name = "SecretUnavailableError";
  }
}

/** A consumer too slow for its stream, or a limit of concurrent requests reached. */
export class ExhaustedError extends AgentError {
  /** An error with `message`. */
  constructor(message: string) {
    super("RESOURCE_EXHAUSTED", message);
    this.name = "ExhaustedError";
  }
}

/** The {@linkcode AgentError} for any thrown value (unknown ones become INTERNAL). */
export function asAgentError(e: unknown): AgentError {
  if (e instanceof AgentError) return e;
  return new AgentError(
    "INTERNAL",
    `Cannot serve this request as the agent failed: ${e instanceof Error ? e.message : String(e)}`,
  );
}

/** The HTTP status of `e`. */
export function httpStatusOf(e: AgentError): number {
  return HTTP_STATUS[e.code];
}

/** The JSON body of an error answer. */
export interface ErrorBody {
  /** What went wrong. */
  error: { code: AgentErrorCode; message: string; field?: string };
}

/** The JSON body of `e`. */
export function errorBody(e: AgentError): ErrorBody {
  return {
    error: e.field === undefined
      ? { code: e.code, message: e.message }
      : { code: e.code, message: e.message, field: e.field },
  };
}

/** Metadata key of the field at fault in a gRPC error. */
export const FIELD_METADATA = "x-cassem-field";

/** `e` as a grpc-js status object (code, details, metadata with the field). */
export function grpcStatusOf(e: AgentError): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  if (e.field !== undefined) metadata.set(FIELD_METADATA, e.field);
  return { code: grpc.status[e.code], details: e.message, metadata };
}
