/**
 * `deno task db --cluster N`: starts N local cassemdb nodes as child
 * processes on loopback (client ports 7021, 7031, ...; peer ports 7022, 7032,
 * ...; debug HTTP 7023, 7033, ...), prefixes their logs, and stops them by PID
 * on SIGINT/SIGTERM.
 *
 * @module
 */

/** The flags of local node `i` (1-based) of an `n`-node cluster. */
export function localNodeArgs(
  i: number,
  n: number,
  dataRoot: string,
  extra: string[] = [],
): string[] {
  const peers = Array.from({ length: n }, (_, k) => `${k + 1}=127.0.0.1:${7012 + 10 * (k + 1)}`)
    .join(",");
  return [
    "--id",
    String(i),
    "--listen",
    `127.0.0.1:${7011 + 10 * i}`,
    "--peer-listen",
    `127.0.0.1:${7012 + 10 * i}`,
    "--http",
    `127.0.0.1:${7013 + 10 * i}`,
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

/** Runs the cluster until a signal or until every node exits. */
export async function runLocalCluster(n: number, extra: string[]): Promise<void> {
  const children: Deno.ChildProcess[] = [];
  for (let i = 1; i <= n; i++) {
    const { cmd, args } = selfCommand(localNodeArgs(i, n, "./data", extra));
    const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
    children.push(child);
    pipe(child.stdout, `[node ${i}] `, Deno.stdout);
    pipe(child.stderr, `[node ${i}] `, Deno.stderr);
    console.error(`[cluster] node ${i} pid ${child.pid}: client 127.0.0.1:${7011 + 10 * i}`);
  }
  const stop = (sig: Deno.Signal) => {
    for (const c of children) {
      try {
        c.kill(sig);
      } catch { /* already gone */ }
    }
  };
  Deno.addSignalListener("SIGINT", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  const codes = await Promise.all(children.map((c) => c.status));
  Deno.exit(codes.every((c) => c.success) ? 0 : 1);
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
