/**
 * Runs bench/load_gen.ts as a child process and reads its result line, with
 * the CPU the servers and the rest of the machine used meanwhile.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { foreignCpuMs, foreignDeltaMs, procCpuMs, spawnProc } from "./_procs.ts";

/** What one load generator run printed. */
export interface LoadResult {
  protocol: string;
  op: string;
  target: string;
  concurrency: number;
  ops: number;
  seconds: number;
  opsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  firstError?: string;
  /** CPU time of the load generator during the counted phase, ms. */
  clientCpuMs: number;
  /** CPU time of the `cpuPids` processes during the counted phase, ms (NaN without them). */
  serverCpuMs: number;
  /**
   * CPU used during the counted phase by user processes that this benchmark
   * did not start, in % of one core: how much the row was disturbed by other
   * work on this shared machine.
   */
  othersCpuPct: number;
}

/** Options of one load generator run (see bench/load_gen.ts). */
export interface LoadSpec {
  target: string;
  protocol: "cassem" | "etcd" | "echo";
  op: "set" | "get-lin" | "get-ser" | "fill" | "echo";
  concurrency: number;
  durationS: number;
  valueSize?: number;
  keys?: number;
  maxOps?: number;
  warmupS?: number;
  prefix?: string;
  /** Extra deno flags for the load generator process (e.g. --cpu-prof). */
  denoFlags?: string[];
  /** Server processes whose CPU time is sampled over the counted phase. */
  cpuPids?: number[];
}

/** Runs bench/load_gen.ts as its own process and returns the JSON line it printed. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const main = fileURLToPath(new URL("./load_gen.ts", import.meta.url));
  const args = [
    "run",
    "-A",
    ...(spec.denoFlags ?? []),
    main,
    "--target",
    spec.target,
    "--protocol",
    spec.protocol,
    "--op",
    spec.op,
    "--concurrency",
    String(spec.concurrency),
    "--duration",
    String(spec.durationS),
    "--value-size",
    String(spec.valueSize ?? 256),
    "--keys",
    String(spec.keys ?? 1_000),
    "--max-ops",
    String(spec.maxOps ?? 1_000_000),
    "--warmup",
    String(spec.warmupS ?? 0.5),
    ...(spec.prefix ? ["--prefix", spec.prefix] : []),
  ];
  const p = spawnProc(
    `load_gen ${spec.protocol} ${spec.op} c=${spec.concurrency}`,
    Deno.execPath(),
    args,
  );
  const pids = spec.cpuPids ?? [];
  const cpu = () => pids.reduce((s, pid) => s + procCpuMs(pid), 0);
  try {
    // Bounded: warm-up + duration + the last calls' deadline (10 s) + start-up.
    const limitMs = (spec.durationS + (spec.warmupS ?? 0.5) + 30) * 1000;
    let cpu0 = NaN;
    let foreign0 = new Map<number, number>();
    if (spec.op !== "fill") {
      await p.waitLine((l) => l.startsWith('{"phase"'), { timeoutMs: limitMs, stream: "stdout" });
      cpu0 = cpu();
      foreign0 = foreignCpuMs();
    }
    const line = await p.waitLine((l) => l.startsWith('{"protocol"'), {
      timeoutMs: limitMs,
      stream: "stdout",
    });
    const serverCpuMs = pids.length > 0 ? cpu() - cpu0 : NaN;
    const r = JSON.parse(line) as Omit<LoadResult, "serverCpuMs" | "othersCpuPct">;
    const othersCpuPct = foreignDeltaMs(foreign0, foreignCpuMs()) / 10 / r.seconds;
    return { ...r, serverCpuMs, othersCpuPct };
  } finally {
    await p.stop();
  }
}
