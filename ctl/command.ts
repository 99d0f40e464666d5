/**
 * What a cassemctl command is ({@linkcode Command}), the flags every
 * command takes, how a command's arguments are parsed (node:util
 * parseArgs, each mistake one {@linkcode UsageError} naming the flag), and
 * the context a command runs with ({@linkcode Ctx}): output, the cassemadm
 * client, the cassemdb client, the config file.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DbClient } from "../shared/db/mod.ts";
import { toFlagError } from "../shared/flags.ts";
import { splitHostPort } from "../shared/host_port.ts";
import { AdmClient } from "./adm_client.ts";
import {
  configPath,
  type CtlConfig,
  DEFAULT_SERVER,
  loadConfig,
  normalizeServer,
  saveConfig,
} from "./config.ts";
import { UsageError } from "./errors.ts";
import type { CtlIo } from "./io.ts";
import { Output } from "./output.ts";

/** One flag of a command. */
export interface Flag {
  /** `string` takes a value, `boolean` does not. */
  type: "string" | "boolean";
  /** A one-letter alias. */
  short?: string;
  /** May be given several times (values collected in order). */
  multiple?: boolean;
  /** The value's placeholder in help (`N`, `FILE`). */
  value?: string;
  /** One line of help. */
  help: string;
}

/** The parsed command line of one command. */
export interface Parsed {
  /** Flag values by name (strings, booleans, or arrays for `multiple`). */
  flags: Record<string, string | boolean | string[] | undefined>;
  /** The arguments that are not flags, in order. */
  args: string[];
}

/** A cassemctl command. */
export interface Command {
  /** Its words: `["apps", "create"]`, `["login"]`. */
  path: string[];
  /** One line for the command list. */
  summary: string;
  /** The arguments after the words, for help (`APP/ENV/KEY [FILE]`). */
  usage: string;
  /** More lines of help (examples, what it prints). */
  details?: string;
  /** Its own flags (the global ones are added). */
  flags: Record<string, Flag>;
  /** How many arguments it takes: `[min, max]`. */
  arity: [number, number];
  /** Talks to cassemdb (`--endpoints`) rather than cassemadm (`--server`). */
  db?: boolean;
  /** Runs it; the exit code is 0 unless it throws a `CtlError`. */
  run(ctx: Ctx, parsed: Parsed): Promise<void>;
}

/** The flags every cassemadm command takes. */
export const GLOBAL_FLAGS: Record<string, Flag> = {
  server: {
    type: "string",
    value: "URL",
    help:
      `cassemadm's address (default: CASSEM_SERVER, else the last login's, else ${DEFAULT_SERVER})`,
  },
  json: { type: "boolean", help: "print JSON (the server's answer) instead of tables" },
  help: { type: "boolean", short: "h", help: "this help" },
};

/** The flags every `cassemctl db` command takes. */
export const DB_FLAGS: Record<string, Flag> = {
  endpoints: {
    type: "string",
    value: "HOST:PORT,...",
    help: "cassemdb client addresses (default: CASSEMDB_ENDPOINTS, else 127.0.0.1:7021)",
  },
  json: GLOBAL_FLAGS.json!,
  help: GLOBAL_FLAGS.help!,
};

/** The flags `cmd` takes, its own and the global ones. */
export function flagsOf(cmd: Command): Record<string, Flag> {
  return { ...cmd.flags, ...(cmd.db ? DB_FLAGS : GLOBAL_FLAGS) };
}

/**
 * Parses `argv` (what follows the command's words) for `cmd`.
 * @throws {UsageError} for an unknown flag, a missing value, or a wrong number of arguments.
 */
export function parseCommand(cmd: Command, argv: string[]): Parsed {
  const name = `cassemctl ${cmd.path.join(" ")}`;
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const [k, f] of Object.entries(flagsOf(cmd))) {
    options[k] = {
      type: f.type,
      ...(f.short ? { short: f.short } : {}),
      ...(f.multiple ? { multiple: true } : {}),
    };
  }
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options,
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    const fe = toFlagError(name, e);
    throw new UsageError(
      fe ? fe.message : `Cannot parse the command line: ${(e as Error).message}`,
    );
  }
  const parsed = { flags: values as Parsed["flags"], args: positionals };
  if (parsed.flags.help) return parsed;
  const [min, max] = cmd.arity;
  if (positionals.length < min || positionals.length > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new UsageError(
      `Cannot run ${name} as it takes ${want} argument${want === "1" ? "" : "s"} (${
        cmd.usage || "none"
      }): current count is ${positionals.length}; see ${name} --help`,
    );
  }
  return parsed;
}

