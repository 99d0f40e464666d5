/**
 * cassemadm's command line: `--listen`, `--db`, `--secret-key-file`,
 * `--log-level`, `--log-format`, `--metrics-listen`, `--help`, parsed with node:util `parseArgs`. Every problem
 * is one line naming the flag.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { toFlagError } from "../shared/flags.ts";
import { type HostPort, splitHostPort } from "../shared/host_port.ts";
import { type Level, LEVELS, LOG_FORMAT_FLAGS, type LogFormatFlag } from "../shared/log.ts";

/** What the flags say. */
export interface AdmFlags {
  /** host:port to serve HTTP on. */
  listen: { hostname: string; port: number; text: string };
  /** cassemdb client endpoints (host:port). */
  db: string[];
  /** A file holding the secret keyring (see `secret_crypto.ts`), if given. */
  secretKeyFile: string | undefined;
  /** The lowest log level printed. */
  logLevel: Level;
  /** `--log-format`: text, json, or auto (text on a terminal, JSON otherwise). */
  logFormat: LogFormatFlag;
  /** Where to serve `/metrics` instead of `--listen`, if given. */
  metricsListen: { hostname: string; port: number; text: string } | undefined;
  /** `--help` was given. */
  help: boolean;
}

/** The usage text of `--help`. */
export const USAGE = `cassemadm: the cassem configuration manager (REST API on Hono)

Usage: deno task adm [flags]

  --listen HOST:PORT       serve HTTP here (default 127.0.0.1:7061)
  --db HOST:PORT[,...]     cassemdb client endpoints (default 127.0.0.1:7021)
  --secret-key-file PATH   keyring for secret elements: one base64 32-byte key, or
                           id:key lines, the first sealing new versions
                           (default: the CASSEM_SECRET_KEY variable; none: secret
                           elements are refused)
  --log-level LEVEL        debug, info, warn or error (default info)
  --log-format FORMAT      text, json or auto (default auto: text when stderr is a
                           terminal, else one JSON object per line)
  --metrics-listen HOST:PORT  serve GET /metrics (and /healthz, /readyz) here instead
                           of on --listen, e.g. on an address only Prometheus reaches
  --help                   this text

Environment:
  CASSEM_ADMIN_PASSWORD    the password of the admin account created on the first
                           start against an empty cassemdb; unset, a random one is
                           generated and printed once to stderr
  CASSEM_SECRET_KEY        the keyring, when --secret-key-file is not given

The API is under /api; its OpenAPI document is /api/openapi.json and an
interactive reference is /api/docs. GET /healthz, /readyz and /metrics (Prometheus)
answer without credentials.`;

/** A problem with the command line (one line, naming the flag). */
export class FlagError extends Error {
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "FlagError";
  }
}

/** `host:port` parsed, or a {@linkcode FlagError} naming `flag`. */
export function parseAddress(flag: string, text: string): HostPort {
  const parts = splitHostPort(text);
  if (!parts) {
    throw new FlagError(
      `Cannot use ${flag} as it must be HOST:PORT with a port in 0..65535: current value is ${
        JSON.stringify(text)
      }`,
    );
  }
  return parts;
}

/**
 * The flags of `args`.
 * @throws {FlagError} for an unknown flag, a missing value or a bad one.
 */
export function parseAdmFlags(args: string[]): AdmFlags {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: "string", default: "127.0.0.1:7061" },
        db: { type: "string", default: "127.0.0.1:7021" },
        "secret-key-file": { type: "string" },
        "log-level": { type: "string", default: "info" },
        "log-format": { type: "string", default: "auto" },
        "metrics-listen": { type: "string" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (e) {
    // The one wording of every entrypoint (shared/flags.ts), as this module's error.
    const known = toFlagError("deno task adm", e);
    throw new FlagError(
      known?.message ??
        `Cannot start as the command line is invalid: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  const v = parsed.values;
  const listen = { ...parseAddress("--listen", v.listen!), text: v.listen! };
  const db = v.db!.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (db.length === 0) {
    throw new FlagError(`Cannot use --db as it needs at least one HOST:PORT: current value is ""`);
  }
  for (const d of db) parseAddress("--db", d);
  const level = v["log-level"]!;
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new FlagError(
      `Cannot use --log-level as it must be one of ${LEVELS.join(", ")}: current value is ${
        JSON.stringify(level)
      }`,
    );
  }
  const format = v["log-format"]!;
  if (!(LOG_FORMAT_FLAGS as readonly string[]).includes(format)) {
    throw new FlagError(
      `Cannot use --log-format as it must be one of ${
        LOG_FORMAT_FLAGS.join(", ")
      }: current value is ${JSON.stringify(format)}`,
    );
  }
  const ml = v["metrics-listen"];
  return {
    listen,
    db,
    secretKeyFile: v["secret-key-file"],
    logLevel: level as Level,
    logFormat: format as LogFormatFlag,
    metricsListen: ml === undefined
      ? undefined
      : { ...parseAddress("--metrics-listen", ml), text: ml },
    help: v.help!,
  };
}
