/**
 * `deno task db --cluster N`: starts N local cassemdb nodes as child
 * processes on loopback (client ports 7021, 7031, ...; peer ports 7022, 7032,
 * ...; debug HTTP 7023, 7033, ...; `--cluster-port` moves them), prefixes
 * their logs, restarts a node that crashes, and stops them by PID on
 * SIGINT/SIGTERM.
 *
 * @module
 */

/** The flags of local node `i` (1-based) of an `n`-node cluster. */
export function localNodeArgs(
  i: number,
  n: number,
  dataRoot: string,
  extra: string[] = [],
  clientPort = 7021,
): string[] {
  const base = (k: number) => clientPort + 10 * (k - 1);
  const peers = Array.from({ length: n }, (_, k) => `${k + 1}=127.0.0.1:${base(k + 1) + 1}`)
    .join(",");
  return [
    "--id",
    String(i),
    "--listen",
    `127.0.0.1:${base(i)}`,
    "--peer-listen",
    `127.0.0.1:${base(i) + 1}`,
    "--http",
    `127.0.0.1:${base(i) + 2}`,
    "--peers",
    peers,
    "--dir",
    `${dataRoot}/node-${i}`,
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

/** Restarts of one node allowed within {@linkcode RESTART_WINDOW_MS} before it stays down. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/**
 * Runs the cluster until a signal or until every node exits. A node that
 * dies on its own (a crash, an abort of the runtime) is started again on its
 * data, as a service manager would, at most {@linkcode MAX_RESTARTS} times a
 * minute: raft makes a restart safe, and Deno 2.9.6's HTTP/2 can abort on an
 * assertion when a connection closes (denoland/deno#36788).
 */
export async function runLocalCluster(
  n: number,
  extra: string[],
  clientPort = 7021,
): Promise<void> {
  const running = new Map<number, Deno.ChildProcess>();
  let stopping = false;
  const spawn = (i: number) => {
    const { cmd, args } = selfCommand(localNodeArgs(i, n, "./data", extra, clientPort));
    const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
    running.set(i, child);
    pipe(child.stdout, `[node ${i}] `, Deno.stdout);
    pipe(child.stderr, `[node ${i}] `, Deno.stderr);
    console.error(
      `[cluster] node ${i} pid ${child.pid}: client 127.0.0.1:${clientPort + 10 * (i - 1)}`,
    );
    return child;
  };
  const supervise = async (i: number): Promise<boolean> => {
    const restarts: number[] = [];
    for (let child = spawn(i);; child = spawn(i)) {
      const status = await child.status;
      if (stopping) return status.success;
      const now = Date.now();
      while (restarts.length > 0 && now - restarts[0]! > RESTART_WINDOW_MS) restarts.shift();
      const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
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
    for (const l of lines) await dst.write(enc.encode(prefix + l + "\n"));
  }
  if (carry) await dst.write(enc.encode(prefix + carry + "\n"));
}
