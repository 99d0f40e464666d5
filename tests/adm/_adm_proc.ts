/**
 * Runs cassemadm as a real process for the multi-process tests, on the
 * shared process helper (`tests/support/procs.ts`): each copy is `deno run
 * -A adm/main.ts --listen 127.0.0.1:<free port> --db <endpoints>`, killed by
 * the kernel should the test process die (`setpriv --pdeathsig`), and
 * stopped by its PID.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { logLineAsText } from "../../shared/log.ts";
import { type ChildProc, freePort, spawnChild } from "../support/procs.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** Lines kept per stream: every line a test may look for. */
const KEEP_LINES = 100_000;

/** One running cassemadm process. */
export class AdmProc {
  /** Its base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly #proc: ChildProc;

  private constructor(proc: ChildProc, url: string) {
    this.#proc = proc;
    this.url = url;
  }

  /** Its process id. */
  get pid(): number {
    return this.#proc.pid;
  }

  /** Every stderr line so far, JSON log lines in the text format (`logLineAsText`). */
  get stderr(): string[] {
    return this.rawStderr.map(logLineAsText);
  }

  /** Every stderr line so far, as written. */
  get rawStderr(): readonly string[] {
    return this.#proc.lines("stderr");
  }

  /** Every stdout line so far. */
  get stdout(): readonly string[] {
    return this.#proc.lines("stdout");
  }

  /**
   * Starts a copy on `dbEndpoints` with `env` added to the environment
   * (CASSEM_ADMIN_PASSWORD only when `env` sets it) and `extraArgs` after
   * its flags, and resolves once it prints that it listens.
   */
  static async start(
    dbEndpoints: string,
    env: Record<string, string> = {},
    timeoutMs = 30_000,
    extraArgs: string[] = [],
  ): Promise<AdmProc> {
    const port = freePort();
    const childEnv = Deno.env.toObject();
    delete childEnv["CASSEM_ADMIN_PASSWORD"];
    const proc = spawnChild(
      "adm",
      Deno.execPath(),
      [
        "run",
        "-A",
        "adm/main.ts",
        "--listen",
        `127.0.0.1:${port}`,
        "--db",
        dbEndpoints,
        ...extraArgs,
      ],
      {
        cwd: REPO,
        env: { ...childEnv, ...env },
        clearEnv: true,
        rawLogLines: true,
        keepLines: KEEP_LINES,
        dieWithParent: true,
      },
    );
    const p = new AdmProc(proc, `http://127.0.0.1:${port}`);
    try {
      await p.waitFor("stdout", (l) => l.includes("cassemadm listening on"), timeoutMs);
    } catch (e) {
      await p.stop();
      throw e;
    }
    return p;
  }

  /**
   * Resolves with the first line of `which` (stderr lines in the text
   * format) that passes `test`, waiting at most `timeoutMs`; fails at once
   * when the process exits without it.
   */
  async waitFor(
    which: "stdout" | "stderr",
    test: (l: string) => boolean,
    timeoutMs: number,
  ): Promise<string> {
    const asRead = which === "stderr" ? logLineAsText : (l: string) => l;
    return asRead(
      await this.#proc.waitLine((l) => test(asRead(l)), { stream: which, timeoutMs }),
    );
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
    await this.#proc.stop({ graceMs });
  }
}
