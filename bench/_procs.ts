/**
 * Child processes of the benchmarks: cassemdb nodes, etcd members, the echo
 * server and the load generators. Everything binds loopback; every process
 * started here is tracked by PID and stopped by PID (SIGTERM, then SIGKILL
 * after a grace period), also when the benchmark itself is interrupted.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { callOnce, RawClient } from "./_rpc.ts";

/** The repository root (child Deno processes run there, next to deno.json). */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A running child process. */
export class Proc {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  /** Every stdout line (bounded to the last 1,000). */
  readonly lines: string[] = [];
  /** The last ~8 KiB of stderr, for error messages. */
  stderrTail = "";
  readonly exited: Promise<Deno.CommandStatus>;
  #exitedYet = false;
  #lineWaiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];

  constructor(
    name: string,
    cmd: string,
    args: string[],
    opts: { cwd?: string; env?: Record<string, string> } = {},
  ) {
    this.name = name;
    // Under setpriv, the child is killed with this process even if it dies
    // without stopping its children (an abort, a SIGKILL): no orphans.
    if (HAS_SETPRIV) {
      args = ["--pdeathsig", "SIGKILL", "--", cmd, ...args];
      cmd = SETPRIV;
    }
    this.child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.child.pid;
    live.set(this.pid, this);
    installSignalHandlers();
    this.exited = this.child.status.then((s) => {
      this.#exitedYet = true;
      live.delete(this.pid);
      return s;
    });
    void this.#readStdout();
    void this.#readStderr();
  }

  get hasExited(): boolean {
    return this.#exitedYet;
  }

  /** Resolves with the first stdout line (already seen or future) that passes `test`. */
  waitLine(test: (l: string) => boolean, timeoutMs: number): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        this.#lineWaiters = this.#lineWaiters.filter((x) => x !== w);
        reject(new Error(`${this.name} ${why}: ${this.stderrTail.slice(-600)}`));
      };
      const w = { test, resolve: (l: string) => (clearTimeout(timer), resolve(l)) };
      const timer = setTimeout(
        () => fail(`printed no expected line within ${timeoutMs} ms`),
        timeoutMs,
      );
      this.#lineWaiters.push(w);
      // A child that exits without the line fails at once, not at the timeout.
      void this.exited.then((s) => {
        if (this.#lineWaiters.includes(w)) {
          fail(`exited (code ${s.code}) without the expected line`);
        }
      });
    });
  }

  /** Writes one line to the child's stdin. */
  async writeLine(line: string): Promise<void> {
    const w = this.child.stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode(line + "\n"));
    } finally {
      w.releaseLock();
    }
  }

  /** SIGTERM by PID, SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.#exitedYet) {
      try {
        Deno.kill(this.pid, "SIGTERM");
      } catch { /* already gone */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        this.exited.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (timedOut && !this.#exitedYet) {
        try {
          Deno.kill(this.pid, "SIGKILL");
        } catch { /* already gone */ }
      }
    }
    await this.exited;
    try {
      await this.child.stdin.close();
    } catch { /* closed */ }
  }

  async #readStdout(): Promise<void> {
    let carry = "";
    try {
      for await (const chunk of this.child.stdout.pipeThrough(new TextDecoderStream())) {
        const parts = (carry + chunk).split("\n");
        carry = parts.pop() ?? "";
        for (const l of parts) this.#line(l);
      }
    } catch { /* the process went away */ }
    if (carry) this.#line(carry);
  }

  #line(l: string): void {
    this.lines.push(l);
    if (this.lines.length > 1_000) this.lines.shift();
    for (const w of [...this.#lineWaiters]) {
      if (w.test(l)) {
        this.#lineWaiters = this.#lineWaiters.filter((x) => x !== w);
        w.resolve(l);
      }
    }
  }

  async #readStderr(): Promise<void> {
    try {
      for await (const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderrTail = (this.stderrTail + chunk).slice(-8_192);
      }
    } catch { /* the process went away */ }
  }
}

const SETPRIV = "/usr/bin/setpriv";
const HAS_SETPRIV = (() => {
  try {
    return Deno.statSync(SETPRIV).isFile;
  } catch {
    return false;
  }
})();

const live = new Map<number, Proc>();
let handlersInstalled = false;

