/**
 * cassemagent's command line: flags parsed with `node:util` `parseArgs`,
 * each checked with a message that names it.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { toFlagError } from "../shared/flags.ts";
import { type HostPort, splitHostPort } from "../shared/host_port.ts";
import { isName } from "../shared/config/mod.ts";
import { type Level, LOG_FORMAT_FLAGS, type LogFormatFlag } from "../shared/log.ts";
import { isCorsOrigin } from "./http_cors.ts";

/** The usage text (`--help`). */
export const USAGE = `cassemagent: serves cassem config to client applications from memory.

Usage: deno task agent [flags]

  --listen HOST:PORT       HTTP address (default 127.0.0.1:7081; port 0 picks one)
  --grpc-listen HOST:PORT  gRPC address (default 127.0.0.1:7082; "off" serves no gRPC)
  --db ENDPOINTS           cassemdb client addresses, comma-separated (default 127.0.0.1:7021)
  --id ID                  this agent's id (default: host name and HTTP port)
  --cache-entries N        most element bodies cached (default 100000)
  --cache-bytes N          most bytes of bodies cached, as stored; k, m, g suffixes (default 256m)
  --cache-k K              the K of LRU-K (default 2)
  --cache-compress-min N   cache bodies of at least N bytes deflated when that saves an
                           eighth (default 512; 0: never)
  --secret-key-file PATH   the keyring that opens secret elements (else CASSEM_SECRET_KEY)
  --instance-ttl SECONDS   TTL of client instance records (default 30)
  --agent-ttl SECONDS      TTL of this agent's own record (default 15)
  --heartbeat-ms MS        keep-alive period of push streams (default 15000)
  --stream-buffer N        bytes a slow push client may leave unread; k, m suffixes (default 4m)
  --cors-origins LIST      origins browsers may call the HTTP API from, comma-separated
                           (https://app.example.com), or * for any (default: none, CORS off)
  --log-level LEVEL        debug, info, warn or error (default info)
  --log-format FORMAT      text, json or auto (default auto: text when stderr is a
                           terminal, else one JSON object per line)
  --help                   this text

GET /healthz, /readyz (the served data is loaded) and /metrics (Prometheus) answer on
the HTTP address without credentials.

Once it listens it prints one line on stdout:
  cassemagent ready id=ID http=HOST:PORT grpc=HOST:PORT
`;

/** The agent's configuration. */
export interface AgentConfig {
  /** HTTP host and port. */
  listen: { hostname: string; port: number };
  /** gRPC host and port, or null for none. */
  grpcListen: { hostname: string; port: number } | null;
  /** cassemdb endpoints. */
  db: string[];
  /** Agent id (undefined: derived from the host name and HTTP port once listening). */
  id: string | undefined;
  cacheEntries: number;
  cacheBytes: number;
  cacheK: number;
  /** Bodies of at least this many bytes are cached deflated (0: never). */
  cacheCompressMinBytes: number;
  secretKeyFile: string | undefined;
  instanceTtlSeconds: number;
  agentTtlSeconds: number;
  heartbeatMs: number;
  streamBufferBytes: number;
  logLevel: Level;
  /** `--log-format`: text, json, or auto (text on a terminal, JSON otherwise). */
  logFormat: LogFormatFlag;
  /** `--cors-origins`: browser origins allowed (`*`: any; empty: CORS off). */
  corsOrigins: string[];
}

/** A flag with a bad value, or an unknown flag. */
export class FlagError extends TypeError {
  /** An error with `message` (it names the flag). */
  constructor(message: string) {
    super(message);
    this.name = "FlagError";
  }
}

/**
 * The configuration of `args`, or `"help"`.
 * @throws {FlagError} naming the flag when one is unknown or has a bad value.
 */
