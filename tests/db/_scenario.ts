/**
 * {@linkcode scenario}: a test whose body runs in a process of its own. This
 * file is the workaround for denoland/deno#36788 (Deno 2.9.6's node:http2 can
 * abort the process that holds a gRPC client): once the runtime is fixed,
 * `scenario(module, name, fn)` can become `Deno.test(name, fn)` here, and
 * nothing else changes. tests/db/README.md tells the story.
 *
 * @module
 */

import { killLiveChildren } from "../support/procs.ts";
import {
  commandIn,
  createNetLab,
  destroyNetLab,
  type NetLab,
  NETLAB_ENV,
  NO_NETNS_ENV,
} from "../support/netns.ts";

/** Set in a scenario's own process: the scenario to run (see {@linkcode scenario}). */
const SCENARIO_ENV = "CASSEMDB_TEST_SCENARIO";
/** Set in a scenario's own process: the directory to make data roots in. */
const ROOT_ENV = "CASSEMDB_TEST_ROOT";
/** Set in a scenario's own process: a file that receives the PID of every node started. */
const PIDS_ENV = "CASSEMDB_TEST_PIDS";

/** Starts the stderr line of a safety violation; a run that printed it is never rerun. */
export const SAFETY_MARK = "SAFETY VIOLATION:";

/**
 * Printed by a scenario whose run failed because a process it does not own
 * directly (a node under the launcher) died of the runtime bug
 * (denoland/deno#36788): the run is void and runs again, as when the
 * scenario's own process dies of it.
 */
export const RUNTIME_CRASH_MARK = "RUNTIME CRASH (denoland/deno#36788):";

/** A line Deno 2.9.6 prints when node:http2 aborts in nghttp2 (denoland/deno#36788). */
export const NGHTTP2_ABORT = /nghttp2[^\n]*Assertion[^\n]*failed/;

/** Where a scenario's process makes its temporary dirs (undefined outside one: the system's). */
export function scenarioRoot(): string | undefined {
  return Deno.env.get(ROOT_ENV) || undefined;
}

/**
 * Records `pid` as started by the running scenario, so that the test runner
 * kills it, by PID, should the scenario's process die before it could.
 * Does nothing outside a scenario.
 */
export function recordScenarioPid(pid: number): void {
  const file = Deno.env.get(PIDS_ENV);
  if (file) Deno.writeTextFileSync(file, `${pid}\n`, { append: true });
}

/** Options of {@linkcode scenario}. */
export interface ScenarioOptions {
  /** Runs in all when the scenario's process dies of a runtime crash (default 3). */
  attempts?: number;
  /** Wall-clock limit of one run, after which its process is killed (default 150 s). */
  timeoutMs?: number;
  /**
   * Runs the scenario's process inside a private network of its own
   * (tests/support/netns.ts) with this many node hosts: built before each
   * run, deleted after it whatever happened; the process finds it with
   * `currentNetLab()`. Needs root: without it the test fails saying so,
   * unless `CASSEM_TEST_NO_NETNS=1` skips it (reported as ignored).
   */
  netLab?: { nodes: number };
}

/**
 * Declares a test whose body runs in a process of its own: the test file
 * runs itself with `deno run` and `CASSEMDB_TEST_SCENARIO=<name>`, and the
 * test passes when that process exits with 0.
 *
 * Why: the gRPC clients of a test live in that process, and Deno 2.9.6's
 * node:http2 can abort the process that holds them (denoland/deno#36788).
 * In a process of its own, such a crash can neither take the test runner
 * (and every test running in parallel) down with it nor orphan the nodes:
 * the PIDs the scenario started are killed, by PID, and its data root is
 * removed, whatever happened. A run whose process died of a signal, or that
 * printed {@linkcode RUNTIME_CRASH_MARK} (a process it ran died of the
 * runtime bug), is run again (with a warning), up to `attempts` runs; a run
 * that timed out or failed otherwise fails.
 *
 * `module` is the declaring file's `import.meta.url`.
 */
