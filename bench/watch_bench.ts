/**
 * `deno task bench watch`: watch fan-out on a 3-node cassemdb cluster.
 *
 * 1,000 watchers (DbClient.watch) on one prefix, opened by 2 separate
 * processes (bench/watch_worker.ts, one DbClient and connection each): half
 * on the leader, half on a follower. Then this process writes 1,000 changes
 * of 256 B under the prefix (raw SetKV to the leader, one at a time) in two
 * rounds:
 *
 * - paced: 200 changes at 10/s (10,000 deliveries/s): latency when the
 *   fan-out keeps up;
 * - burst: 800 changes back to back: the fan-out's throughput (deliveries/s
 *   from the first write until the last watcher had the last change) and the
 *   latency when it does not keep up.
 *
 * Latency of every (watcher, change) delivery, two ways:
 *
 * - from the SetKV response: receive time in the watcher process − the time
 *   the writer (this process) got the SetKV response. Same host: both clocks
 *   are `performance.timeOrigin + performance.now()` (the system clock at
 *   process start plus a monotonic clock), comparable to well under a ms
 *   unless the system clock is stepped during the run. The response leaves
 *   the leader after commit and apply, so this is the delay after the writer
 *   could know of the commit; it can be slightly negative on the leader.
 * - from `updatedAt`: receive time − the entity's `updatedAt` (the leader's
 *   Date.now() when it accepted the SetKV, before raft): includes the
 *   commit; whole ms. Across hosts both would also carry the clock skew.
 *
 * "last watcher" is, per change, the time until the last of the 1,000 had it.
 * CPU is user+system time of each process over the round (/proc/<pid>/stat).
 * Before the watchers start, 200 paced changes with no watcher give the
 * write latency without fan-out.
 *
 * Flags: --watchers N (1000), --procs N (2), --paced N (200), --rate R (10), --burst N (800),
 * --flow-window BYTES (diagnostic: raw grpc-js streams instead of DbClient, on a
 * channel with that HTTP/2 flow-control window; default DbClient's 64 KiB).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Cluster, startCassem } from "./_clusters.ts";
import { type Proc, procCpuMs, spawnProc, stopAll } from "./_procs.ts";
import { RawClient } from "./_rpc.ts";
import { fmt, percentile, printTable } from "./_stats.ts";
import { loadAvg, machineNote } from "./db_bench.ts";

/** Bound on one round of writes. */
const WRITE_LIMIT_MS = 180_000;

interface RoundResult {
  watchers: number;
  expected: number;
  delivered: number;
  retries: number;
  firstRetry?: string;
  waitedMs: number;
  lastDelivery: number;
  fromResp: number[];
  fromUpdatedAt: number[];
  last: [number, number][];
}

