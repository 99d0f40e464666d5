/**
 * Runs cassemadm as a real process for the multi-process tests.
 *
 * TEMPORARY: a small local helper until the shared process helper module
 * (one place for spawning processes and waiting on ports, used by tests and
 * bench) lands; then this file goes and its callers use that module.
 *
 * Each copy is `deno run -A adm/main.ts --listen 127.0.0.1:<free port>
 * --db <endpoints>` under `setpriv --pdeathsig SIGKILL` when available (it
 * dies with the test process even if that one is killed), tracked by PID
 * and stopped by PID.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { logLineAsText } from "../../shared/log.ts";
import { freePort } from "../support/procs.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const SETPRIV = "/usr/bin/setpriv";
const HAS_SETPRIV = (() => {
  try {
    return Deno.statSync(SETPRIV).isFile;
  } catch {
    return false;
  }
})();

/** One running cassemadm process. */
export class AdmProc {
  /** Its base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Its process id. */
  readonly pid: number;
  /** Every stderr line so far, JSON log lines in the text format (`logLineAsText`). */
  readonly stderr: string[] = [];
  /** Every stderr line so far, as written. */
  readonly rawStderr: string[] = [];
  /** Every stdout line so far. */
  readonly stdout: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #exited: Promise<Deno.CommandStatus>;
  #done = false;

  private constructor(child: Deno.ChildProcess, url: string) {
    this.#child = child;
    this.pid = child.pid;
    this.url = url;
    this.#exited = child.status.then((s) => {
      this.#done = true;
      return s;
    });
    void this.#pump(child.stdout, (l) => this.stdout.push(l));
    void this.#pump(child.stderr, (l) => {
      this.rawStderr.push(l);
      this.stderr.push(logLineAsText(l));
    });
  }

  async #pump(stream: ReadableStream<Uint8Array>, line: (l: string) => void): Promise<void> {
    let carry = "";
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (carry + chunk).split("\n");
        carry = parts.pop() ?? "";
        parts.forEach(line);
      }
    } catch { /* gone */ }
    if (carry) line(carry);
  }

  /**
   * Starts a copy on `dbEndpoints` with `env` added to the environment and
   * `extraArgs` after its flags, and resolves once it prints that it listens.
   */
  static async start(
    dbEndpoints: string,
    env: Record<string, string> = {},
    timeoutMs = 30_000,
    extraArgs: string[] = [],
  ): Promise<AdmProc> {
    const port = freePort();
    const args = [
      "run",
      "-A",
      "adm/main.ts",
      "--listen",
      `127.0.0.1:${port}`,
      "--db",
      dbEndpoints,
      ...extraArgs,
    ];
    const cmd = HAS_SETPRIV ? SETPRIV : Deno.execPath();
    const full = HAS_SETPRIV ? ["--pdeathsig", "SIGKILL", "--", Deno.execPath(), ...args] : args;
    const childEnv = { ...Deno.env.toObject(), ...env };
    delete childEnv["CASSEM_ADMIN_PASSWORD"];
    Object.assign(childEnv, env);
    const child = new Deno.Command(cmd, {
      args: full,
      cwd: REPO,
      env: childEnv,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const p = new AdmProc(child, `http://127.0.0.1:${port}`);
    try {
      await p.waitFor("stdout", (l) => l.includes("cassemadm listening on"), timeoutMs);
    } catch (e) {
      await p.stop();
      throw e;
    }
    return p;
  }

  /** Resolves with the first line of `which` that passes `test`, polling until `timeoutMs`. */
  async waitFor(
    which: "stdout" | "stderr",
    test: (l: string) => boolean,
    timeoutMs: number,
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this[which].find(test);
      if (hit !== undefined) return hit;
      if (this.#done) {
        throw new Error(
          `Cannot find the line as adm pid ${this.pid} exited:\n${this.stderr.join("\n")}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Cannot find the line within ${timeoutMs} ms in adm pid ${this.pid}:\n${
            this.stderr.join("\n")
          }`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends a JSON request; answers the status, the parsed body and the headers. */
  async request(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown } = {},
    // deno-lint-ignore no-explicit-any
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (opts.token) headers["Authorization"] = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(this.url + path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch { /* not JSON */ }
    return { status: res.status, body, headers: res.headers };
  }

  /** SIGTERM by PID, SIGKILL after `graceMs`; resolves once it exited. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.#done) {
      try {
        Deno.kill(this.pid, "SIGTERM");
      } catch { /* gone */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([
        this.#exited.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (late && !this.#done) {
        try {
          Deno.kill(this.pid, "SIGKILL");
        } catch { /* gone */ }
      }
    }
    await this.#exited;
  }
}
