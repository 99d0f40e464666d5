/**
 * `deno task db --cluster N`: starts N local cassemdb nodes as child
 * processes on loopback (client ports 7021, 7031, ...; peer ports 7022, 7032,
 * ...; debug HTTP 7023, 7033, ...; `--cluster-port` moves them), with their
 * data in `<data root>/node-<i>` (`--data-root`, default ./data), prefixes
 * their logs, restarts a node that crashes, and stops them by PID on
 * SIGINT/SIGTERM.
 *
 * Before it starts anything it refuses, with a message that says what to do:
 * - a data dir that holds another cluster (say, `deno task start`'s one-node
 *   cluster in ./data/node-1), or that another process is running on;
 * - a port of any node that is in use.
 *
 * Each node reads a pipe from the launcher on its stdin (`--stop-with-stdin`)
 * and stops when it closes: the kernel closes it when the launcher dies, even
 * by kill -9, so no node outlives it.
 *
 * @module
 */

import { resolve } from "node:path";
import { type OutputStream, SupervisedChild } from "../shared/supervisor.ts";
import { formatPeers } from "./config.ts";
import { probeDataDirLock } from "./server/data_dir.ts";
import { BindError, DataDirError } from "./server/errors.ts";
import { checkListenAddresses } from "./server/listen_check.ts";
import { readNodeRecord } from "./server/identity.ts";

/** The launcher cannot start the local cluster; the message says why and what to do. */
export class LauncherError extends Error {
  /** `message`: the whole line, saying what to do. */
  constructor(message: string) {
    super(message);
    this.name = "LauncherError";
  }
}

/** Options of {@linkcode runLocalCluster}. */
export interface LauncherOptions {
  /** Client port of node 1 (default 7021). */
  clientPort?: number;
  /** Directory of the nodes' data dirs (default ./data). */
  dataRoot?: string;
}

/**
 * How the checks below name the flags in their messages: the launcher's own
 * (`--data-root`, `--cluster-port P`), or those of a program that runs a
 * local cluster with other flags (`deno task start`: `--data`, `--port-base`).
 */
export interface LocalFlagNames {
  /** The flag that picks the data root (default `--data-root`). */
  dataRoot: string;
  /** The flag and value that picked the ports (default `--cluster-port <client port>`). */
  ports: string;
  /** The flag to change the ports (default `--cluster-port`). */
  portsFlag: string;
}

function flagNames(clientPort: number, names: Partial<LocalFlagNames>): LocalFlagNames {
  return {
    dataRoot: names.dataRoot ?? "--data-root",
    ports: names.ports ?? `--cluster-port ${clientPort}`,
    portsFlag: names.portsFlag ?? "--cluster-port",
  };
}

/** The client port of local node `i` (1-based) when node 1's is `clientPort`. */
export function basePort(clientPort: number, i: number): number {
  return clientPort + 10 * (i - 1);
}

/** The founding membership of an `n`-node local cluster: id → peer address. */
export function localFounders(n: number, clientPort = 7021): Map<number, string> {
  return new Map(
    Array.from({ length: n }, (_, k) => [k + 1, `127.0.0.1:${basePort(clientPort, k + 1) + 1}`]),
  );
}

/** The flags of local node `i` (1-based) of an `n`-node cluster. */
export function localNodeArgs(
  i: number,
  n: number,
  dataRoot: string,
  extra: string[] = [],
  clientPort = 7021,
  clusterToken = "",
): string[] {
  const base = basePort(clientPort, i);
  return [
    "--id",
    String(i),
    "--listen",
    `127.0.0.1:${base}`,
    "--peer-listen",
    `127.0.0.1:${base + 1}`,
    "--http",
    `127.0.0.1:${base + 2}`,
    "--peers",
    formatPeers(localFounders(n, clientPort)),
    "--dir",
    `${dataRoot}/node-${i}`,
    "--cluster-token",
    clusterToken,
    "--stop-with-stdin",
    ...extra,
  ];
}

/** The command that runs db/main.ts with `args`, from source or as a compiled binary. */
export function selfCommand(args: string[]): { cmd: string; args: string[] } {
  const exe = Deno.execPath();
  const fromSource = /(^|\/)deno(\.exe)?$/.test(exe);
  const main = new URL("./main.ts", import.meta.url).pathname;
  return fromSource ? { cmd: exe, args: ["run", "-A", main, ...args] } : { cmd: exe, args };
}

/**
 * Checks the data dirs of an `n`-node local cluster under `dataRoot` and
 * returns the cluster token to start its nodes with: the one the dirs were
 * founded with, or a new random one when none holds a cluster yet (so every
 * local cluster gets a cluster id of its own).
 * @throws {LauncherError} when a dir is in use by another process, holds
 * another cluster (another founding membership, or a node that joined), or
 * cannot be read; the message says what to do.
 */