/** On SIGINT/SIGTERM of the benchmark, stops every child it started (by PID), then exits. */
function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const onSignal = async () => {
    console.error(`\nstopping ${live.size} child process(es)...`);
    await Promise.all([...live.values()].map((p) => p.stop(2_000)));
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
}

/** Stops every given process (by PID), ignoring the ones already gone. */
export async function stopAll(procs: Iterable<Proc | undefined>): Promise<void> {
  await Promise.all([...procs].map((p) => p?.stop()));
}

const handedOut = new Set<number>();

/** A loopback TCP port that was free a moment ago (never the same one twice per run). */
export function freePort(): number {
  for (;;) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resident set size and its peak (VmRSS, VmHWM from /proc/<pid>/status), in MiB. */
export async function procMemMiB(pid: number): Promise<{ rss: number; hwm: number }> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

/** Total size of the files under `dir`, in MiB. */
export async function dirSizeMiB(dir: string): Promise<number> {
  let bytes = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) bytes += (await dirSizeMiB(p)) * 1024 * 1024;
    else if (e.isFile) bytes += (await Deno.stat(p)).size;
  }
  return bytes / (1024 * 1024);
}

// ---- clusters ---------------------------------------------------------------------

/** One member of a benchmark cluster. */
export interface Member {
  /** 1-based. */
  index: number;
  /** Client gRPC address. */
  client: string;
  proc: Proc;
}

/** A started cluster of cassemdb nodes or etcd members. */
export interface Cluster {
  kind: "cassem" | "etcd";
  members: Member[];
  leader: Member;
  followers: Member[];
  /** Freezes every member (SIGSTOP by PID), so an idle cluster takes no CPU from a measurement. */
  pause(): void;
  /** Thaws every member (SIGCONT) and waits until they agree on a leader again (updating `leader`). */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** A Cluster over started members; `probe` answers the leader's index (1-based) once all agree. */
function makeCluster(
  kind: "cassem" | "etcd",
  members: Member[],
  leaderIndex: number,
  probe: () => Promise<number | undefined>,
): Cluster {
  let paused = false;
  const signal = (sig: Deno.Signal) => {
    for (const m of members) {
      try {
        Deno.kill(m.proc.pid, sig);
      } catch { /* gone */ }
    }
  };
  const c: Cluster = {
    kind,
    members,
    leader: members[leaderIndex - 1]!,
    followers: members.filter((_, i) => i !== leaderIndex - 1),
    pause() {
      paused = true;
      signal("SIGSTOP");
    },
    async resume() {
      if (!paused) return;
      paused = false;
      signal("SIGCONT");
      const i = await waitFor(
        `the ${kind} cluster to agree on a leader again`,
        30_000,
        members,
        probe,
      );
      c.leader = members[i - 1]!;
      c.followers = members.filter((_, k) => k !== i - 1);
    },
    async stop() {
      // Probe channels first: a grpc-js client that receives the GOAWAY of a
      // server shutting down can abort Deno 2.9.6 (an nghttp2 assertion).
      closeProbeClients(members.map((m) => m.client));
      if (paused) signal("SIGCONT");
      paused = false;
      await stopAll(members.map((m) => m.proc));
    },
  };
  return c;
}

/** Options of {@linkcode startCassem}. */
export interface CassemOptions {
  /** Extra db/main.ts flags for every node. */
  extra?: string[];
  /** Write a V8 CPU profile of every node into `<dir>/node-<i>/` (on a clean exit). */
  cpuProfDir?: string;
  /** Reuse these ports and dirs (a restart); default fresh ones under `root`. */
  layout?: { client: number; peer: number; dir: string }[];
}

/** Ports and data dirs for an `n`-node cassemdb cluster under `root`. */
export function cassemLayout(
  n: number,
  root: string,
): { client: number; peer: number; dir: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    client: freePort(),
    peer: freePort(),
    dir: `${root}/node-${i + 1}`,
  }));
}

