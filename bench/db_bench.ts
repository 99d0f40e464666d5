/**
 * `deno task bench db [--quick]`: cassemdb beside etcd, 1-node and 3-node
 * clusters on loopback, same load generator (bench/load_gen.ts, a separate
 * process making raw grpc-js unary calls), same run, rows interleaved.
 *
 * Both clusters of a size run at once, the one not measured frozen (SIGSTOP,
 * then SIGCONT and a leader check) so that its idle CPU does not disturb.
 * For each cluster size: SetKV/Put, linearizable GetKV/Range and
 * serializable GetKV/Range at concurrency 1, 16, 64 and 256 (256 B values,
 * 1,000 keys), all against the leader; on 3 nodes one more row of
 * linearizable reads against a follower. A bare grpc-js echo server at
 * concurrency 64 is measured at the start and at the end of the run: the
 * ceiling of the gRPC stack, and a hint of how much the machine drifted.
 *
 * The idle CPU of each cluster (alone, 3 s) is printed too, and for every row
 * the CPU the servers used per op and the CPU other users' processes took.
 *
 * Flags: --quick (concurrency 1 and 64, 2 s per row), --duration S,
 * --levels 1,16,64,256, --nodes 1,3, --ops set,get-lin,get-ser, --no-etcd,
 * --cpu-prof DIR (V8 CPU profiles of the cassemdb nodes of the largest size,
 * written when they stop; read them with bench/cpuprof_top.ts).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { closeProbeClients, type Cluster, findEtcd, startCassem, startEtcd } from "./_clusters.ts";
import { type LoadResult, type LoadSpec, runLoad } from "./_load.ts";
import { type Proc, procCpuMs, sleep, spawnProc } from "./_procs.ts";
import { fmt, printTable } from "./_stats.ts";

const OPS = [
  { op: "set", label: "set" },
  { op: "get-lin", label: "get lin" },
  { op: "get-ser", label: "get ser" },
] as const;

/** Load average and the other busy processes: the machine is shared, say when it is not quiet. */
export async function machineNote(): Promise<string> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
  return `${navigator.hardwareConcurrency} cores (${cpu.trim()}), Deno ${Deno.version.deno}, ` +
    `load average ${await loadAvg()}`;
}

export async function loadAvg(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
}