/** A string flag's value, if given. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === "string" ? v : undefined;
}

/** A boolean flag's value. */
export function bool(p: Parsed, name: string): boolean {
  return p.flags[name] === true;
}

/**
 * An integer flag's value, if given.
 * @throws {UsageError} naming the flag when it is not an integer within `[min, max]`.
 */
export function int(
  p: Parsed,
  name: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || n < min || n > max) {
    throw new UsageError(
      `Cannot accept --${name} as it must be an integer from ${min} to ${max}: current value is ${
        JSON.stringify(v)
      }`,
    );
  }
  return n;
}

/** What a command runs with. */
export class Ctx {
  /** The process (or a test's stand-in). */
  readonly io: CtlIo;
  /** Where results go. */
  readonly out: Output;
  readonly #parsed: Parsed;
  #config: { path: string; config: CtlConfig } | undefined;
  #adm: AdmClient | undefined;
  #db: DbClient | undefined;

  /** A context for a command parsed as `parsed`. */
  constructor(io: CtlIo, parsed: Parsed) {
    this.io = io;
    this.#parsed = parsed;
    this.out = new Output(io, bool(parsed, "json"));
  }

  /** Writes a note for people on stderr (never mixed into `--json` output). */
  note(line: string): void {
    this.io.stderr(line + "\n");
  }

  /** The config file's path and content (read once; warnings printed). */
  async config(): Promise<{ path: string; config: CtlConfig }> {
    if (this.#config) return this.#config;
    const path = configPath((n) => this.io.env(n));
    const { config, warnings } = await loadConfig(path);
    for (const w of warnings) this.note(`cassemctl: warning: ${w}`);
    this.#config = { path, config };
    return this.#config;
  }

  /** Writes the config back (mode 0600). */
  async saveConfig(): Promise<void> {
    const { path, config } = await this.config();
    await saveConfig(path, config);
  }

  /** The server to talk to: `--server`, else CASSEM_SERVER, else the config's current one. */
  async server(): Promise<string> {
    const given = str(this.#parsed, "server") ?? this.io.env("CASSEM_SERVER");
    if (given) return normalizeServer(given);
    return (await this.config()).config.current ?? DEFAULT_SERVER;
  }

  /** The cassemadm client: the server above, with CASSEM_TOKEN or the saved token. */
  async adm(): Promise<AdmClient> {
    if (this.#adm) return this.#adm;
    const server = await this.server();
    const envToken = this.io.env("CASSEM_TOKEN");
    const token = envToken ? envToken : (await this.config()).config.servers[server]?.token;
    this.#adm = new AdmClient({ server, token, fetch: (r) => this.io.fetch(r) });
    return this.#adm;
  }

  /** The cassemdb client: `--endpoints`, else CASSEMDB_ENDPOINTS, else 127.0.0.1:7021. */
  db(): DbClient {
    if (this.#db) return this.#db;
    const text = str(this.#parsed, "endpoints") ?? this.io.env("CASSEMDB_ENDPOINTS") ??
      "127.0.0.1:7021";
    const endpoints = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
    for (const e of endpoints) {
      if (!splitHostPort(e)) {
        throw new UsageError(
          `Cannot accept --endpoints as each must be HOST:PORT: current value is ${
            JSON.stringify(e)
          }`,
        );
      }
    }
    if (endpoints.length === 0) {
      throw new UsageError(`Cannot accept --endpoints as it names no address: current value is ""`);
    }
    this.#db = new DbClient({ endpoints, timeoutMs: 5_000 });
    return this.#db;
  }

  /** The cassemdb endpoints in use, once the client was made. */
  get dbEndpoints(): readonly string[] {
    return this.#db?.endpoints ?? [];
  }

  /**
   * Whether a cassemdb client was opened. It is never closed: the process
   * exits and the kernel closes its sockets, because a graceful HTTP/2 close
   * (GOAWAY) can crash the Deno runtime of the cassemdb node at the other end
   * (denoland/deno#36788, tests/db/README.md); cassemadm does the same.
   */
  get openedDb(): boolean {
    return this.#db !== undefined;
  }
}