/** Runs the watch fan-out benchmark and prints its tables. */
export async function runWatchBench(args: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      watchers: { type: "string", default: "1000" },
      procs: { type: "string", default: "2" },
      paced: { type: "string", default: "200" },
      rate: { type: "string", default: "10" },
      burst: { type: "string", default: "800" },
      "flow-window": { type: "string" },
    },
  });
  const watchers = Number(values.watchers);
  const procs = Number(values.procs);
  const paced = Number(values.paced);
  const rate = Number(values.rate);
  const burst = Number(values.burst);
  console.log(
    `watch bench: 3-node cassemdb, ${
      fmt(watchers)
    } watchers on one prefix from ${procs} processes` +
      (values["flow-window"]
        ? ` (raw streams, flow-control window ${values["flow-window"]} B)`
        : " (DbClient.watch)") +
      `; ` +
      `${fmt(paced)} changes of 256 B at ${rate}/s, then ${fmt(burst)} back to back`,
  );
  console.log(`machine: ${await machineNote()}\n`);

  const root = await Deno.makeTempDir({ prefix: "cassem-bench-watch-" });
  let cluster: Cluster | undefined;
  const workers: Proc[] = [];
  let writer: RawClient | undefined;
  try {
    cluster = await startCassem(3, root);
    const leader = cluster.leader;
    writer = new RawClient(leader.client, "cassem", "KV");
    const setKV = writer.method("SetKV");
    const value = new Uint8Array(256).fill(42);
    const now = () => performance.timeOrigin + performance.now();

    /** `count` changes under `prefix` at `perSec` (0: back to back): [revision, response time], latencies. */
    const write = async (prefix: string, count: number, perSec: number) => {
      const commits: [number, number][] = [];
      const lat: number[] = [];
      const start = performance.now();
      const startEpoch = now();
      for (let i = 0; i < count; i++) {
        if (performance.now() - start > WRITE_LIMIT_MS) {
          throw new Error(`Cannot write ${count} changes within ${WRITE_LIMIT_MS / 1000} s`);
        }
        if (perSec > 0) {
          const wait = start + (i * 1000) / perSec - performance.now();
          if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        }
        const s = performance.now();
        const r = (await setKV({ key: `${prefix}k${i}`, val: value, overwrite: true })) as {
          revision: number;
        };
        lat.push(performance.now() - s);
        commits.push([r.revision, now()]);
      }
      return {
        commits,
        lat: lat.sort((a, b) => a - b),
        startEpoch,
        seconds: (performance.now() - start) / 1000,
      };
    };

    await write("warm/", 100, 0);
    const base = await write("base/", paced, rate);

    const targets = [leader, ...cluster.followers];
    for (let k = 0; k < procs; k++) {
      const at = targets[k % targets.length]!;
      const count = Math.floor(watchers / procs) + (k < watchers % procs ? 1 : 0);
      workers.push(
        spawnProc(`watch worker ${k + 1}`, Deno.execPath(), [
          "run",
          "-A",
          new URL("./watch_worker.ts", import.meta.url).pathname,
          "--endpoint",
          at.client,
          "--watchers",
          String(count),
          "--prefix",
          "watch/",
          ...(values["flow-window"] ? ["--flow-window", values["flow-window"]] : []),
        ]),
      );
    }
    const tReady = performance.now();
    await Promise.all(
      workers.map((w) =>
        w.waitLine((l) => l.startsWith('{"ready"'), { timeoutMs: 90_000, stream: "stdout" })
      ),
    );
    console.log(
      `${fmt(watchers)} watches open after ${
        ((performance.now() - tReady) / 1000).toFixed(1)
      } s (process start included)`,
    );
    const nodes = cluster.members;
    const pids = [...nodes.map((m) => m.proc.pid), ...workers.map((w) => w.pid)];
    const names = [
      ...nodes.map((m) => `node ${m.index}${m === leader ? " (leader)" : ""}`),
      ...workers.map((_, k) => `watch proc ${k + 1}`),
    ];

    const summary: string[][] = [];
    const perProc: string[][] = [];
    const cpuRows: string[][] = [];
    let n = 0;
    for (const [label, count, perSec] of [["paced", paced, rate], ["burst", burst, 0]] as const) {
      if (count <= 0) continue;
      const cpu0 = pids.map(procCpuMs);
      const run = await write(`watch/r${++n}/`, count, perSec);
      const line = JSON.stringify({ commits: run.commits });
      await Promise.all(workers.map((w) => w.writeLine(line)));
      const results = await Promise.all(
        workers.map(async (w) => {
          const l = await w.waitLine((x) => x.startsWith('{"watchers"') && !seen.has(x), {
            timeoutMs: 180_000,
            stream: "stdout",
          });
          seen.add(l);
          return JSON.parse(l) as RoundResult;
        }),
      );
      const cpu1 = pids.map(procCpuMs);
      const spanS = (Math.max(...results.map((r) => r.lastDelivery)) - run.startEpoch) / 1000;
      cpuRows.push([label, ...pids.map((_, i) => fmt((cpu1[i]! - cpu0[i]!) / 10 / spanS))]);
      const stat = (rs: RoundResult[]) => {
        const resp = rs.flatMap((r) => r.fromResp).sort((a, b) => a - b);
        const upd = rs.flatMap((r) => r.fromUpdatedAt).sort((a, b) => a - b);
        return {
          delivered: rs.reduce((s, r) => s + r.delivered, 0),
          expected: rs.reduce((s, r) => s + r.expected, 0),
          retries: rs.reduce((s, r) => s + r.retries, 0),
          p50: percentile(resp, 50),
          p99: percentile(resp, 99),
          max: resp[resp.length - 1] ?? NaN,
          u50: percentile(upd, 50),
          u99: percentile(upd, 99),
        };
      };
      const all = stat(results);
      const last = new Map<number, number>();
      for (const r of results) {
        for (const [rev, t] of r.last) last.set(rev, Math.max(last.get(rev) ?? -Infinity, t));
      }
      const commitAt = new Map(run.commits);
      const lastLat = [...last].map(([rev, t]) => t - commitAt.get(rev)!).sort((a, b) => a - b);
      summary.push([
        label,
        `${fmt(count / run.seconds, 1)}/s`,
        `${fmt(all.delivered)}/${fmt(all.expected)}`,
        fmt(all.delivered / spanS),
        fmt(all.p50, 1),
        fmt(all.p99, 1),
        fmt(all.u50, 0),
        fmt(all.u99, 0),
        fmt(percentile(lastLat, 50), 1),
        fmt(percentile(lastLat, 99), 1),
        `${fmt(percentile(run.lat, 50), 1)} / ${fmt(percentile(run.lat, 99), 1)}`,
        fmt(all.retries),
      ]);
      results.forEach((r, k) => {
        const at = targets[k % targets.length]!;
        const s = stat([r]);
        perProc.push([
          label,
          `proc ${k + 1}: ${fmt(r.watchers)} on ${
            at === leader ? "leader" : "follower"
          } node ${at.index}`,
          `${fmt(s.delivered)}/${fmt(s.expected)}`,
          fmt(s.p50, 1),
          fmt(s.p99, 1),
          fmt(s.max, 1),
        ]);
        if (r.firstRetry) {
          console.log(`(${label}, proc ${k + 1}: ${r.retries} retries, first: ${r.firstRetry})`);
        }
      });
    }
    console.log(
      `\nwrite latency with no watcher (${fmt(paced)} changes at ${rate}/s): p50 ${
        fmt(percentile(base.lat, 50), 1)
      } / ` +
        `p99 ${fmt(percentile(base.lat, 99), 1)} ms\n`,
    );
    printTable(
      [
        "round",
        "writes",
        "delivered",
        "deliv/s",
        "p50 ms",
        "p99 ms",
        "p50 updAt",
        "p99 updAt",
        "last p50",
        "last p99",
        "write p50/p99 ms",
        "retries",
      ],
      summary,
    );
    console.log();
    printTable(["round", "watch process", "delivered", "p50 ms", "p99 ms", "max ms"], perProc);
    console.log();
    printTable(["CPU % (of one core)", ...names], cpuRows);
    console.log(
      `\nlatency columns: from the SetKV response (p50/p99 ms), from the entity's updatedAt (updAt), ` +
        `and until the last watcher had the change (last); load average now ${await loadAvg()}`,
    );
  } finally {
    writer?.close();
    await Promise.all(workers.map((w) => w.writeLine("").catch(() => {})));
    await stopAll(workers);
    await cluster?.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/** Result lines already consumed (waitLine also matches lines seen before). */
const seen = new Set<string>();