/** Runs the db benchmark and prints its table. */
export async function runDbBench(args: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      quick: { type: "boolean", default: false },
      duration: { type: "string" },
      levels: { type: "string" },
      nodes: { type: "string", default: "1,3" },
      ops: { type: "string", default: "set,get-lin,get-ser" },
      "no-etcd": { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
    },
  });
  const quick = values.quick!;
  const durationS = Number(values.duration ?? (quick ? 2 : 5));
  const levels = (values.levels ?? (quick ? "1,64" : "1,16,64,256")).split(",").map(Number);
  const sizes = values.nodes!.split(",").map(Number);
  const cpuProf = values["cpu-prof"];
  const ops = OPS.filter((o) => values.ops!.split(",").includes(o.op));
  const etcd = values["no-etcd"] ? undefined : await findEtcd();

  console.log(
    `db bench: cassemdb vs etcd on loopback, ${durationS} s per row (+0.5 s warm-up), 256 B values, 1,000 keys`,
  );
  console.log(`machine: ${await machineNote()}`);
  console.log(
    etcd
      ? `etcd: ${etcd.path} ${etcd.version}`
      : values["no-etcd"]
      ? "etcd: skipped (--no-etcd)"
      : "etcd: not found (apt-get install -y etcd-server, or set ETCD_BIN): etcd columns are skipped",
  );
  console.log(
    "load generator: bench/load_gen.ts in its own process, one HTTP/2 connection, raw unary calls\n",
  );

  const root = await Deno.makeTempDir({ prefix: "cassem-bench-db-" });
  const rows: string[][] = [];
  const record = ({ row, results }: { row: string[]; results: (LoadResult | undefined)[] }) => {
    rows.push(row);
    progress(row, results);
  };
  const t0 = performance.now();
  let echo: Proc | undefined;
  const clusters: Cluster[] = [];
  try {
    echo = spawnProc("echo server", Deno.execPath(), [
      "run",
      "-A",
      new URL("./echo_server.ts", import.meta.url).pathname,
    ]);
    const echoAddr = `127.0.0.1:${
      JSON.parse(
        await echo.waitLine((l) => l.startsWith("{"), { timeoutMs: 30_000, stream: "stdout" }),
      ).port
    }`;
    const echoRow = async (when: string) => {
      const r = await runLoad({
        target: echoAddr,
        protocol: "echo",
        op: "echo",
        concurrency: 64,
        durationS,
        cpuPids: [echo!.pid],
      });
      const row = [
        "-",
        `echo (${when})`,
        "64",
        ...cells(r),
        "-",
        "-",
        "-",
        "-",
        cpuPerOp(r),
        "-",
        others([r]),
      ];
      record({ row, results: [r] });
    };
    await echoRow("start");

    for (const n of sizes) {
      const cassem = await startCassem(n, `${root}/cassem-${n}`, {
        cpuProfDir: cpuProf && n === Math.max(...sizes) ? `${cpuProf}` : undefined,
      });
      clusters.push(cassem);
      const et = etcd ? await startEtcd(etcd.path, n, root) : undefined;
      if (et) clusters.push(et);
      console.log(
        `${n}-node clusters up: cassemdb leader node ${cassem.leader.index}` +
          (et ? `, etcd leader e${et.leader.index}` : ""),
      );
      const pids = (c: Cluster) => c.members.map((m) => m.proc.pid);
      // While one cluster is measured the other is frozen (SIGSTOP), so that
      // its idle CPU (heartbeats, timers) does not count against the first.
      const alone = async <T>(c: Cluster, run: () => Promise<T>): Promise<T> => {
        const other = c === cassem ? et : cassem;
        other?.pause();
        try {
          return await run();
        } finally {
          await other?.resume();
        }
      };
      // The idle CPU of each cluster, alone, over 3 s.
      const idle = (c: Cluster) =>
        alone(c, async () => {
          const cpu = () => pids(c).reduce((s, pid) => s + procCpuMs(pid), 0);
          const c0 = cpu();
          await sleep(3_000);
          return (cpu() - c0) / 30 / c.members.length;
        });
      const idleC = await idle(cassem);
      const idleE = et ? await idle(et) : NaN;
      idleCpu.push(
        `${n} node(s): cassemdb ${fmt(idleC, 1)}%` + (et ? `, etcd ${fmt(idleE, 1)}%` : "") +
          " of one core per node",
      );
      console.log(`idle CPU ${idleCpu[idleCpu.length - 1]}`);
      // Every key exists before reads.
      const fill = (c: Cluster) =>
        runLoad({
          target: c.leader.client,
          protocol: c.kind,
          op: "fill",
          concurrency: 16,
          durationS: 30,
        });
      for (const r of [await fill(cassem), et ? await fill(et) : undefined]) {
        if (r && (r.errors > 0 || r.ops < 1_000)) {
          throw new Error(`Cannot fill the keys: ${JSON.stringify(r)}`);
        }
      }
      let flip = false;
      const pair = async (
        spec: Omit<LoadSpec, "target" | "protocol">,
        at: (c: Cluster) => string,
      ) => {
        // Alternate who goes first, so a slow drift of the machine does not favour one side.
        flip = !flip;
        const runC = () =>
          alone(
            cassem,
            () =>
              runLoad({ ...spec, target: at(cassem), protocol: "cassem", cpuPids: pids(cassem) }),
          );
        const runE = () =>
          et
            ? alone(
              et,
              () => runLoad({ ...spec, target: at(et), protocol: "etcd", cpuPids: pids(et) }),
            )
            : Promise.resolve(undefined);
        if (flip) {
          const c = await runC();
          return { c, e: await runE() };
        }
        const e = await runE();
        return { c: await runC(), e };
      };
      for (const { op, label } of ops) {
        for (const c of levels) {
          const r = await pair({ op, concurrency: c, durationS }, (x) => x.leader.client);
          record(pairRow(n, label, c, r));
        }
      }
      if (n > 1 && ops.some((o) => o.op === "get-lin")) {
        const c = levels.includes(64) ? 64 : levels[levels.length - 1]!;
        const r = await pair(
          { op: "get-lin", concurrency: c, durationS },
          (x) => x.followers[0]!.client,
        );
        record(pairRow(n, "get lin @follower", c, r));
      }
      await Promise.all([cassem.stop(), et?.stop()]);
      clusters.length = 0;
    }
    await echoRow("end");
  } finally {
    await Promise.all([echo?.stop(), ...clusters.map((c) => c.stop())]);
    closeProbeClients();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  console.log();
  printTable(
    [
      "nodes",
      "op",
      "conc",
      "cassem ops/s",
      "p50 ms",
      "p99 ms",
      "etcd ops/s",
      "p50 ms",
      "p99 ms",
      "cassem/etcd",
      "cassem CPU µs/op",
      "etcd CPU µs/op",
      "others %",
    ],
    rows,
  );
  console.log(
    `\nwrites and reads go to the leader (except "@follower"); errors are listed below when any.` +
      `\nCPU µs/op: user+system CPU of all the cluster's server processes (the echo server for echo rows)` +
      `\nduring the counted phase, per completed op (/proc/<pid>/stat, 10 ms ticks).` +
      `\nothers %: CPU used meanwhile by user processes this benchmark did not start (% of one core;` +
      `\nthe worse of the two sides): rows with a high figure were disturbed.` +
      `\nfinished in ${
        fmt((performance.now() - t0) / 1000)
      } s; load average now ${await loadAvg()}`,
  );
  for (const l of idleCpu) console.log(`idle CPU, ${l}`);
  for (const e of errorsSeen) console.log(`errors: ${e}`);
  if (cpuProf) {
    console.log(`CPU profiles in ${cpuProf}/node-*/ (deno run -A bench/cpuprof_top.ts FILE)`);
  }
}

