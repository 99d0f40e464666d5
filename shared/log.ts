/**
 * The logger every cassem service uses: one line per event on stderr (stdout
 * stays free for program output), in one of two formats:
 *
 * - `json`: one JSON object per line, for log pipelines (journald, Loki,
 *   Elasticsearch): `{"time","level","component","msg","requestId"?,"fields"?}`.
 *   `time` is ISO 8601 UTC; `level` is `debug`, `info`, `warn` or `error`;
 *   `requestId` is the id of the request the event belongs to, when known;
 *   `fields` holds the event's key/values (absent when there are none).
 * - `text`: `time LEVEL component msg key=value...`, for a person at a
 *   terminal.
 *
 * Services take `--log-format auto|text|json`; `auto` (the default) is text
 * when stderr is a terminal and JSON otherwise ({@linkcode resolveLogFormat}),
 * so a person running a service sees text and a service manager or container
 * runtime collects JSON.
 *
 * The request id comes from the `requestId` field when the caller gives one,
 * else from the request the code runs for (`request_context.ts`).
 *
 * @module
 */

import { currentRequestId } from "./request_context.ts";

/** Log levels, in increasing severity. */
export type Level = "debug" | "info" | "warn" | "error";

/** Every level, in increasing severity (what `--log-level` accepts). */
export const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];

/** How lines are written. */
export type LogFormat = "text" | "json";

/** What `--log-format` accepts: a format, or `auto` (see {@linkcode resolveLogFormat}). */
export const LOG_FORMAT_FLAGS = ["auto", "text", "json"] as const;

/** A value of `--log-format`. */
export type LogFormatFlag = typeof LOG_FORMAT_FLAGS[number];

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger bound to one component. */
export interface Logger {
  /** Details for debugging (per request, per call). */
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** Normal events (started, leader changed). */
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Something an operator should look at; the service goes on. */
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** A failure of the service itself. */
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** One event, as a JSON line holds it. */
export interface LogRecord {
  /** ISO 8601 UTC, ms precision. */
  time: string;
  /** Its severity. */
  level: Level;
  /** The service part that logged it (`cassemdb[1]`, `adm`). */
  component: string;
  /** What happened, in one sentence. */
  msg: string;
  /** The request it belongs to, when known. */
  requestId?: string;
  /** The event's key/values; absent when it has none. */
  fields?: Record<string, unknown>;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Line format (default: {@linkcode resolveLogFormat}`("auto")`). */
  format?: LogFormat;
  /** Where each line goes, without its newline (default: stderr). */
  write?: (line: string) => void;
}

/** Whether `value` names a level. */
export function isLevel(value: unknown): value is Level {
  return typeof value === "string" && value in ORDER;
}

/**
 * The format `flag` stands for: `auto` is text when stderr is a terminal
 * (`isTerminal`, default: asked of the process), JSON otherwise.
 */
export function resolveLogFormat(
  flag: LogFormatFlag,
  isTerminal: () => boolean = () => Deno.stderr.isTerminal(),
): LogFormat {
  if (flag !== "auto") return flag;
  return isTerminal() ? "text" : "json";
}

/**
 * Creates a logger for `component` that writes events at `level` and above
 * (see the module doc for the formats).
 */
export function createLogger(
  component: string,
  level: Level = "info",
  options: LoggerOptions = {},
): Logger {
  const format = options.format ?? resolveLogFormat("auto");
  const write = options.write ?? ((line: string) => console.error(line));
  const min = ORDER[level];
  const emit = (l: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[l] < min) return;
    write(formatLogRecord(recordOf(l, component, msg, fields), format));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** The record of one event; a `requestId` field becomes the record's own. */
function recordOf(
  level: Level,
  component: string,
  msg: string,
  given: Record<string, unknown> | undefined,
): LogRecord {
  const r: LogRecord = { time: new Date().toISOString(), level, component, msg };
  let fields: Record<string, unknown> | undefined;
  let requestId: string | undefined;
  for (const k in given ?? {}) {
    const v = given![k];
    if (v === undefined) continue;
    if (k === "requestId" && typeof v === "string") {
      requestId = v;
      continue;
    }
    (fields ??= {})[k] = v instanceof Error ? `${v.name}: ${v.message}` : v;
  }
  requestId ??= currentRequestId();
  if (requestId !== undefined) r.requestId = requestId;
  if (fields) r.fields = fields;
  return r;
}

/** `value` as JSON (bigints as strings), or `undefined` when JSON cannot hold it (a cycle). */
function tryJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value, (_, v) => typeof v === "bigint" ? v.toString() : v);
  } catch {
    return undefined;
  }
}

/** `value` as JSON; what JSON cannot hold as its string. */
function json(value: unknown): string {
  return tryJson(value) ?? JSON.stringify(String(value));
}

/** `r` as one JSON line; a field JSON cannot hold is written as its string. */
function jsonLine(r: LogRecord): string {
  const whole = tryJson(r);
  if (whole !== undefined) return whole;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.fields ?? {})) {
    fields[k] = tryJson(v) === undefined ? String(v) : v;
  }
  return json({ ...r, fields });
}

/** One line of `r` in `format` (no newline). */
export function formatLogRecord(r: LogRecord, format: LogFormat): string {
  if (format === "json") return jsonLine(r);
  let kv = "";
  const fields = r.fields ?? {};
  for (const k in fields) {
    const v = fields[k];
    kv += ` ${k}=${typeof v === "string" ? v : json(v)}`;
  }
  if (r.requestId !== undefined) kv += ` requestId=${r.requestId}`;
  return `${r.time} ${r.level.toUpperCase().padEnd(5)} ${r.component} ${r.msg}${kv}`;
}

/** The record of a JSON log line, or `undefined` when `line` is not one. */
export function parseLogLine(line: string): LogRecord | undefined {
  if (!line.startsWith("{")) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const ok = typeof r.time === "string" && isLevel(r.level) && typeof r.component === "string" &&
    typeof r.msg === "string" && (r.requestId === undefined || typeof r.requestId === "string") &&
    (r.fields === undefined || (typeof r.fields === "object" && r.fields !== null));
  return ok ? v as LogRecord : undefined;
}

/**
 * A JSON log line in the text format; any other line unchanged. For tools
 * and tests that read a service's output as a person would.
 */
export function logLineAsText(line: string): string {
  const r = parseLogLine(line);
  return r ? formatLogRecord(r, "text") : line;
}
