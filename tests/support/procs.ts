/**
 * Child processes for tests and benchmarks, in one place: spawn a child and
 * read its output line by line, wait for a line or a condition, pick free
 * loopback ports, stop a child by its PID (SIGTERM, then SIGKILL after a
 * grace period), or run one to its exit ({@linkcode runToEnd}). The process
 * harnesses of cassemdb (tests/db/_cluster.ts), cassemadm
 * (tests/adm/_adm_proc.ts), cassemagent (tests/agent/_agents.ts) and the
 * stack (tests/stack/_stack.ts), and the benchmarks (bench/_procs.ts) build
 * on it. The one thing it knows of cassem: a service's JSON log lines are
 * read in the text format (shared/log.ts), unless `rawLogLines` is set.
 *
 * Every child {@linkcode spawnChild} starts is tracked by PID until it exits,
 * and SIGKILLed when the spawning process unloads
 * ({@linkcode killLiveChildren}), so a test that fails half-way leaves no
 * process behind; {@linkcode runToEnd} waits for its child, bounded.
 *
 * ```ts ignore
 * const p = spawnChild("echo", Deno.execPath(), ["run", "-A", "server.ts", "--port", `${freePort()}`]);
 * await p.waitLine((l) => l.includes("listening"), { timeoutMs: 10_000 });
 * await p.stop();
 * ```
 *
 * @module
 */

import { logLineAsText } from "../../shared/log.ts";
import { readLines } from "../../shared/supervisor.ts";

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Options of {@linkcode waitFor}. */
export interface WaitOptions {
  /** Give up after this many ms (default 15,000). */
  timeoutMs?: number;
  /** Poll every this many ms (default 50). */
  everyMs?: number;
  /**
   * Checked before every probe: a string ends the wait at once with that
   * reason (for example, a process the probe needs has exited).
   */
  failIf?: () => string | undefined;
}

/**
 * Polls `probe` until it returns a value other than `undefined`, at most
 * `timeoutMs`. A probe that throws counts as "not yet" (its last error is
 * quoted when time runs out).
 * @throws {Error} naming `what` when time runs out or `failIf` gives a reason.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (true) {
    const reason = opts.failIf?.();
    if (reason !== undefined) throw new Error(`Cannot see ${what} as ${reason}`);
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(
        `Cannot see ${what} within ${timeoutMs} ms${last ? `: last error ${String(last)}` : ""}`,
      );
    }
    await sleep(opts.everyMs ?? 50);
  }
}

// ---- ports -------------------------------------------------------------------------

const handedOut = new Set<number>();

/** Ports below this are never handed out by the kernel to outgoing connections (0: unknown). */
const EPHEMERAL_LOW = (() => {
  try {
    const range = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range");
    const low = Number(range.trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 12_000) return low;
  } catch { /* not Linux: fall back to port 0 */ }
  return 0;
})();

/** Whether `port` on 127.0.0.1 can be bound right now. */
export function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * A port on 127.0.0.1 that is free right now and not yet handed out by this
 * process: random below the kernel's ephemeral range when there is one (so
 * no outgoing connection takes it before the child binds it), else what the
 * kernel picks for port 0.
 * @throws {Error} when 200 tries find none.
 */
