/**
 * Runs `deno task start` (stack/main.ts) as a real process for the tests,
 * and reads what it prints: the address lines of its summary, the admin
 * password, and the PID of every service it starts (`[cassem] NAME started,
 * pid N`), so that tests can kill a service, or check that none is left.
 *
 * @module
 */

import { splitHostPort } from "../../shared/host_port.ts";
import { type ChildProc, freePortBlock, isAlive, spawnChild, waitFor } from "../support/procs.ts";

const MAIN = new URL("../../stack/main.ts", import.meta.url).pathname;
const REPO = new URL("../..", import.meta.url).pathname;

/** Every offset from the port base that a stack of up to 3 cassemdb nodes uses. */
const OFFSETS = [21, 22, 23, 31, 32, 33, 41, 42, 43, 61, 81, 82];

/** A port base whose every port is free (and not handed to another test). */
export function freePortBase(): number {
  return freePortBlock(OFFSETS);
}

/** What the summary says. */
export interface StackUrls {
  /** cassemadm's base URL. */
  adm: string;
  /** cassemagent's HTTP base URL. */
  agentHttp: string;
  /** cassemagent's gRPC address. */
  agentGrpc: string;
  /** Each cassemdb node's client address and status URL, by node id. */
  db: { client: string; status: string }[];
}

/** A running `deno task start`. */
export class StackProc {
  /** The process. */
  readonly proc: ChildProc;
  /** Each service's PIDs, in start order, by name ("cassemadm", "cassemdb node 2"). */
  readonly pids = new Map<string, number[]>();

  /**
   * Starts `stack/main.ts args` in `cwd`; with `viaTask`, runs `deno task
   * start args` from the repository instead, as the README says, in a
   * session of its own (`setsid`), so that {@linkcode interrupt} can do
   * what Ctrl-C in a terminal does (pass an absolute `--data`).
   */
  constructor(
    cwd: string,
    args: string[],
    env: Record<string, string> = {},
    opts: { viaTask?: boolean } = {},
  ) {
    const [cmd, argv] = opts.viaTask
      ? ["setsid", [Deno.execPath(), "task", "start", ...args]]
      : [Deno.execPath(), ["run", "-A", MAIN, ...args]];
    this.proc = spawnChild("deno task start", cmd, argv, {
      cwd: opts.viaTask ? REPO : cwd,
      env,
      dieWithParent: true,
      keepLines: 5_000,
      onLine: (_s, line) => {
        const m = /^\[cassem\] (.+) (?:started|started again), pid (\d+)$/.exec(line);
        if (!m) return;
        const list = this.pids.get(m[1]!) ?? [];
        list.push(Number(m[2]));
        this.pids.set(m[1]!, list);
      },
    });
  }

  /**
   * Sends SIGINT to its whole process group, as Ctrl-C in a terminal does
   * (started `viaTask`: `deno task` and the supervisor both get it).
   */
  interrupt(): void {
    Deno.kill(-this.proc.pid, "SIGINT");
  }

  /** The latest PID of every service. */
  currentPids(): number[] {
    return [...this.pids.values()].map((l) => l[l.length - 1]!);
  }

  /** Everything it printed, both streams, for failure messages. */
  output(): string {
    return [...this.proc.lines("stdout"), "---- stderr", ...this.proc.lines("stderr")].join("\n");
  }

  /** Waits for the summary and answers the addresses it names. */
  async urls(timeoutMs = 120_000): Promise<StackUrls> {
    await this.proc.waitLine((l) => l.startsWith("cassem is running"), {
      timeoutMs,
      stream: "stdout",
    });
    // The rows follow the heading in the same write; give them a moment.
    const rows = await waitFor("the summary's rows", () => {
      const out = this.proc.lines("stdout");
      const at = out.findIndex((l) => l.startsWith("cassem is running"));
      const rows = out.slice(at + 1).filter((l) => l.startsWith("  cassem"));
      return rows.some((l) => l.startsWith("  cassemdb")) ? rows : undefined;
    }, { timeoutMs: 5_000 });
    const find = (re: RegExp) => {
      for (const r of rows) {
        const m = re.exec(r);
        if (m) return m;
      }
      throw new Error(`Cannot find ${re} in the summary:\n${rows.join("\n")}`);
    };
    const adm = find(/^ {2}cassemadm +(http:\/\/\S+) +dashboard/)[1]!;
    const agent = find(/^ {2}cassemagent +(http:\/\/\S+) +HTTP reads and push; gRPC (\S+)$/);
    const db = rows.flatMap((r) => {
      const m = /^ {2}cassemdb(?: \d+)? +(\S+) +gRPC clients; status (http:\/\/\S+\/status)$/
        .exec(r);
      return m ? [{ client: m[1]!, status: m[2]! }] : [];
    });
    return { adm, agentHttp: agent[1]!, agentGrpc: agent[2]!, db };
  }

  /** The admin password of the first start, once printed. */
  async password(timeoutMs = 30_000): Promise<string> {
    const line = await this.proc.waitLine((l) => /^ {2}password {2}\S+$/.test(l), {
      timeoutMs,
      stream: "stdout",
    });
    return line.trim().split(/\s+/)[1]!;
  }

  /**
   * Stops it with `signal` and resolves with its exit status; fails when it
   * takes longer than `timeoutMs`.
   */
  async stop(signal: Deno.Signal = "SIGTERM", timeoutMs = 40_000): Promise<Deno.CommandStatus> {
    this.proc.signal(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      this.proc.exited,
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!status) {
      throw new Error(
        `Cannot see deno task start exit within ${timeoutMs} ms of ${signal}:\n${this.output()}`,
      );
    }
    return status;
  }

  /** SIGKILLs it and every service it started that still runs (test cleanup). */
  async kill(): Promise<void> {
    this.proc.signal("SIGKILL");
    await this.proc.exited;
    for (const pid of this.currentPids()) {
      if (isAlive(pid)) Deno.kill(pid, "SIGKILL");
    }
  }
}

/** Resolves once `url` answers 200 (polling), with its JSON body. */
export function waitOk(url: string, timeoutMs = 60_000): Promise<unknown> {
  return waitFor(`${url} to answer 200`, async () => {
    const r = await fetch(url);
    if (!r.ok) {
      await r.body?.cancel();
      return undefined;
    }
    return await r.json();
  }, { timeoutMs, everyMs: 200 });
}

/** Whether something accepts TCP connections at `address` (host:port). */
export async function listens(address: string): Promise<boolean> {
  const parts = splitHostPort(address);
  if (!parts) throw new RangeError(`Cannot connect as ${address} is not host:port`);
  try {
    const c = await Deno.connect(parts);
    c.close();
    return true;
  } catch {
    return false;
  }
}

/** Logs in to cassemadm at `adm` and answers the bearer token. */
export async function login(adm: string, password: string): Promise<string> {
  const r = await fetch(`${adm}/api/account/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ account: "admin", password }),
  });
  const body = await r.json();
  if (!r.ok) throw new Error(`Cannot log in to ${adm}: ${r.status} ${JSON.stringify(body)}`);
  return body.token;
}
