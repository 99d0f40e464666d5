/**
 * For the SDK's process tests: real cassemagent processes
 * (`deno run -A agent/main.ts`) on fixed loopback ports, so that an agent
 * killed with SIGKILL can be started again at the same URL (clients keep
 * their agent list). Each is stopped by its PID; under `setpriv
 * --pdeathsig` it also dies with the test process.
 *
 * (tests/agent/_agents.ts on the agent branch has a similar harness with
 * ports picked by the agent; once both are merged they can become one.)
 *
 * @module
 */

import { freePort } from "../support/procs.ts";

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

/** PIDs of agents running now, killed at exit should a test leave any behind. */
const live = new Set<number>();
globalThis.addEventListener("unload", () => {
  for (const pid of live) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
});

/** One cassemagent, startable again on the same port. */
export class AgentProc {
  /** Label in logs. */
  readonly name: string;
  /** Its HTTP port (fixed for every start). */
  readonly port: number;
  /** Its flags besides --listen. */
  readonly args: string[];
  /** Output lines of every start (bounded), for failure messages. */
  readonly lines: string[] = [];
  #child: Deno.ChildProcess | undefined;
  #exited: Promise<Deno.CommandStatus> | undefined;

  /** An agent of cassemdb `db` (not started). */
  constructor(name: string, db: string, extra: string[] = []) {
    this.name = name;
    this.port = freePort();
    this.args = ["--db", db, "--grpc-listen", "off", "--log-level", "warn", ...extra];
  }

  /** Its base URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Whether it is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts it; resolves once it printed its ready line and /readyz answers 200 (loaded). */
  async start(): Promise<void> {
    if (this.#child) throw new Error(`Cannot start ${this.name} as it is running`);
    const args = [
      ...(HAS_SETPRIV ? ["--pdeathsig", "SIGKILL", "--", Deno.execPath()] : []),
      "run",
      "-A",
      "--config",
      CONFIG,
      MAIN,
      "--listen",
      `127.0.0.1:${this.port}`,
      ...this.args,
    ];
    const child = new Deno.Command(HAS_SETPRIV ? SETPRIV : Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    live.add(child.pid);
    const ready = Promise.withResolvers<void>();
    this.#exited = child.status.then((s) => {
      live.delete(child.pid);
      if (this.#child === child) this.#child = undefined;
      this.#note(`exited: code ${s.code}${s.signal ? ` signal ${s.signal}` : ""}`);
      ready.reject(new Error(`Cannot start ${this.name}: it exited\n${this.tail()}`));
      return s;
    });
    void this.#pump(child.stderr);
    void this.#pump(child.stdout, (l) => {
      if (l.startsWith("cassemagent ready ")) ready.resolve();
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      ready.promise,
      new Promise((_, reject) =>
        timer = setTimeout(
          () => reject(new Error(`Cannot start ${this.name} within 60 s\n${this.tail()}`)),
          60_000,
        )
      ),
    ]).finally(() => clearTimeout(timer));
    const end = Date.now() + 60_000;
    for (;;) {
      try {
        const r = await fetch(`${this.url}/readyz`);
        await r.body?.cancel();
        if (r.status === 200) return;
      } catch { /* not yet */ }
      if (Date.now() > end) throw new Error(`Cannot see ${this.name} loaded within 60 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILLs it by PID (kill -9) and waits for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#note("sending SIGKILL");
    this.resume(); // a frozen process dies of SIGKILL too, but its pipes close sooner when thawed
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch { /* gone */ }
    await this.#exited;
  }

  /** Freezes it (SIGSTOP by PID): connections to it hang until {@linkcode resume}. */
  pause(): void {
    if (this.#child) Deno.kill(this.#child.pid, "SIGSTOP");
  }

  /** Thaws it (SIGCONT by PID). */
  resume(): void {
    if (this.#child) Deno.kill(this.#child.pid, "SIGCONT");
  }

  /** Its last output lines. */
  tail(n = 40): string {
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
