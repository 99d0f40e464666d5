/**
 * The flags of `deno task start` (node:util parseArgs): where the data
 * lives, which ports, how many cassemdb nodes. Every mistake is one line
 * naming the flag.
 *
 * @module
 */

import { parseFlags } from "../shared/flags.ts";
import type { Level } from "../shared/log.ts";
import { StackUsageError } from "./errors.ts";

/** The default `--port-base`: cassemdb on 7021, cassemadm on 7061, cassemagent on 7081/7082. */
export const DEFAULT_PORT_BASE = 7000;
/** The largest `--cluster`: node 5's ports would collide with cassemadm's. */
export const MAX_CLUSTER = 4;
/** The largest offset from the port base that the stack uses (cassemagent's gRPC port). */
export const TOP_PORT_OFFSET = 82;

/** What the command line says; `undefined` where a flag was not given. */
export interface StackFlags {
  /** `--data`: the directory of everything the stack keeps (default ./data). */
  data: string;
  /** `--port-base`, when given. */
  portBase: number | undefined;
  /** `--cluster`, when given. */
  cluster: number | undefined;
  /** `--log-level` of every service (default info). */
  logLevel: Level;
  /** `--verbose`: also print every service's log lines on stderr. */
  verbose: boolean;
}

/** The text of `--help`. */
export const USAGE = `deno task start: cassemdb, cassemadm and cassemagent together, on one machine

  deno task start                          data under ./data, ports 7021..7082
  deno task start --cluster 3              three cassemdb nodes behind them
  deno task start --data ./data2 --port-base 8000   a second stack beside the first

flags:
  --data DIR          where the stack keeps its data: cassemdb's nodes (DIR/node-<i>),
                      the secret keyring (DIR/secret.key), the services' logs
                      (DIR/logs/) and its own settings (DIR/stack.json) (default ./data)
  --port-base N       ports N+21.. for cassemdb (node i: client N+11+10i, peers +1,
                      HTTP status +2), N+61 for cassemadm, N+81 and N+82 for
                      cassemagent's HTTP and gRPC (default ${DEFAULT_PORT_BASE}; a data dir
                      remembers it)
  --cluster N         cassemdb nodes, 1 to ${MAX_CLUSTER} (default 1; a data dir remembers it)
  --log-level LEVEL   debug, info, warn or error, for every service (default info)
  --verbose           also print every service's log lines here (they always go to
                      DIR/logs/)
  --help              this text

A restart on the same --data keeps everything. A service that dies is started
again (at most 5 times a minute) and reported. Ctrl-C or SIGTERM stops them all.

exit codes: 0 stopped cleanly; 1 cannot start or run (an address or the data dir
in use, ...); 2 bad flags, or flags that contradict the data dir`;

const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];

/**
 * Parses `args`; `"help"` for `--help`.
 * @throws {StackUsageError} naming the flag that is unknown, lacks its value or has a bad one.
 */
export function parseStackFlags(args: string[]): StackFlags | "help" {
  let values;
  try {
    ({ values } = parseFlags("deno task start", {
      args,
      strict: true,
      options: {
        data: { type: "string", default: "./data" },
        "port-base": { type: "string" },
        cluster: { type: "string" },
        "log-level": { type: "string", default: "info" },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    throw new StackUsageError((e as Error).message);
  }
  if (values.help) return "help";
  if (values.data.trim() === "") {
    throw new StackUsageError(
      `Cannot accept --data as it must name a directory: current value is ""`,
    );
  }
  const level = values["log-level"];
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new StackUsageError(
      `Cannot accept --log-level as it must be debug, info, warn or error: current value is ${
        JSON.stringify(level)
      }`,
    );
  }
  return {
    data: values.data,
    portBase: values["port-base"] === undefined
      ? undefined
      : integer("--port-base", values["port-base"], 1, 65_535 - TOP_PORT_OFFSET),
    cluster: values.cluster === undefined
      ? undefined
      : integer("--cluster", values.cluster, 1, MAX_CLUSTER),
    logLevel: level as Level,
    verbose: values.verbose,
  };
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new StackUsageError(
      `Cannot accept ${flag} as it must be an integer from ${min} to ${max}: current value is ${
        JSON.stringify(text)
      }`,
    );
  }
  return n;
}