/** The deno process of one cassemdb node. */
export function spawnCassemNode(
  i: number,
  layout: { client: number; peer: number; dir: string }[],
  opts: CassemOptions = {},
): Proc {
  const l = layout[i - 1]!;
  const peers = layout.map((x, k) => `${k + 1}=127.0.0.1:${x.peer}`).join(",");
  const prof = opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}/node-${i}`] : [];
  const main = fileURLToPath(new URL("../db/main.ts", import.meta.url));
  return new Proc(`cassemdb node ${i}`, Deno.execPath(), [
    "run",
    "-A",
    ...prof,
    main,
    "--id",
    String(i),
    "--listen",
    `127.0.0.1:${l.client}`,
    "--peer-listen",
    `127.0.0.1:${l.peer}`,
    "--peers",
    peers,
    "--dir",
    l.dir,
    "--log-level",
    "warn",
    ...(opts.extra ?? []),
  ]);
}

interface CassemStatus {
  id: number;
  leader: number;
  role: string;
  commit: number;
  applied: number;
  keys: number;
}

/** Status of the cassemdb node at `client`, or undefined when it does not answer. */
export async function cassemStatus(
  client: string,
  timeoutMs = 1_000,
): Promise<CassemStatus | undefined> {
  try {
    return (await callOnce(client, "cassem", "Cluster", "Status", {}, {
      timeoutMs,
    })) as CassemStatus;
  } catch {
    return undefined;
  }
}

/**
 * Starts an `n`-node cassemdb cluster (default tick) and waits until every
 * node follows one leader and the leader has answered a write. A start that
 * fails (a node exits: Deno's nghttp2 has been seen to abort on an assertion
 * while peers connect) is retried twice, on fresh directories unless a
 * layout was given.
 */
export async function startCassem(
  n: number,
  root: string,
  opts: CassemOptions = {},
): Promise<Cluster> {
  for (let attempt = 1;; attempt++) {
    const layout = opts.layout ?? cassemLayout(n, `${root}/try-${attempt}`);
    try {
      return await startCassemOnce(n, layout, opts);
    } catch (e) {
      if (attempt >= 3) throw e;
      console.error(`(cassemdb start failed, retrying: ${(e as Error).message.slice(0, 400)})`);
    }
  }
}

async function startCassemOnce(
  n: number,
  layout: { client: number; peer: number; dir: string }[],
  opts: CassemOptions,
): Promise<Cluster> {
  const members: Member[] = [];
  try {
    for (let i = 1; i <= n; i++) {
      members.push({
        index: i,
        client: `127.0.0.1:${layout[i - 1]!.client}`,
        proc: spawnCassemNode(i, layout, opts),
      });
    }
    const leaderId = await waitFor(
      `a cassemdb leader among ${n} node(s)`,
      30_000,
      members,
      () => cassemLeader(members.map((m) => m.client)),
    );
    const leader = members[leaderId - 1]!;
    const kv = new RawClient(leader.client, "cassem", "KV");
    try {
      await waitFor("the cassemdb leader to take a write", 15_000, members, async () => {
        try {
          await kv.method("SetKV")(
            { key: "bench-probe", val: new Uint8Array(1), overwrite: true },
            2_000,
          );
          return true;
        } catch {
          return undefined;
        }
      });
    } finally {
      kv.close();
    }
    return makeCluster(
      "cassem",
      members,
      leaderId,
      () => cassemLeader(members.map((m) => m.client)),
    );
  } catch (e) {
    await stopAll(members.map((m) => m.proc));
    throw e;
  }
}

const statusClients = new Map<string, RawClient>();

/** The 1-based index of the node all of `clients` follow as leader (and that says it leads). */
async function cassemLeader(clients: string[]): Promise<number | undefined> {
  const st = await Promise.all(clients.map(async (addr) => {
    let c = statusClients.get(addr);
    if (!c) statusClients.set(addr, c = new RawClient(addr, "cassem", "Cluster"));
    try {
      return (await c.method("Status")({}, 1_000)) as CassemStatus;
    } catch {
      return undefined;
    }
  }));
  const lead = st[0]?.leader ?? 0;
  if (!lead || st.some((s) => !s || s.leader !== lead)) return undefined;
  return st.find((s) => s!.id === lead)?.role === "leader" ? lead : undefined;
}

/** Closes the clients the leader probes keep open (to `addrs`, default all). */
export function closeProbeClients(addrs?: string[]): void {
  for (const [addr, c] of statusClients) {
    if (addrs && !addrs.includes(addr)) continue;
    c.close();
    statusClients.delete(addr);
  }
}

/** Path of the etcd binary, or undefined when it is not installed. */
export async function findEtcd(): Promise<{ path: string; version: string } | undefined> {
  for (const path of [Deno.env.get("ETCD_BIN"), "/usr/bin/etcd", "/usr/local/bin/etcd"]) {
    if (!path) continue;
    try {
      const out = await new Deno.Command(path, {
        args: ["--version"],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (!out.success) continue;
      const version = /etcd Version:\s*(\S+)/.exec(new TextDecoder().decode(out.stdout))?.[1] ??
        "?";
      return { path, version };
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * Starts an `n`-member etcd cluster on loopback (temp data dirs under
 * `root`, default heartbeat and election settings) and waits for a leader
 * that has answered a Put.
 */
export async function startEtcd(etcdPath: string, n: number, root: string): Promise<Cluster> {
  const ports = Array.from({ length: n }, () => ({ client: freePort(), peer: freePort() }));
  const initial = ports.map((p, i) => `e${i + 1}=http://127.0.0.1:${p.peer}`).join(",");
  const token = `bench-${crypto.randomUUID().slice(0, 8)}`;
  const members: Member[] = [];
  try {
    for (let i = 1; i <= n; i++) {
      const p = ports[i - 1]!;
      const proc = new Proc(`etcd e${i}`, etcdPath, [
        "--name",
        `e${i}`,
        "--data-dir",
        `${root}/etcd-${n}-${i}`,
        "--listen-client-urls",
        `http://127.0.0.1:${p.client}`,
        "--advertise-client-urls",
        `http://127.0.0.1:${p.client}`,
        "--listen-peer-urls",
        `http://127.0.0.1:${p.peer}`,
        "--initial-advertise-peer-urls",
        `http://127.0.0.1:${p.peer}`,
        "--initial-cluster",
        initial,
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        token,
        "--logger",
        "zap",
        "--log-level",
        "error",
      ], { cwd: root });
      members.push({ index: i, client: `127.0.0.1:${p.client}`, proc });
    }
    const probe = () => etcdLeader(members.map((m) => m.client));
    const leaderIndex = await waitFor(
      `an etcd leader among ${n} member(s)`,
      30_000,
      members,
      probe,
    );
    const leader = members[leaderIndex - 1]!;
    await waitFor("the etcd leader to take a write", 15_000, members, async () => {
      try {
        await callOnce(leader.client, "etcd", "KV", "Put", {
          key: new TextEncoder().encode("bench-probe"),
          value: new Uint8Array(1),
        });
        return true;
      } catch {
        return undefined;
      }
    });
    return makeCluster("etcd", members, leaderIndex, probe);
  } catch (e) {
    await stopAll(members.map((m) => m.proc));
    throw e;
  }
}

