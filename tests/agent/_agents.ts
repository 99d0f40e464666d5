/**
 * A harness for tests that run real cassemagent processes on loopback next
 * to real cassemdb nodes (`tests/db/_cluster.ts`): each agent is a child
 * `deno run -A agent/main.ts` (with the flags the agent runs with) spawned through the shared process helper
 * (`tests/support/procs.ts`), on ports it picks itself (`--listen
 * 127.0.0.1:0`, addresses from its `cassemagent ready` line) or on a fixed
 * one ({@linkcode fixedPortAgent}: started again at the same URL). Agents
 * are stopped by PID (SIGKILL or SIGTERM); under `setpriv --pdeathsig` they
 * also die with the test process, whatever happens.
 *
 * @module
 */

import { DbClient } from "../../shared/db/mod.ts";
import { AGENT_DENO_FLAGS } from "../../shared/runtime_flags.ts";
import { ServePublisher } from "../../agent/_publisher.ts";
import { type ChildProc, freePort, sleep, spawnChild, waitFor } from "../support/procs.ts";
import { type TestCluster } from "../db/_cluster.ts";

export { sleep, waitFor };

const MAIN = new URL("../../agent/main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** How long an agent may take to print its ready line, and then to load. */
const START_TIMEOUT_MS = 60_000;

/** One cassemagent child process, which can be started again after it stopped. */
export class AgentProc {
  /** Label in its output lines and messages. */
  readonly name: string;
  /** Its flags. */
  readonly args: string[];
  /** `host:port` of its HTTP and gRPC servers and its id (set once ready). */
  http = "";
  grpc = "";
  id = "";
  /** Output lines of every start, `[name] line` (bounded), for failure messages. */
  readonly lines: string[] = [];
  #proc: ChildProc | undefined;

  /** An agent with these flags (not started). */
  constructor(name: string, args: string[]) {
    this.name = name;
    this.args = args;
  }

  /** The base URL of its HTTP API. */
  get url(): string {
    return `http://${this.http}`;
  }

  /** Its process id (of the last start; 0 before the first). */
  get pid(): number {
    return this.#proc?.pid ?? 0;
  }

  /** Whether it is running. */
  get running(): boolean {
    return this.#proc !== undefined && !this.#proc.hasExited;
  }

  /** Starts it and waits for its ready line (and, by default, for /readyz to answer 200: loaded). */
  async start(opts: { waitLoaded?: boolean; env?: Record<string, string> } = {}): Promise<this> {
    if (this.running) throw new Error(`Cannot start ${this.name} as it is running`);
    const proc = spawnChild(
      this.name,
      Deno.execPath(),
      ["run", "-A", ...AGENT_DENO_FLAGS, "--config", CONFIG, MAIN, ...this.args],
      { env: opts.env, dieWithParent: true, onLine: (_, l) => this.#note(l) },
    );
    this.#proc = proc;
    void proc.exited.then((s) =>
      this.#note(`exited: code ${s.code}${s.signal ? ` signal ${s.signal}` : ""}`)
    );
    const ready = await proc.waitLine((l) => l.startsWith("cassemagent ready "), {
      stream: "stdout",
      timeoutMs: START_TIMEOUT_MS,
    });
    const m = /^cassemagent ready id=(\S+) http=(\S+) grpc=(\S+)$/.exec(ready);
    if (!m) throw new Error(`Cannot read the addresses of ${this.name} as it printed: ${ready}`);
    [this.id, this.http, this.grpc] = [m[1]!, m[2]!, m[3]!];
    if (opts.waitLoaded ?? true) {
      await waitFor(`${this.name} loaded`, async () => {
        const r = await fetch(`${this.url}/readyz`);
        await r.body?.cancel();
        return r.status === 200 ? true : undefined;
      }, { timeoutMs: START_TIMEOUT_MS });
    }
    return this;
  }

  /** Sends `sig` by PID and waits for the exit (undefined: it was never started). */
  async signal(sig: "SIGKILL" | "SIGTERM"): Promise<Deno.CommandStatus | undefined> {
    if (!this.#proc) return undefined;
    if (this.running) this.#note(`sending ${sig}`);
    this.#proc.signal(sig);
    return await this.#proc.exited;
  }

  /** SIGKILLs it by PID (kill -9), thawing it first should it be paused, and waits for the exit. */
  async kill(): Promise<void> {
    this.resume(); // a frozen process dies of SIGKILL too, but its pipes close sooner when thawed
    await this.signal("SIGKILL");
  }

  /** Freezes it (SIGSTOP by PID): connections to it hang until {@linkcode resume}. */
  pause(): void {
    this.#proc?.signal("SIGSTOP");
  }

  /** Thaws it (SIGCONT by PID). */
  resume(): void {
    this.#proc?.signal("SIGCONT");
  }

  /** Its last output lines. */
  tail(n = 40): string {
    return this.lines.slice(-n).join("\n");
  }

  #note(l: string): void {
    this.lines.push(`[${this.name}] ${l}`);
    if (this.lines.length > 2_000) this.lines.shift();
  }
}

/**
 * An agent of cassemdb `db` on a fixed free port, so that one killed can be
 * started again at the same URL (clients keep their agent list); no gRPC,
 * warnings and errors logged only; `extra` flags after those (not started).
 */
export function fixedPortAgent(name: string, db: string, extra: string[] = []): AgentProc {
  return new AgentProc(name, [
    "--listen",
    `127.0.0.1:${freePort()}`,
    "--db",
    db,
    "--grpc-listen",
    "off",
    "--log-level",
    "warn",
    ...extra,
  ]);
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