export function scenario(
  module: string,
  name: string,
  fn: () => Promise<void>,
  opts: ScenarioOptions = {},
): void {
  const wanted = Deno.env.get(SCENARIO_ENV);
  if (wanted !== undefined) {
    if (wanted === name) void runHere(fn);
    return;
  }
  const skipNetns = opts.netLab !== undefined && Deno.env.get(NO_NETNS_ENV) === "1";
  Deno.test({ name, ignore: skipNetns }, async () => {
    const attempts = opts.attempts ?? 3;
    for (let attempt = 1;; attempt++) {
      const r = await runInChild(module, name, opts.timeoutMs ?? 150_000, opts.netLab);
      if (r.out) console.log(r.out.trimEnd());
      if (r.err) console.error(r.err.trimEnd());
      if (r.status.success) return;
      const unsafe = r.err.includes(SAFETY_MARK);
      const crashed = !r.timedOut &&
        (r.status.signal !== null || r.err.includes(RUNTIME_CRASH_MARK));
      if (crashed && !unsafe && attempt < attempts) {
        console.error(
          `WARNING: ${
            r.status.signal
              ? `the process of "${name}" died of ${r.status.signal}`
              : `a process "${name}" runs died`
          } (the Deno runtime crashed, see above); running it again (attempt ${
            attempt + 1
          } of ${attempts})`,
        );
        continue;
      }
      throw new Error(
        r.timedOut
          ? `Cannot finish "${name}" within ${opts.timeoutMs ?? 150_000} ms: killed`
          : `Cannot pass "${name}": its process exited with code ${r.status.code}${
            r.status.signal ? ` (${r.status.signal})` : ""
          } (its output is above)`,
      );
    }
  });
}

async function runHere(fn: () => Promise<void>): Promise<void> {
  // Should the test runner die, do not outlive it: stop the nodes and exit.
  const parent = Deno.ppid;
  const watchdog = setInterval(() => {
    if (Deno.ppid === parent) return;
    killLiveChildren();
    Deno.exit(1);
  }, 500);
  Deno.unrefTimer(watchdog);
  let code = 0;
  try {
    await fn();
  } catch (e) {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    code = 1;
  }
  killLiveChildren();
  Deno.exit(code);
}

/** A lab for `name`, or an error that names the test and what the machine lacks. */
async function labFor(name: string, nodes: number): Promise<NetLab> {
  try {
    return await createNetLab({ nodes });
  } catch (e) {
    throw new Error(`Cannot run "${name}" as it needs a network lab: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

async function runInChild(
  module: string,
  name: string,
  timeoutMs: number,
  netLab: { nodes: number } | undefined,
): Promise<{ status: Deno.CommandStatus; out: string; err: string; timedOut: boolean }> {
  const lab = netLab ? await labFor(name, netLab.nodes) : undefined;
  const root = await Deno.makeTempDir({ prefix: "cassemdb_scenario_" });
  const pidFile = `${root}/pids`;
  await Deno.writeTextFile(pidFile, "");
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const args = ["run", "-A", "--config", config, new URL(module).pathname];
  const [cmd, cmdArgs] = lab
    ? commandIn(lab.client, Deno.execPath(), args)
    : [Deno.execPath(), args];
  const env: Record<string, string> = {
    [SCENARIO_ENV]: name,
    [ROOT_ENV]: root,
    [PIDS_ENV]: pidFile,
  };
  if (lab) env[NETLAB_ENV] = JSON.stringify(lab);
  const child = new Deno.Command(cmd, {
    args: cmdArgs,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch { /* gone */ }
  }, timeoutMs);
  try {
    const [status, out, err] = await Promise.all([
      child.status,
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    return { status, out, err, timedOut };
  } finally {
    clearTimeout(timer);
    await killLeftovers(pidFile, root);
    await Deno.remove(root, { recursive: true }).catch(() => {});
    // After the processes: a namespace lives on, unnamed, while a process runs in it.
    if (lab) await destroyNetLab(lab);
  }
}

/** SIGKILLs, by PID, every process the scenario recorded that still runs with `root` on its command line. */
async function killLeftovers(pidFile: string, root: string): Promise<void> {
  const pids = (await Deno.readTextFile(pidFile).catch(() => "")).split("\n").filter(Boolean)
    .map(Number);
  for (const pid of pids) {
    let cmdline = "";
    try {
      cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    } catch {
      continue; // gone (or not Linux: nothing to check it against)
    }
    if (!cmdline.includes(root)) continue; // the PID now belongs to someone else
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone meanwhile */ }
  }
}