/** The 1-based index of the member all of `clients` follow as leader. */
async function etcdLeader(clients: string[]): Promise<number | undefined> {
  const st = await Promise.all(clients.map(async (addr) => {
    let c = statusClients.get(addr);
    if (!c) {
      statusClients.set(addr, c = new RawClient(addr, "etcd", "Maintenance", { longs: "string" }));
    }
    try {
      return (await c.method("Status")({}, 1_000)) as {
        header: { memberId: string };
        leader: string;
      };
    } catch {
      return undefined;
    }
  }));
  const lead = st[0]?.leader;
  if (!lead || lead === "0" || st.some((s) => !s || s.leader !== lead)) return undefined;
  const i = st.findIndex((s) => s!.header.memberId === lead);
  return i >= 0 ? i + 1 : undefined;
}

/** Polls `probe` every 50 ms until it returns a value; fails early when a member exits. */
async function waitFor<T>(
  what: string,
  timeoutMs: number,
  members: Member[],
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = members.find((m) => m.proc.hasExited);
    if (dead) {
      throw new Error(
        `Cannot wait for ${what} as ${dead.proc.name} exited: ${dead.proc.stderrTail.slice(-800)}`,
      );
    }
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(50);
  }
  throw new Error(`Cannot wait for ${what} any longer: ${timeoutMs} ms passed`);
}

// ---- load generator ---------------------------------------------------------------

/** What one load generator run printed. */
export interface LoadResult {
  protocol: string;
  op: string;
  target: string;
  concurrency: number;
  ops: number;
  seconds: number;
  opsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  firstError?: string;
  /** CPU time of the load generator during the counted phase, ms. */
  clientCpuMs: number;
  /** CPU time of the `cpuPids` processes during the counted phase, ms (NaN without them). */
  serverCpuMs: number;
  /**
   * CPU used during the counted phase by user processes that this benchmark
   * did not start, in % of one core: how much the row was disturbed by other
   * work on this shared machine.
   */
  othersCpuPct: number;
}

