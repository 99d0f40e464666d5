/**
 * The SDK's errors, and the one place where an agent's answer (HTTP status
 * and JSON body `{ "error": { "code", "message", "field"? } }`) becomes one
 * of them ({@linkcode errorFromAnswer}), and where a code is judged
 * terminal ({@linkcode isTerminalCode}).
 *
 * @module
 */

/** The codes an error can carry: the agent's (gRPC status names) and the SDK's own. */
export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "NOT_FOUND"
  | "FAILED_PRECONDITION"
  | "RESOURCE_EXHAUSTED"
  | "UNAVAILABLE"
  | "INTERNAL"
  | "DEADLINE_EXCEEDED"
  | "DATA_LOSS"
  | "CANCELLED";

const CODES: ReadonlySet<string> = new Set<ErrorCode>([
  "INVALID_ARGUMENT",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "NOT_FOUND",
  "FAILED_PRECONDITION",
  "RESOURCE_EXHAUSTED",
  "UNAVAILABLE",
  "INTERNAL",
  "DEADLINE_EXCEEDED",
  "DATA_LOSS",
  "CANCELLED",
]);

/** The code of an HTTP status when the answer's body names none. */
function codeOfStatus(status: number): ErrorCode {
  if (status === 400) return "INVALID_ARGUMENT";
  if (status === 401) return "UNAUTHENTICATED";
  if (status === 403) return "PERMISSION_DENIED";
  if (status === 404) return "NOT_FOUND";
  if (status === 429) return "RESOURCE_EXHAUSTED";
  if (status === 503 || status === 502 || status === 504) return "UNAVAILABLE";
  return "INTERNAL";
}

/**
 * Whether an error with `code` cannot be cured by retrying or by another
 * agent: bad input, a missing or wrong client secret. A watch that gets one
 * stops and reports it.
 */
export function isTerminalCode(code: ErrorCode): boolean {
  return code === "INVALID_ARGUMENT" || code === "UNAUTHENTICATED" ||
    code === "PERMISSION_DENIED";
}

/** Every error of the SDK. */
export class CassemError extends Error {
  /** What went wrong, as a gRPC status name. */
  readonly code: ErrorCode;
  /** The request field, header or option at fault, when there is one. */
  readonly field: string | undefined;
  /** An error with `code`, `message` and `field`. */
  constructor(code: ErrorCode, message: string, field?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CassemError";
    this.code = code;
    this.field = field;
  }

  /** Whether retrying (here or at another agent) cannot help; see {@linkcode isTerminalCode}. */
  get terminal(): boolean {
    return isTerminalCode(this.code);
  }
}

/** An error answer of one agent. */
export class AgentAnswerError extends CassemError {
  /** The agent's base URL. */
  readonly agent: string;
  /** The HTTP status. */
  readonly status: number;
  /** An error that `agent` answered with `status`. */
  constructor(
    agent: string,
    status: number,
    code: ErrorCode,
    message: string,
    field?: string,
  ) {
    super(code, message, field);
    this.name = "AgentAnswerError";
    this.agent = agent;
    this.status = status;
  }
}

/** No agent answered (each was down, timed out or unavailable), and no cached copy serves. */
export class UnavailableError extends CassemError {
  /** What each agent tried did, in order: "URL: reason". */
  readonly attempts: readonly string[];
  /** An error listing `attempts`. */
  constructor(what: string, attempts: readonly string[]) {
    super(
      "UNAVAILABLE",
      `Cannot ${what} as no agent answered: ${attempts.join("; ") || "none tried"}`,
      "agents",
    );
    this.name = "UnavailableError";
    this.attempts = attempts;
  }
}

/** An element's raw text is not valid for its content type (or the caller's parser refused it). */
export class ContentError extends CassemError {
  /** The element's key. */
  readonly key: string;
  /** The version that did not parse. */
  readonly version: number;
  /** An error for version `version` of `key`. */
  constructor(key: string, version: number, message: string, options?: ErrorOptions) {
    super("DATA_LOSS", message, "raw", options);
    this.name = "ContentError";
    this.key = key;
    this.version = version;
  }
}

/** An answer that does not have the shape of the agent's HTTP contract. */
export class ProtocolError extends CassemError {
  /** An error saying what was malformed. */
  constructor(message: string) {
    super("INTERNAL", message);
    this.name = "ProtocolError";
  }
}

/** The client or watch was closed. */
export class ClosedError extends CassemError {
  /** An error saying what could not be done. */
  constructor(what: string) {
    super("CANCELLED", `Cannot ${what} as the client is closed`);
    this.name = "ClosedError";
  }
}

/**
 * The error of a non-2xx answer of `agent`: the code, message and field of
 * its JSON body when it has one (the agent's contract), else one made from
 * the status and the first 200 characters of the body.
 */
export function errorFromAnswer(agent: string, status: number, bodyText: string): AgentAnswerError {
  try {
    const parsed = JSON.parse(bodyText) as {
      error?: { code?: unknown; message?: unknown; field?: unknown };
    };
    const e = parsed?.error;
    if (e && typeof e.code === "string" && CODES.has(e.code) && typeof e.message === "string") {
      return new AgentAnswerError(
        agent,
        status,
        e.code as ErrorCode,
        e.message,
        typeof e.field === "string" ? e.field : undefined,
      );
    }
  } catch { /* not JSON: described below */ }
  return new AgentAnswerError(
    agent,
    status,
    codeOfStatus(status),
    `Cannot use the answer of ${agent} as it is HTTP ${status}: ${
      JSON.stringify(bodyText.slice(0, 200))
    }`,
  );
}

/** Whether `e` says to try another agent (rather than give up on the call). */
export function isRetryable(e: unknown): boolean {
  if (!(e instanceof CassemError)) return true; // a network failure, a timeout
  return e.code === "UNAVAILABLE" || e.code === "INTERNAL" || e.code === "DEADLINE_EXCEEDED" ||
    e.code === "FAILED_PRECONDITION" || e.code === "RESOURCE_EXHAUSTED";
}
