/**
 * A small structured logger: one line per event, `time level component msg
 * key=value...`, to stderr so stdout stays free for program output.
 *
 * @module
 */

/** Log levels, in increasing severity. */
export type Level = "debug" | "info" | "warn" | "error";

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger bound to one component. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Creates a logger for `component` that prints events at `level` and above. */
export function createLogger(component: string, level: Level = "info"): Logger {
  const emit = (l: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[l] < ORDER[level]) return;
    const kv = fields
      ? Object.entries(fields).map(([k, v]) =>
        ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`
      ).join("")
      : "";
    console.error(
      `${new Date().toISOString()} ${l.toUpperCase().padEnd(5)} ${component} ${msg}${kv}`,
    );
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}