const errorsSeen: string[] = [];
const idleCpu: string[] = [];

/** One table row for a cassemdb result and the etcd one beside it (if any). */
function pairRow(
  nodes: number,
  label: string,
  concurrency: number,
  r: { c: LoadResult; e: LoadResult | undefined },
): { row: string[]; results: (LoadResult | undefined)[] } {
  return {
    row: [
      String(nodes),
      label,
      String(concurrency),
      ...cells(r.c),
      ...(r.e ? cells(r.e) : ["-", "-", "-"]),
      ratio(r.c, r.e),
      cpuPerOp(r.c),
      r.e ? cpuPerOp(r.e) : "-",
      others([r.c, r.e]),
    ],
    results: [r.c, r.e],
  };
}

function cells(r: LoadResult): string[] {
  if (r.errors > 0) {
    errorsSeen.push(
      `${r.protocol} ${r.op} c=${r.concurrency} @${r.target}: ${r.errors} (${r.firstError})`,
    );
  }
  return [fmt(r.opsPerSec) + (r.errors > 0 ? "*" : ""), fmt(r.p50, 2), fmt(r.p99, 2)];
}

function cpuPerOp(r: LoadResult): string {
  return r.ops > 0 && Number.isFinite(r.serverCpuMs) ? fmt((r.serverCpuMs * 1000) / r.ops) : "-";
}

function ratio(c: LoadResult, e: LoadResult | undefined): string {
  return e && e.opsPerSec > 0 ? (c.opsPerSec / e.opsPerSec).toFixed(2) : "-";
}

/** Prints a row as soon as it is measured, with each load generator's CPU use. */
function progress(row: string[], rs: (LoadResult | undefined)[]): void {
  const gen = rs.filter((r): r is LoadResult => r !== undefined)
    .map((r) => `${r.protocol} ${fmt(r.clientCpuMs / 10 / r.seconds)}%`).join(", ");
  console.log(`  ${row.join("  ")}   (load generator CPU: ${gen})`);
}

/** The most the rest of the machine used during either side of a row, in % of one core. */
function others(rs: (LoadResult | undefined)[]): string {
  const v = Math.max(
    ...rs.filter((r): r is LoadResult => r !== undefined).map((r) => r.othersCpuPct),
  );
  return Number.isFinite(v) ? fmt(v) : "-";
}
