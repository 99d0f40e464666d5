/**
 * Small helpers shared by the benchmarks: percentiles, timing and RSS.
 *
 * @module
 */

/** The p-th percentile (0..100) of `sorted` (ascending), nearest rank. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** Resident set size of this process in MiB. */
export function rssMiB(): number {
  return Deno.memoryUsage().rss / (1024 * 1024);
}

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Runs `worker` on `concurrency` loops until `maxOps` calls or `maxMs` elapse; returns latencies (ms) and the wall time. */
export async function closedLoop(
  concurrency: number,
  maxOps: number,
  maxMs: number,
  worker: () => Promise<unknown>,
): Promise<{ latencies: number[]; elapsedMs: number }> {
  const latencies: number[] = [];
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + maxMs;
  async function loop(): Promise<void> {
    while (started < maxOps && performance.now() < deadline) {
      started++;
      const s = performance.now();
      await worker();
      latencies.push(performance.now() - s);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { latencies: latencies.sort((a, b) => a - b), elapsedMs: performance.now() - t0 };
}

/** Prints a table with aligned columns. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}