export async function checkLocalDataDirs(
  n: number,
  dataRoot: string,
  clientPort = 7021,
  names: Partial<LocalFlagNames> = {},
): Promise<string> {
  const flag = flagNames(clientPort, names).dataRoot;
  const founders = formatPeers(localFounders(n, clientPort));
  const tokens = new Set<string>();
  const clusters = new Set<string>();
  for (let i = 1; i <= n; i++) {
    const dir = `${dataRoot}/node-${i}`;
    const lock = await probeDataDirLock(dir);
    if (!lock.free) {
      throw new LauncherError(
        `Cannot start a local cluster as ${dir} is in use by ${
          lock.pid ? `process ${lock.pid}` : "another process"
        } (another cassemdb node runs on it): stop it first, or use another ${flag}`,
      );
    }
    let rec;
    try {
      rec = await readNodeRecord(dir);
    } catch (e) {
      if (!(e instanceof DataDirError)) throw e;
      throw new LauncherError(`${e.message}: remove ${dir}, or use another ${flag}`);
    }
    if (!rec || rec.clusterId === "") continue; // empty, or written before cluster ids
    const theirs = rec.founders ? `founded with --peers ${formatPeers(rec.founders)}` : "joined";
    if (rec.id !== i || !rec.founders || formatPeers(rec.founders) !== founders) {
      throw new LauncherError(
        `Cannot start a local cluster of ${n} nodes as ${dir} holds node ${rec.id} of another cluster (${rec.clusterId}, ${theirs}), not node ${i} of one founded with --peers ${founders}: use another ${flag}, or remove ${dataRoot} to start afresh (its data is lost)`,
      );
    }
    tokens.add(rec.token ?? "");
    clusters.add(rec.clusterId);
  }
  if (clusters.size > 1) {
    throw new LauncherError(
      `Cannot start a local cluster as the data dirs under ${dataRoot} belong to ${clusters.size} different clusters (${
        [...clusters].join(", ")
      }): use another ${flag}, or remove ${dataRoot} to start afresh (its data is lost)`,
    );
  }
  return tokens.size === 1 ? [...tokens][0]! : crypto.randomUUID().slice(0, 8);
}

/**
 * Checks that every port of an `n`-node local cluster is free.
 * @throws {LauncherError} naming the first port in use, its node and role, and what to do.
 */
export function checkLocalPorts(
  n: number,
  clientPort = 7021,
  names: Partial<LocalFlagNames> = {},
): void {
  const flags = flagNames(clientPort, names);
  for (let i = 1; i <= n; i++) {
    const base = basePort(clientPort, i);
    const roles = [["client", base], ["peer", base + 1], ["debug HTTP", base + 2]] as const;
    for (const [role, port] of roles) {
      try {
        checkListenAddresses([{ flag: "--cluster-port", address: `127.0.0.1:${port}` }]);
      } catch (e) {
        if (!(e instanceof BindError)) throw e;
        throw new LauncherError(
          `Cannot start a local cluster as the ${role} port of node ${i}, 127.0.0.1:${port} (${flags.ports}), cannot be bound: ${e.reason}; stop what listens there, or pick another ${flags.portsFlag}`,
        );
      }
    }
  }
}

/**
 * Runs the cluster until a signal or until every node exits. A node that
 * dies on its own (a crash, an abort of the runtime) is started again on its
 * data, as a service manager would (`shared/supervisor.ts`: at most 5 times
 * a minute): raft makes a restart safe, and Deno 2.9.6's HTTP/2 can abort on
 * an assertion when a connection closes (denoland/deno#36788). A node that
 * refuses its flags (exit code 2) stays down.
 * @throws {LauncherError} before starting anything, when a data dir or a port is unusable.
 */
export async function runLocalCluster(
  n: number,
  extra: string[],
  opts: LauncherOptions = {},
): Promise<void> {
  const clientPort = opts.clientPort ?? 7021;
  // Absolute, so that each node's command line names its data dir.
  const dataRoot = resolve(opts.dataRoot ?? "./data");
  const token = await checkLocalDataDirs(n, dataRoot, clientPort);
  checkLocalPorts(n, clientPort);
  const nodes = Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const prefix = `[node ${i}] `;
    return new SupervisedChild({
      name: `node ${i}`,
      command: () => selfCommand(localNodeArgs(i, n, dataRoot, extra, clientPort, token)),
    }, {
      report: (line) => console.error(`[cluster] ${line}`),
      onLine: (stream: OutputStream, line) =>
        (stream === "stdout" ? console.log : console.error)(tagged(prefix, line)),
      onStart: (pid) =>
        console.error(
          `[cluster] node ${i} pid ${pid}: client 127.0.0.1:${basePort(clientPort, i)}`,
        ),
    });
  });
  const stop = () => {
    for (const node of nodes) void node.stop({ signal: "SIGTERM" });
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  console.error(`[cluster] ${n} nodes, data under ${dataRoot}`);
  const ok = await Promise.all(nodes.map((node) => node.run()));
  Deno.exit(ok.every(Boolean) ? 0 : 1);
}

/**
 * A node's output line as the launcher prints it: JSON log lines as they
 * are (each names its node in `component`, and a prefix would break the
 * JSON), any other line after `prefix`.
 */
function tagged(prefix: string, line: string): string {
  return line.startsWith("{") ? line : prefix + line;
}
