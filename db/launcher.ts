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

/** The client port of local node `i` (1-based) when node 1's is `clientPort`. */
function basePort(clientPort: number, i: number): number {
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
): Promise<string> {
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
        } (another cassemdb node runs on it): stop it first, or use another --data-root`,
      );
    }
    let rec;
    try {
      rec = await readNodeRecord(dir);
    } catch (e) {
      if (!(e instanceof DataDirError)) throw e;
      throw new LauncherError(`${e.message}: remove ${dir}, or use another --data-root`);
    }
    if (!rec || rec.clusterId === "") continue; // empty, or written before cluster ids
    const theirs = rec.founders ? `founded with --peers ${formatPeers(rec.founders)}` : "joined";
    if (rec.id !== i || !rec.founders || formatPeers(rec.founders) !== founders) {
      throw new LauncherError(
        `Cannot start a local cluster of ${n} nodes as ${dir} holds node ${rec.id} of another cluster (${rec.clusterId}, ${theirs}), not node ${i} of one founded with --peers ${founders}: use another --data-root, or remove ${dataRoot} to start afresh (its data is lost)`,
      );
    }
    tokens.add(rec.token ?? "");
    clusters.add(rec.clusterId);
  }
  if (clusters.size > 1) {
    throw new LauncherError(
      `Cannot start a local cluster as the data dirs under ${dataRoot} belong to ${clusters.size} different clusters (${
        [...clusters].join(", ")
      }): use another --data-root, or remove ${dataRoot} to start afresh (its data is lost)`,
    );
  }
  return tokens.size === 1 ? [...tokens][0]! : crypto.randomUUID().slice(0, 8);
}

/**
 * Checks that every port of an `n`-node local cluster is free.
 * @throws {LauncherError} naming the first port in use, its node and role, and what to do.
 */
export function checkLocalPorts(n: number, clientPort = 7021): void {
  for (let i = 1; i <= n; i++) {
    const base = basePort(clientPort, i);
    const roles = [["client", base], ["peer", base + 1], ["debug HTTP", base + 2]] as const;
    for (const [role, port] of roles) {
      try {
        checkListenAddresses([{ flag: "--cluster-port", address: `127.0.0.1:${port}` }]);
      } catch (e) {
        if (!(e instanceof BindError)) throw e;
        throw new LauncherError(
          `Cannot start a local cluster as the ${role} port of node ${i}, 127.0.0.1:${port} (--cluster-port ${clientPort}), cannot be bound: ${e.reason}; stop what listens there, or pick another --cluster-port`,
        );
      }
    }
  }
}

/** Restarts of one node allowed within {@linkcode RESTART_WINDOW_MS} before it stays down. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** Exit code of a node whose flags are wrong or contradict its data: restarting cannot help. */
const EXIT_USAGE = 2;

/**
 * Runs the cluster until a signal or until every node exits. A node that
 * dies on its own (a crash, an abort of the runtime) is started again on its
 * data, as a service manager would, at most {@linkcode MAX_RESTARTS} times a
 * minute: raft makes a restart safe, and Deno 2.9.6's HTTP/2 can abort on an
 * assertion when a connection closes (denoland/deno#36788). A node that
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
  const running = new Map<number, Deno.ChildProcess>();
  let stopping = false;
  const spawn = (i: number) => {
    const { cmd, args } = selfCommand(localNodeArgs(i, n, dataRoot, extra, clientPort, token));
    // stdin: the pipe the node watches (--stop-with-stdin); nothing is written to it.
    const child = new Deno.Command(cmd, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    running.set(i, child);
    pipe(child.stdout, `[node ${i}] `, Deno.stdout);
    pipe(child.stderr, `[node ${i}] `, Deno.stderr);
    console.error(
      `[cluster] node ${i} pid ${child.pid}: client 127.0.0.1:${basePort(clientPort, i)}`,
    );
    return child;
  };
  const supervise = async (i: number): Promise<boolean> => {
    const restarts: number[] = [];
    for (let child = spawn(i);; child = spawn(i)) {
      const status = await child.status;
      if (stopping) return status.success;
      const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
      if (status.code === EXIT_USAGE && !status.signal) {
        console.error(`[cluster] node ${i} refused to start (${how}, see above); it stays down`);
        return false;
      }
      const now = Date.now();
      while (restarts.length > 0 && now - restarts[0]! > RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length >= MAX_RESTARTS) {
        console.error(`[cluster] node ${i} exited (${how}) again; it stays down`);
        return false;
      }
      restarts.push(now);
      console.error(`[cluster] node ${i} exited (${how}); restarting it in 1 s`);
      await new Promise((r) => setTimeout(r, 1_000));
      if (stopping) return false;
    }
  };
  const stop = (sig: Deno.Signal) => {
    stopping = true;
    for (const c of running.values()) {
      try {
        c.kill(sig);
      } catch { /* already gone */ }
    }
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  console.error(`[cluster] ${n} nodes, data under ${dataRoot}`);
  const ok = await Promise.all(Array.from({ length: n }, (_, k) => supervise(k + 1)));
  Deno.exit(ok.every(Boolean) ? 0 : 1);
}

async function pipe(
  src: ReadableStream<Uint8Array>,
  prefix: string,
  dst: { write(p: Uint8Array): Promise<number> },
) {
  const enc = new TextEncoder();
  let carry = "";
  for await (const chunk of src.pipeThrough(new TextDecoderStream())) {
    const lines = (carry + chunk).split("\n");
    carry = lines.pop() ?? "";
    for (const l of lines) await dst.write(enc.encode(tagged(prefix, l) + "\n"));
  }
  if (carry) await dst.write(enc.encode(tagged(prefix, carry) + "\n"));
}

/**
 * A node's output line as the launcher prints it: JSON log lines as they
 * are (each names its node in `component`, and a prefix would break the
 * JSON), any other line after `prefix`.
 */
function tagged(prefix: string, line: string): string {
  return line.startsWith("{") ? line : prefix + line;
}
