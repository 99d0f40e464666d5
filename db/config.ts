/**
 * cassemdb's command-line flags (node:util parseArgs) and their validation.
 *
 * @module
 */

import { parseFlags } from "../shared/flags.ts";
import { LOG_FORMAT_FLAGS, type LogFormatFlag } from "../shared/log.ts";
import { checkAddress, InvalidArgumentError } from "../shared/store/mod.ts";

/** Everything a cassemdb node needs to start. */
export interface DbConfig {
  id: number;
  /** Whether --id was given (a joining node then asks for that id). */
  idGiven: boolean;
  /** Client gRPC address. */
  listen: string;
  /** Raft peer gRPC address. */
  peerListen: string;
  /** Address others should use to reach the client port (defaults to `listen`). */
  advertiseClient: string;
  /** Address others should use to reach the peer port (defaults to `peerListen`). */
  advertisePeer: string;
  dir: string;
  /** Founding members: id → peer address. Empty when joining. */
  peers: Map<number, string>;
  /** Whether --peers was given (else `peers` is this node alone). */
  peersGiven: boolean;
  /**
   * Mixed into the cluster id a new cluster derives from its founding
   * members (etcd's --initial-cluster-token); "" by default.
   */
  clusterToken: string;
  /** Whether --cluster-token was given. */
  clusterTokenGiven: boolean;
  /** Client address of a member to join through; empty when founding. */
  join: string;
  /** Debug HTTP address (/status, /metrics, /healthz, /readyz); empty = off. */
  http: string;
  tickMs: number;
  electionTicks: number;
  snapshotEvery: number;
  logLevel: "debug" | "info" | "warn" | "error";
  /** `--log-format`: text, json, or auto (text on a terminal, JSON otherwise). */
  logFormat: LogFormatFlag;
  /** Stop when stdin reaches its end (the launcher's nodes: they stop when it dies). */
  stopWithStdin: boolean;
  /** Launcher mode: start this many local nodes as child processes (0 = off). */
  cluster: number;
  /** Launcher mode: client port of node 1; node i listens on it + 10·(i-1), peers +1, HTTP +2. */
  clusterPort: number;
  /** Launcher mode: the directory that holds node-<i>/ for each node. */
  dataRoot: string;
}

/** The flags, for `--help`. */
export const USAGE = `cassemdb: the raft-replicated configuration store

  deno task db [flags]                 one node on embedded defaults (data under ./data/)
  deno task db --cluster 3             a local 3-node cluster (child processes)

flags:
  --id N                 node id (default 1)
  --listen HOST:PORT     client gRPC address (default 127.0.0.1:7021)
  --peer-listen HOST:PORT  raft peer gRPC address (default 127.0.0.1:7022)
  --advertise-client HOST:PORT, --advertise-peer HOST:PORT  addresses to announce
  --dir PATH             data directory (default ./data/node-<id>)
  --peers ID=HOST:PORT,...  founding members' peer addresses (default: this node alone);
                         a founder restarts with the same --peers
  --cluster-token TEXT   mixed into the id of a new cluster (default none); give each
                         cluster founded with the same --peers its own token
  --join HOST:PORT       client address of a member: join that cluster as a new node
  --http HOST:PORT       debug HTTP, no auth: GET /status (JSON), /metrics (Prometheus),
                         /healthz (alive), /readyz (leader known: can serve)
  --tick-ms N            raft tick (default 50)
  --election-ticks N     ticks before an election (default 10)
  --snapshot-every N     applied entries between snapshots (default 10000)
  --log-level LEVEL      debug | info | warn | error (default info)
  --log-format FORMAT    text | json | auto (default auto: text when stderr is a
                         terminal, else one JSON object per line)
  --stop-with-stdin      stop when stdin closes (the --cluster launcher's nodes use it,
                         so that they stop when it dies, even by kill -9)
  --cluster N            start N local nodes as child processes (restarted if they crash);
                         the flags above that name one node (--id, addresses, --dir,
                         --peers, --join, --http, --cluster-token) are refused
  --cluster-port P       client port of local node 1 (default 7021); node i uses
                         P+10(i-1) for clients, +1 for peers, +2 for debug HTTP
  --data-root PATH       with --cluster: node i keeps its data in PATH/node-<i>
                         (default ./data)
  --help                 this text

exit codes: 0 stopped cleanly; 1 cannot start or run (data dir locked or unusable,
address in use, ...); 2 bad flags, or flags that contradict the data dir`;

/**
 * Parses and validates `args`.
 * @throws {InvalidArgumentError} naming the flag whose value is wrong.
 * @throws {FlagError} for an unknown flag, or one that lacks its value.
 */