export function freePort(): number {
  for (let i = 0; i < 200; i++) {
    const want = EPHEMERAL_LOW > 0
      ? 10_000 + Math.floor(Math.random() * (EPHEMERAL_LOW - 10_000))
      : 0;
    let port: number;
    try {
      const l = Deno.listen({ hostname: "127.0.0.1", port: want });
      port = (l.addr as Deno.NetAddr).port;
      l.close();
    } catch {
      continue; // taken
    }
    if (handedOut.has(port) || !reservePort(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error("Cannot find a free port on 127.0.0.1 after 200 tries");
}

/**
 * Where processes record the ports they handed out, one file per port
 * holding the owner's PID: test files run in parallel processes, and a port
 * that a test's stopped node will bind again on restart must not look free
 * to another test meanwhile.
 */
const RESERVED_DIR = `${Deno.env.get("TMPDIR") ?? "/tmp"}/cassem-test-ports`;

/**
 * Claims `port` for this process across processes; false when a live
 * process holds it. A claim of a process that is gone is taken over.
 */
function reservePort(port: number): boolean {
  const file = `${RESERVED_DIR}/${port}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      Deno.mkdirSync(RESERVED_DIR, { recursive: true });
      const f = Deno.openSync(file, { write: true, createNew: true });
      f.writeSync(new TextEncoder().encode(String(Deno.pid)));
      f.close();
      reserved.push(file);
      return true;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) return true; // no shared dir: best effort
      let owner = NaN;
      try {
        owner = Number(Deno.readTextFileSync(file));
      } catch { /* removed meanwhile */ }
      if (owner === Deno.pid) return false;
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) return false;
      try {
        Deno.removeSync(file); // its owner is gone
      } catch { /* another process took it over first */ }
    }
  }
  return false;
}

/** Port files this process created, removed when it exits. */
const reserved: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const f of reserved) {
    try {
      Deno.removeSync(f);
    } catch { /* already gone */ }
  }
});

/**
 * A port P such that P + o is free on 127.0.0.1 for every o of `offsets`
 * (for programs that derive several ports from one), none handed out before.
 * @throws {Error} when 50 tries find none.
 */
export function freePortBlock(offsets: readonly number[]): number {
  const top = Math.max(0, ...offsets);
  for (let i = 0; i < 50; i++) {
    const p = freePort();
    if (p + top >= 65_536) continue;
    const ports = offsets.map((o) => p + o);
    if (
      ports.every((q) => q === p || (!handedOut.has(q) && portIsFree(q))) &&
      ports.every((q) => q === p || reservePort(q))
    ) {
      for (const q of ports) handedOut.add(q);
      return p;
    }
  }
  throw new Error(`Cannot find free ports at offsets ${offsets.join(",")} on 127.0.0.1`);
}

// ---- processes -----------------------------------------------------------------------

/** Whether a process with this PID exists (signal 0 semantics, through SIGCONT). */
export function isAlive(pid: number): boolean {
  try {
    // SIGCONT is harmless to a running process and fails only when it is gone.
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Which output stream a line came from. */
export type StreamName = "stdout" | "stderr";

/** Options of {@linkcode spawnChild}. */
export interface SpawnOptions {
  /** Working directory of the child (default: this process's). */
  cwd?: string;
  /** Added to the parent's environment (with `clearEnv`: the whole environment). */
  env?: Record<string, string>;
  /** The child gets `env` only, nothing of the parent's environment (default false). */
  clearEnv?: boolean;
  /** "piped" lets {@linkcode ChildProc.writeLine} and {@linkcode ChildProc.closeStdin} work (default "null"). */
  stdin?: "null" | "piped";
  /** Called with every line, as it arrives. */
  onLine?: (stream: StreamName, line: string) => void;
  /** Lines kept per stream for {@linkcode ChildProc.lines} (default 1,000; oldest dropped). */
  keepLines?: number;
  /**
   * Keep a service's JSON log lines as they are. By default each one is
   * read in the text format (`time LEVEL component msg k=v`, `logLineAsText`
   * of shared/log.ts), so that tests match log lines whatever `--log-format`
   * the service picked (JSON, as its stderr is a pipe).
   */
  rawLogLines?: boolean;
  /**
   * Linux: run the child under `setpriv --pdeathsig SIGKILL` (when present),
   * so the kernel kills it should this process die without stopping it.
   */
  dieWithParent?: boolean;
}

/** Options of {@linkcode ChildProc.waitLine}. */
export interface WaitLineOptions {
  /** Give up after this many ms. */
  timeoutMs: number;
  /** Which stream to watch (default both). */
  stream?: StreamName;
}

/** PIDs of children spawned here and still running. */
const live = new Map<number, ChildProc>();
let unloadHooked = false;

/**
 * SIGKILLs, by PID, every child spawned through this module that still runs.
 * Also runs when the spawning process unloads.
 */
export function killLiveChildren(): void {
  for (const pid of live.keys()) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

/** The children spawned here that still run. */
export function liveChildren(): ChildProc[] {
  return [...live.values()];
}

/** How long an exited child's output may take to drain before `exited` resolves anyway. */
const PIPE_DRAIN_MS = 5_000;

const SETPRIV = "/usr/bin/setpriv";
const HAS_SETPRIV = (() => {
  try {
    return Deno.statSync(SETPRIV).isFile;
  } catch {
    return false;
  }
})();

/**
 * A running child process whose output is read line by line. Create it with
 * {@linkcode spawnChild}.
 */
export class ChildProc {
  /** A label for messages. */
  readonly name: string;
  /** Its process id. */
  readonly pid: number;
  /** The underlying Deno child process. */
  readonly child: Deno.ChildProcess;
  /** Resolves with the exit status once the process exited and its output was read. */
  readonly exited: Promise<Deno.CommandStatus>;
  #status: Deno.CommandStatus | undefined;
  readonly #lines: Record<StreamName, string[]> = { stdout: [], stderr: [] };
  readonly #keep: number;
  readonly #onLine: SpawnOptions["onLine"];
  readonly #raw: boolean;
  #waiters: { test: (s: StreamName, l: string) => boolean; done: (l: string) => void }[] = [];

  /** Spawns `cmd args` at once; see {@linkcode SpawnOptions}. */
  constructor(name: string, cmd: string, args: string[], opts: SpawnOptions = {}) {
    this.name = name;
    this.#keep = opts.keepLines ?? 1_000;
    this.#onLine = opts.onLine;
    this.#raw = opts.rawLogLines ?? false;
    if (opts.dieWithParent && HAS_SETPRIV) {
      args = ["--pdeathsig", "SIGKILL", "--", cmd, ...args];
      cmd = SETPRIV;
    }
    this.child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      clearEnv: opts.clearEnv ?? false,
      stdin: opts.stdin ?? "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.child.pid;
    live.set(this.pid, this);
    if (!unloadHooked) {
      unloadHooked = true;
      globalThis.addEventListener("unload", () => killLiveChildren());
    }
    const pumps = Promise.all(
      (["stdout", "stderr"] as const).map((s) => readLines(this.child[s], (l) => this.#line(s, l))),
    );
    this.exited = this.child.status.then(async (s) => {
      this.#status = s;
      live.delete(this.pid);
      // Its last lines first; bounded, as a grandchild may hold the pipes open.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([pumps, new Promise((r) => (timer = setTimeout(r, PIPE_DRAIN_MS)))]);
      clearTimeout(timer);
      return s;
    });
  }

  /** Whether the process has exited. */
  get hasExited(): boolean {
    return this.#status !== undefined;
  }

  /** The exit status, once the process exited. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /** The lines of `stream` kept so far (the last `keepLines`). */
  lines(stream: StreamName): readonly string[] {
    return this.#lines[stream];
  }

  /** The last `chars` characters of `stream` (default stderr), for error messages. */
  tail(chars = 800, stream: StreamName = "stderr"): string {
    return this.#lines[stream].join("\n").slice(-chars);
  }

  /**
   * Resolves with the first line (already kept or still to come) that passes
   * `test`. Fails at once when the process exits without it, else after
   * `timeoutMs`, quoting the end of its stderr.
   */
  waitLine(test: (line: string) => boolean, opts: WaitLineOptions): Promise<string> {
    const streams: StreamName[] = opts.stream ? [opts.stream] : ["stdout", "stderr"];
    for (const s of streams) {
      const seen = this.#lines[s].find(test);
      if (seen !== undefined) return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const w = {
        test: (s: StreamName, l: string) => streams.includes(s) && test(l),
        done: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const fail = (why: string) => {
        clearTimeout(timer);
        if (!this.#waiters.includes(w)) return;
        this.#waiters = this.#waiters.filter((x) => x !== w);
        reject(
          new Error(`Cannot see the expected line of ${this.name} as it ${why}: ${this.tail(600)}`),
        );
      };
      timer = setTimeout(() => fail(`printed none within ${opts.timeoutMs} ms`), opts.timeoutMs);
      this.#waiters.push(w);
      void this.exited.then((s) =>
        fail(`exited (code ${s.code}${s.signal ? `, ${s.signal}` : ""})`)
      );
    });
  }

  /** Sends `sig` to the process by its PID; false when it is already gone. */
  signal(sig: Deno.Signal): boolean {
    if (this.hasExited) return false;
    try {
      Deno.kill(this.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stops the process by its PID: `signal` (default SIGTERM), then SIGKILL if
   * it has not exited after `graceMs` (default 5,000). Resolves with its exit
   * status once it is gone and its output read.
   */
  async stop(opts: { graceMs?: number; signal?: Deno.Signal } = {}): Promise<Deno.CommandStatus> {
    if (!this.hasExited) {
      this.signal(opts.signal ?? "SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([
        this.child.status.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), opts.graceMs ?? 5_000))),
      ]);
      clearTimeout(timer);
      if (late) this.signal("SIGKILL");
    }
    const status = await this.exited;
    await this.closeStdin();
    return status;
  }

  /** Writes one line to the child's stdin (spawned with `stdin: "piped"`). */
  async writeLine(line: string): Promise<void> {
    const w = this.child.stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode(line + "\n"));
    } finally {
      w.releaseLock();
    }
  }

  /** Closes the child's stdin, if it was piped and is still open. */
  async closeStdin(): Promise<void> {
    try {
      await this.child.stdin.close();
    } catch { /* not piped, or closed */ }
  }

  #line(stream: StreamName, line: string): void {
    const l = this.#raw ? line : logLineAsText(line);
    const kept = this.#lines[stream];
    kept.push(l);
    if (kept.length > this.#keep) kept.shift();
    this.#onLine?.(stream, l);
    for (const w of [...this.#waiters]) {
      if (!w.test(stream, l)) continue;
      this.#waiters = this.#waiters.filter((x) => x !== w);
      w.done(l);
    }
  }
}

/** Spawns `cmd args` as a {@linkcode ChildProc} (stdout and stderr read line by line). */
export function spawnChild(
  name: string,
  cmd: string,
  args: string[],
  opts: SpawnOptions = {},
): ChildProc {
  return new ChildProc(name, cmd, args, opts);
}

/** Stops every given process (by PID, see {@linkcode ChildProc.stop}), skipping undefined ones. */
export async function stopAll(
  procs: Iterable<ChildProc | undefined>,
  opts: { graceMs?: number } = {},
): Promise<void> {
  await Promise.all([...procs].map((p) => p?.stop(opts)));
}

/** Options of {@linkcode runToEnd}. */
export interface RunOptions {
  /** Working directory of the child (default: this process's). */
  cwd?: string;
  /** Added to the parent's environment (with `clearEnv`: the whole environment). */
  env?: Record<string, string>;
  /** The child gets `env` only, nothing of the parent's environment (default false). */
  clearEnv?: boolean;
  /** Written to its stdin, which is then closed (default: no stdin at all). */
  stdin?: string;
  /** SIGKILL it by PID after this many ms. */
  timeoutMs: number;
}

/** What {@linkcode runToEnd} gave: the exit code and the whole output. */
export interface RunResult {
  /** The exit code (a signal's number + 128 when one ended it). */
  code: number;
  /** Everything it wrote to stdout. */
  stdout: string;
  /** Everything it wrote to stderr. */
  stderr: string;
}

/**
 * Runs `cmd args` to its exit and answers its exit code and output; a child
 * still running after `timeoutMs` is killed (SIGKILL, by PID).
 */
export async function runToEnd(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: opts.clearEnv ?? false,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch { /* gone */ }
  }, opts.timeoutMs);
  try {
    const output = child.output();
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(opts.stdin)).catch(() => {}); // it may not read it
      await w.close().catch(() => {});
    }
    const out = await output;
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}