export function parseFlags(args: string[]): AgentConfig | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: "string", default: "127.0.0.1:7081" },
        "grpc-listen": { type: "string", default: "127.0.0.1:7082" },
        db: { type: "string", default: "127.0.0.1:7021" },
        id: { type: "string" },
        "cache-entries": { type: "string", default: "100000" },
        "cache-bytes": { type: "string", default: "256m" },
        "cache-k": { type: "string", default: "2" },
        "cache-compress-min": { type: "string", default: "512" },
        "secret-key-file": { type: "string" },
        "instance-ttl": { type: "string", default: "30" },
        "agent-ttl": { type: "string", default: "15" },
        "heartbeat-ms": { type: "string", default: "15000" },
        "stream-buffer": { type: "string", default: "4m" },
        "cors-origins": { type: "string", default: "" },
        "log-level": { type: "string", default: "info" },
        "log-format": { type: "string", default: "auto" },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    // The one wording of every entrypoint (shared/flags.ts), as this module's error.
    const known = toFlagError("deno task agent", e);
    throw new FlagError(
      known?.message ??
        `Cannot start cassemagent as its flags do not parse: ${(e as Error).message}`,
    );
  }
  if (values.help) return "help";
  const level = values["log-level"]!;
  if (!["debug", "info", "warn", "error"].includes(level)) {
    throw new FlagError(
      `Cannot start cassemagent as --log-level must be debug, info, warn or error: current value is ${
        JSON.stringify(level)
      }`,
    );
  }
  const format = values["log-format"]!;
  if (!(LOG_FORMAT_FLAGS as readonly string[]).includes(format)) {
    throw new FlagError(
      `Cannot start cassemagent as --log-format must be ${
        LOG_FORMAT_FLAGS.join(", ")
      }: current value is ${JSON.stringify(format)}`,
    );
  }
  const id = values.id;
  if (id !== undefined && !isName("agent", id)) {
    throw new FlagError(
      `Cannot start cassemagent as --id must be 1 to 128 of A-Z a-z 0-9 . _ : @ - starting with a letter or digit: current value is ${
        JSON.stringify(id)
      }`,
    );
  }
  const db = values.db!.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (db.length === 0) {
    throw new FlagError(
      "Cannot start cassemagent as --db must name at least one endpoint: current value is empty",
    );
  }
  db.forEach((d) => hostPort("--db", d));
  const corsOrigins = values["cors-origins"]!.split(",").map((s) => s.trim()).filter((s) =>
    s !== ""
  );
  for (const o of corsOrigins) {
    if (!isCorsOrigin(o) || (o === "*" && corsOrigins.length > 1)) {
      throw new FlagError(
        `Cannot start cassemagent as --cors-origins must be * alone or origins such as https://app.example.com (scheme, host, optional port; no path): current value is ${
          JSON.stringify(values["cors-origins"])
        }`,
      );
    }
  }
  const grpc = values["grpc-listen"]!;
  return {
    listen: hostPort("--listen", values.listen!),
    grpcListen: grpc === "off" ? null : hostPort("--grpc-listen", grpc),
    db,
    id,
    cacheEntries: integer("--cache-entries", values["cache-entries"]!, 1),
    cacheBytes: size("--cache-bytes", values["cache-bytes"]!),
    cacheK: integer("--cache-k", values["cache-k"]!, 1, 8),
    cacheCompressMinBytes: integer(
      "--cache-compress-min",
      values["cache-compress-min"]!,
      0,
      2 ** 30,
    ),
    secretKeyFile: values["secret-key-file"],
    instanceTtlSeconds: integer("--instance-ttl", values["instance-ttl"]!, 1, 3600),
    agentTtlSeconds: integer("--agent-ttl", values["agent-ttl"]!, 1, 3600),
    heartbeatMs: integer("--heartbeat-ms", values["heartbeat-ms"]!, 100, 3_600_000),
    streamBufferBytes: size("--stream-buffer", values["stream-buffer"]!),
    logLevel: level as Level,
    logFormat: format as LogFormatFlag,
    corsOrigins,
  };
}

/** `HOST:PORT` as parts. */
export function hostPort(flag: string, text: string): HostPort {
  const parts = splitHostPort(text);
  if (!parts) {
    throw new FlagError(
      `Cannot start cassemagent as ${flag} must be HOST:PORT with a port in [0, 65535]: current value is ${
        JSON.stringify(text)
      }`,
    );
  }
  return parts;
}

function integer(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new FlagError(
      `Cannot start cassemagent as ${flag} must be an integer in [${min}, ${max}]: current value is ${
        JSON.stringify(text)
      }`,
    );
  }
  return n;
}

function size(flag: string, text: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(text);
  const n = m
    ? Number(m[1]) * { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()]!
    : NaN;
  if (!m || !Number.isSafeInteger(n) || n < 1024) {
    throw new FlagError(
      `Cannot start cassemagent as ${flag} must be a byte count of at least 1024, with an optional k, m or g suffix: current value is ${
        JSON.stringify(text)
      }`,
    );
  }
  return n;
}

/** An agent id from a host name and port, made a valid id. */
export function defaultAgentId(hostname: string, port: number): string {
  const host = hostname.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "") || "agent";
  return `${host.slice(0, 100)}:${port}`;
}