export function parseConfig(args: string[]): DbConfig | "help" {
  const { values } = parseFlags("deno task db", {
    args,
    strict: true,
    options: {
      id: { type: "string" },
      listen: { type: "string" },
      "peer-listen": { type: "string" },
      "advertise-client": { type: "string" },
      "advertise-peer": { type: "string" },
      dir: { type: "string" },
      peers: { type: "string" },
      join: { type: "string" },
      http: { type: "string" },
      "cluster-token": { type: "string" },
      "tick-ms": { type: "string", default: "50" },
      "election-ticks": { type: "string", default: "10" },
      "snapshot-every": { type: "string", default: "10000" },
      "log-level": { type: "string", default: "info" },
      "log-format": { type: "string", default: "auto" },
      "stop-with-stdin": { type: "boolean", default: false },
      cluster: { type: "string", default: "0" },
      "cluster-port": { type: "string", default: "7021" },
      "data-root": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const cluster = int("--cluster", values.cluster, 0, 9);
  if (cluster > 0) {
    // The launcher gives every node its own id, addresses and directory:
    // passing one of these to every node would make them collide.
    for (const f of PER_NODE_FLAGS) {
      if (values[f] !== undefined) {
        throw new InvalidArgumentError(
          `--${f}`,
          "it cannot be combined with --cluster, which sets it for each node",
        );
      }
    }
  } else if (values["data-root"] !== undefined) {
    throw new InvalidArgumentError(
      "--data-root",
      "it is a flag of the --cluster launcher: a single node takes --dir",
    );
  }
  const id = int("--id", values.id ?? "1", 1, 2 ** 31);
  const listen = checkAddress("--listen", values.listen ?? "127.0.0.1:7021");
  const peerListen = checkAddress("--peer-listen", values["peer-listen"] ?? "127.0.0.1:7022");
  const join = values.join ? checkAddress("--join", values.join) : "";
  if (join && values.peers) {
    throw new InvalidArgumentError(
      "--join",
      "it cannot be combined with --peers: join an existing cluster or found one",
    );
  }
  const peers = join
    ? new Map<number, string>()
    : parsePeers(values.peers ?? `${id}=${peerListen}`);
  if (!join && !peers.has(id)) {
    throw new InvalidArgumentError("--peers", `it must include this node's id ${id}`);
  }
  const level = values["log-level"];
  if (level !== "debug" && level !== "info" && level !== "warn" && level !== "error") {
    throw new InvalidArgumentError(
      "--log-level",
      `it must be debug, info, warn or error: current value is ${level}`,
    );
  }
  const format = values["log-format"];
  if (!(LOG_FORMAT_FLAGS as readonly string[]).includes(format)) {
    throw new InvalidArgumentError(
      "--log-format",
      `it must be ${LOG_FORMAT_FLAGS.join(", ")}: current value is ${format}`,
    );
  }
  return {
    id,
    idGiven: values.id !== undefined,
    listen,
    peerListen,
    advertiseClient: checkAddress("--advertise-client", values["advertise-client"] ?? listen),
    advertisePeer: checkAddress("--advertise-peer", values["advertise-peer"] ?? peerListen),
    dir: values.dir ?? `./data/node-${id}`,
    peers,
    peersGiven: values.peers !== undefined,
    clusterToken: values["cluster-token"] ?? "",
    clusterTokenGiven: values["cluster-token"] !== undefined,
    join,
    http: values.http ? checkAddress("--http", values.http) : "",
    tickMs: int("--tick-ms", values["tick-ms"], 1, 10_000),
    electionTicks: int("--election-ticks", values["election-ticks"], 2, 1000),
    snapshotEvery: int("--snapshot-every", values["snapshot-every"], 1, 10_000_000),
    logLevel: level,
    logFormat: format as LogFormatFlag,
    stopWithStdin: values["stop-with-stdin"],
    cluster,
    clusterPort: int("--cluster-port", values["cluster-port"], 1, 65_535 - 100),
    dataRoot: values["data-root"] ?? "./data",
  };
}

/** Flags the `--cluster` launcher sets for each node itself. */
const PER_NODE_FLAGS = [
  "id",
  "listen",
  "peer-listen",
  "advertise-client",
  "advertise-peer",
  "dir",
  "peers",
  "join",
  "http",
  "cluster-token",
] as const;

/** Formats a founding membership as `--peers` takes it: "1=host:port,2=host:port", by id. */
export function formatPeers(peers: ReadonlyMap<number, string>): string {
  return [...peers].sort(([a], [b]) => a - b).map(([id, addr]) => `${id}=${addr}`).join(",");
}

/** Parses "1=host:port,2=host:port". */
export function parsePeers(spec: string): Map<number, string> {
  const peers = new Map<number, string>();
  for (const part of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq < 0) {
      throw new InvalidArgumentError(
        "--peers",
        `each entry must be ID=HOST:PORT: current entry is "${part}"`,
      );
    }
    const id = int("--peers", part.slice(0, eq), 1, 2 ** 31);
    if (peers.has(id)) throw new InvalidArgumentError("--peers", `id ${id} is listed twice`);
    peers.set(id, checkAddress("--peers", part.slice(eq + 1)));
  }
  if (peers.size === 0) {
    throw new InvalidArgumentError("--peers", "it must list at least one member");
  }
  return peers;
}

function int(flag: string, raw: string | undefined, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(
      flag,
      `it must be an integer in [${min}, ${max}]: current value is ${raw}`,
    );
  }
  return n;
}