/** Options of one load generator run (see bench/load_gen.ts). */
export interface LoadSpec {
  target: string;
  protocol: "cassem" | "etcd" | "echo";
  op: "set" | "get-lin" | "get-ser" | "fill" | "echo";
  concurrency: number;
  durationS: number;
  valueSize?: number;
  keys?: number;
  maxOps?: number;
  warmupS?: number;
  prefix?: string;
  /** Extra deno flags for the load generator process (e.g. --cpu-prof). */
  denoFlags?: string[];
  /** Server processes whose CPU time is sampled over the counted phase. */
  cpuPids?: number[];
}

/**
 * CPU time so far (ms) of every user-space process on the machine that is
 * not this benchmark or one of its descendants: other people's work on a
 * shared machine. Kernel threads are left out (the kernel's writeback and
 * journal threads work for the benchmark's own fsyncs).
 */
export function foreignCpuMs(): Map<number, number> {
  const procs = new Map<number, { ppid: number; cpu: number }>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const raw = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const f = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
      const flags = Number(f[6]);
      if (flags & 0x00200000) continue; // PF_KTHREAD
      procs.set(Number(e.name), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) * 10 });
    } catch { /* gone */ }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === Deno.pid) return true;
      p = procs.get(p)?.ppid ?? 0;
    }
    return false;
  };
  const out = new Map<number, number>();
  for (const [pid, p] of procs) if (!ours(pid)) out.set(pid, p.cpu);
  return out;
}

/** CPU (ms) the foreign processes used between two {@linkcode foreignCpuMs} snapshots. */
export function foreignDeltaMs(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, cpu] of after) ms += cpu - (before.get(pid) ?? 0);
  return ms;
}

/** CPU time (user + system) of process `pid` so far, in ms, from /proc/<pid>/stat. */
export function procCpuMs(pid: number): number {
  try {
    const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(")").pop()!.trim().split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms (CLK_TCK 100)
  } catch {
    return NaN;
  }
}

/** Runs bench/load_gen.ts as its own process and returns the JSON line it printed. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const main = fileURLToPath(new URL("./load_gen.ts", import.meta.url));
  const args = [
    "run",
    "-A",
    ...(spec.denoFlags ?? []),
    main,
    "--target",
    spec.target,
    "--protocol",
    spec.protocol,
    "--op",
    spec.op,
    "--concurrency",
    String(spec.concurrency),
    "--duration",
    String(spec.durationS),
    "--value-size",
    String(spec.valueSize ?? 256),
    "--keys",
    String(spec.keys ?? 1_000),
    "--max-ops",
    String(spec.maxOps ?? 1_000_000),
    "--warmup",
    String(spec.warmupS ?? 0.5),
    ...(spec.prefix ? ["--prefix", spec.prefix] : []),
  ];
  const p = new Proc(
    `load_gen ${spec.protocol} ${spec.op} c=${spec.concurrency}`,
    Deno.execPath(),
    args,
  );
  const pids = spec.cpuPids ?? [];
  const cpu = () => pids.reduce((s, pid) => s + procCpuMs(pid), 0);
  try {
    // Bounded: warm-up + duration + the last calls' deadline (10 s) + start-up.
    const limitMs = (spec.durationS + (spec.warmupS ?? 0.5) + 30) * 1000;
    let cpu0 = NaN;
    let foreign0 = new Map<number, number>();
    if (spec.op !== "fill") {
      await p.waitLine((l) => l.startsWith('{"phase"'), limitMs);
      cpu0 = cpu();
      foreign0 = foreignCpuMs();
    }
    const line = await p.waitLine((l) => l.startsWith('{"protocol"'), limitMs);
    const serverCpuMs = pids.length > 0 ? cpu() - cpu0 : NaN;
    const r = JSON.parse(line) as Omit<LoadResult, "serverCpuMs" | "othersCpuPct">;
    const othersCpuPct = foreignDeltaMs(foreign0, foreignCpuMs()) / 10 / r.seconds;
    return { ...r, serverCpuMs, othersCpuPct };
  } finally {
    await p.stop();
  }
}
