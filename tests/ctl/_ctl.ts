/**
 * Runs the real cassemctl (`deno run -A ctl/main.ts`) as a process, as a
 * user or a script would, and answers its exit code and output.
 *
 * @module
 */

import { runToEnd } from "../support/procs.ts";

const MAIN = new URL("../../ctl/main.ts", import.meta.url).pathname;

/** What one run gave. */
export interface CtlResult {
  /** The exit code. */
  code: number;
  /** stdout. */
  out: string;
  /** stderr. */
  err: string;
}

/** Options of {@linkcode runCtl}. */
export interface RunOptions {
  /** Written to its stdin (then closed). */
  stdin?: string;
  /** Added to its environment, from which every CASSEM* variable of the test runner is removed. */
  env?: Record<string, string>;
  /** Give up after this many ms (default 60,000). */
  timeoutMs?: number;
}

/** Runs `cassemctl ...args` and waits for it to exit. */
export async function runCtl(args: string[], opts: RunOptions = {}): Promise<CtlResult> {
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("CASSEM")),
  );
  const r = await runToEnd(Deno.execPath(), ["run", "-A", MAIN, ...args], {
    env: { ...env, NO_COLOR: "1", ...opts.env },
    clearEnv: true,
    stdin: opts.stdin ?? "",
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

/** Runs it and fails unless it exits 0; answers stdout. */
export async function ok(args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await runCtl(args, opts);
  if (r.code !== 0) {
    throw new Error(`cassemctl ${args.join(" ")} exited ${r.code}:\n${r.err}${r.out}`);
  }
  return r.out;
}

/** Runs it with `--json` and answers the parsed stdout. */
// deno-lint-ignore no-explicit-any
export async function json(args: string[], opts: RunOptions = {}): Promise<any> {
  return JSON.parse(await ok([...args, "--json"], opts));
}
