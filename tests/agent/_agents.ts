/**
 * A harness for tests that run real cassemagent processes on loopback next
 * to real cassemdb nodes (`tests/db/_cluster.ts`): each agent is a child
 * `deno run -A agent/main.ts` on ports it picks itself (`--listen
 * 127.0.0.1:0`), whose addresses come from its `cassemagent ready` line.
 * Agents are stopped by PID (SIGKILL or SIGTERM); under `setpriv
 * --pdeathsig` they also die with the test process, whatever happens.
 *
 * @module
 */

import { DbClient } from "../../shared/db/mod.ts";
import { ServePublisher } from "../../agent/_publisher.ts";
import { sleep, waitFor } from "../support/procs.ts";
import { type TestCluster } from "../db/_cluster.ts";

export { sleep, waitFor };

const MAIN = new URL("../../agent/main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const SETPRIV = "/usr/bin/setpriv";
const HAS_SETPRIV = (() => {
  try {
    return Deno.statSync(SETPRIV).isFile;
  } catch {
    return false;
  }
})();

/** PIDs of the agents running now (killed at exit should a test leave any). */
const live = new Set<number>();
globalThis.addEventListener("unload", () => {
  for (const pid of live) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
});

/** One cassemagent child process. */
export class AgentProc {
  readonly name: string;
  readonly args: string[];
  /** `host:port` of its HTTP and gRPC servers (set once ready). */
  http = "";
  grpc = "";
  id = "";
  pid = 0;
  /** Its output lines (bounded), for failure messages. */
  readonly lines: string[] = [];
  #child: Deno.ChildProcess | undefined;
  #exited: Promise<Deno.CommandStatus> | undefined;
  #running = false;

  constructor(name: string, args: string[]) {
    this.name = name;
    this.args = args;
  }

  /** The base URL of its HTTP API. */
  get url(): string {
    return `http://${this.http}`;
  }

  get running(): boolean {
    return this.#running;
  }

  /** Starts it and waits for its ready line (and, by default, for its data to load). */
  async start(opts: { waitLoaded?: boolean; env?: Record<string, string> } = {}): Promise<this> {
    const cmd = HAS_SETPRIV ? SETPRIV : Deno.execPath();
    const args = [
      ...(HAS_SETPRIV ? ["--pdeathsig", "SIGKILL", "--", Deno.execPath()] : []),
      "run",
      "-A",
      "--config",
      CONFIG,
      MAIN,
      ...this.args,
    ];
    const child = new Deno.Command(cmd, {
      args,
      env: opts.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.pid = child.pid;
    this.#running = true;
    live.add(child.pid);
    const ready = Promise.withResolvers<void>();
    this.#exited = child.status.then((s) => {
      this.#running = false;
      live.delete(child.pid);
      this.#note(`exited: code ${s.code}${s.signal ? ` signal ${s.signal}` : ""}`);
      ready.reject(new Error(`Cannot start ${this.name}: it exited (${this.tail()})`));
      return s;
    });
    void this.#pump(child.stderr);
    void this.#pump(child.stdout, (l) => {
      const m = /^cassemagent ready id=(\S+) http=(\S+) grpc=(\S+)$/.exec(l);
      if (m) {
        [this.id, this.http, this.grpc] = [m[1]!, m[2]!, m[3]!];
        ready.resolve();
      }
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      ready.promise,
      new Promise((_, reject) =>
        timer = setTimeout(
          () => reject(new Error(`Cannot start ${this.name} within 30 s: ${this.tail()}`)),
          30_000,
        )
      ),
    ]).finally(() => clearTimeout(timer));
    if (opts.waitLoaded ?? true) {
      await waitFor(`${this.name} loaded`, async () => {
        const r = await fetch(`${this.url}/readyz`);
        await r.body?.cancel();
        return r.status === 200 ? true : undefined;
      }, { timeoutMs: 30_000 });
    }
    return this;
  }

  /** Sends `sig` by PID and waits for the exit. */
  async signal(sig: "SIGKILL" | "SIGTERM"): Promise<Deno.CommandStatus | undefined> {
    if (!this.#running || !this.#child) return await this.#exited;
    this.#note(`sending ${sig}`);
    try {
      Deno.kill(this.#child.pid, sig);
    } catch { /* gone */ }
    return await this.#exited;
  }

  /** Its last output lines. */
  tail(n = 30): string {
    return this.lines.slice(-n).join("\n");
  }

  #note(l: string): void {
    this.lines.push(`[${this.name}] ${l}`);
    if (this.lines.length > 2_000) this.lines.shift();
  }

  async #pump(src: ReadableStream<Uint8Array>, onLine?: (l: string) => void): Promise<void> {
    let carry = "";
    try {
      for await (const chunk of src.pipeThrough(new TextDecoderStream())) {
        const parts = (carry + chunk).split("\n");
        carry = parts.pop() ?? "";
        for (const l of parts) {
          this.#note(l);
          onLine?.(l);
        }
      }
    } catch { /* gone */ }
  }
}

/** A cassemdb cluster, agents on it, a publisher, and clean-up of everything. */
export class AgentWorld {
  readonly cluster: TestCluster;
  readonly agents: AgentProc[] = [];
  readonly db: DbClient;
  readonly pub: ServePublisher;

  constructor(cluster: TestCluster) {
    this.cluster = cluster;
    this.db = cluster.client({ timeoutMs: 10_000 });
    this.pub = new ServePublisher(this.db);
  }

  /** The cassemdb endpoints (every node, running or not). */
  get endpoints(): string {
    return this.cluster.nodes.map((n) => n.clientAddr).join(",");
  }

  /** Starts an agent on the cluster with `extra` flags. */
  async agent(
    extra: string[] = [],
    opts: { env?: Record<string, string> } = {},
  ): Promise<AgentProc> {
    const a = new AgentProc(`agent${this.agents.length + 1}`, [
      "--db",
      this.endpoints,
      "--listen",
      "127.0.0.1:0",
      "--grpc-listen",
      "127.0.0.1:0",
      "--heartbeat-ms",
      "1000",
      ...extra,
    ]);
    this.agents.push(a);
    await a.start({ env: opts.env });
    return a;
  }

  /** Every agent's output, for a failure. */
  logs(): string {
    return this.agents.map((a) => a.tail(60)).join("\n");
  }

  /** Stops every agent (SIGKILL, by PID). */
  async stop(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.signal("SIGKILL")));
  }
}

/**
 * Runs `fn` with a world of `nodes` cassemdb nodes (agents started by `fn`);
 * prints the agents' output when it fails; always stops everything.
 */
export async function withAgents(
  name: string,
  fn: (w: AgentWorld) => Promise<void>,
  opts: { nodes?: number } = {},
): Promise<void> {
  const { withCluster } = await import("../db/_cluster.ts");
  await withCluster({ name }, async (c) => {
    await c.startFounders(opts.nodes ?? 1);
    const w = new AgentWorld(c);
    try {
      await fn(w);
    } catch (e) {
      console.error(w.logs());
      throw e;
    } finally {
      await w.stop();
    }
  });
}
