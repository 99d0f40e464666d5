/**
 * The benchmarks' child processes: each one spawned through the shared
 * helper (tests/support/procs.ts) from the repository root, with stdin piped,
 * killed by the kernel should the benchmark die without stopping it (Linux,
 * `setpriv --pdeathsig`), and stopped by PID (SIGTERM, then SIGKILL) when the
 * benchmark is interrupted. Also what the benchmarks read about a process:
 * its memory, its CPU time, and the CPU other people's processes took.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { type ChildProc, liveChildren, spawnChild } from "../tests/support/procs.ts";

export { freePort, sleep, stopAll } from "../tests/support/procs.ts";

/** The repository root (child Deno processes run there, next to deno.json). */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A benchmark's child process. */
export type Proc = ChildProc;

/**
 * Spawns `cmd args` from the repository root (or `opts.cwd`) as a benchmark
 * child: stdin piped, output read line by line, killed with the benchmark.
 */
export function spawnProc(
  name: string,
  cmd: string,
  args: string[],
  opts: {
    cwd?: string;
    env?: Record<string, string>;
    /** Called with every line of its output, as it comes. */
    onLine?: (stream: "stdout" | "stderr", line: string) => void;
  } = {},
): Proc {
  installSignalHandlers();
  return spawnChild(name, cmd, args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: opts.env,
    onLine: opts.onLine,
    stdin: "piped",
    dieWithParent: true,
  });
}

let handlersInstalled = false;

/** On SIGINT/SIGTERM of the benchmark, stops every child it started (by PID), then exits. */
function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const onSignal = async () => {
    const live = liveChildren();
    console.error(`\nstopping ${live.length} child process(es)...`);
    await Promise.all(live.map((p) => p.stop({ graceMs: 2_000 })));
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
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
