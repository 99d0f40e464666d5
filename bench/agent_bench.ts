/**
 * `deno task bench agent`: cassemagent on one cassemdb node, three parts
 * (`--part reads,push,memory`, default all):
 *
 * - **reads**: cached reads over HTTP — the elements endpoint (1 and 10
 *   keys) and the raw endpoint — beside a bare `Deno.serve` hello world
 *   (`agent_hello.ts`), each a process of its own, measured in the same run
 *   with the same load tool: wrk (`-t2 -c64 --latency`) when it is installed
 *   (Debian: `apt-get install -y wrk`), else `agent_http_load.ts`, a Deno
 *   closed-loop load generator in a separate process (the output says
 *   which). The hello world runs first and last: the drift of the machine.
 * - **push**: publish-to-client latency with `--watchers` (1,000) SSE
 *   watchers, then as many gRPC watchers, on one agent, on one key: from the
 *   publish call (a cassemdb write, as cassemadm's publish is one
 *   transaction) returning to each watcher receiving the version
 *   (`agent_watchers.ts`, two processes of half the watchers each; wall
 *   clocks of one machine). `--versions` publishes, 100 ms apart.
 * - **memory**: the agent's RSS holding `--elements` (100,000) cached
 *   elements of `--value-bytes` (1,024) of `--bodies` (config-like JSON by
 *   default; `filler`, `random`: see `_config_text.ts`), keys `e0`… or of
 *   `--key-chars` characters: loaded, then every key read twice (LRU-K
 *   admits at the second access).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { serveLiveKey } from "../shared/config/mod.ts";
import { DbClient } from "../shared/db/mod.ts";
import { FlagError } from "../shared/flags.ts";
import { AGENT_V8_FLAGS } from "../shared/runtime_flags.ts";
import { ServePublisher } from "../agent/_publisher.ts";
import { type Cluster, startCassem } from "./_clusters.ts";
import { type Proc, procCpuMs, procMemMiB, sleep, spawnProc, stopAll } from "./_procs.ts";
import { fillServedElements, keyCharsFlag, readServedTwice } from "./_serve_fill.ts";
import { type BodyKind, bodyKind } from "./_config_text.ts";
import { fmt, percentile, printTable } from "./_stats.ts";
import { parsePrometheusText } from "../shared/metrics/mod.ts";
import { machineNote } from "./db_bench.ts";

const AGENT = fileURLToPath(new URL("../agent/main.ts", import.meta.url));
const HELLO = fileURLToPath(new URL("./agent_hello.ts", import.meta.url));
const WATCHERS = fileURLToPath(new URL("./agent_watchers.ts", import.meta.url));
const LOAD = fileURLToPath(new URL("./agent_http_load.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

/** A started agent process and its addresses. */
interface AgentHandle {
  proc: Proc;
  http: string;
  grpc: string;
}

/** Where `--cpu-prof DIR` puts the agents' V8 CPU profiles (one subfolder per agent started). */
let cpuProfDir: string | undefined;
let agentsStarted = 0;

/** Whether `--agent-trace-gc` asked for the agents' GC events (V8 `--trace-gc`, on stdout). */
let traceGc = false;

async function startAgent(
  db: string,
  extra: string[] = [],
  onLine?: (line: string) => void,
): Promise<AgentHandle> {
  const prof = cpuProfDir
    ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}/agent-${++agentsStarted}`]
    : [];
  const gc = traceGc ? ["--trace-gc"] : [];
  const proc = spawnProc("cassemagent", Deno.execPath(), [
    "run",
    "-A",
    ...prof,
    // As users run it; a --trace-gc run adds that flag to the agent's own.
    `--v8-flags=${[...AGENT_V8_FLAGS, ...gc].join(",")}`,
    "--config",
    CONFIG,
    AGENT,
    "--db",
    db,
    "--listen",
    "127.0.0.1:0",
    "--grpc-listen",
    "127.0.0.1:0",
    "--log-level",
    "warn",
    ...extra,
  ], { onLine: onLine && ((_stream, l) => onLine(l)) });
  const line = await proc.waitLine((l: string) => l.startsWith("cassemagent ready"), {
    timeoutMs: 30_000,
  });
  const m = /http=(\S+) grpc=(\S+)/.exec(line)!;
  const a = { proc, http: m[1]!, grpc: m[2]! };
  const t0 = performance.now();
  for (;;) {
    const r = await fetch(`http://${a.http}/readyz`).catch(() => undefined);
    const ok = r?.status === 200;
    await r?.body?.cancel();
    if (ok) return a;
    if (performance.now() - t0 > 300_000) throw new Error("Cannot see the agent load within 300 s");
    await sleep(100);
  }
}

// ---- reads --------------------------------------------------------------------------

interface LoadRow {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function hasWrk(): Promise<boolean> {
  try {
    const r = await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return r.code === 0 || r.code === 1;
  } catch {
    return false;
  }
}

function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return NaN;
  return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]!]!;
}

async function wrk(name: string, url: string, seconds: number, conns: number): Promise<LoadRow> {
  const out = await new Deno.Command("wrk", {
    args: [
      "-t2",
      `-c${conns}`,
      `-d${seconds}s`,
      "--latency",
      "-H",
      "X-Cassem-Client-Id: bench-1",
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const pct = (p: string) => ms(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(text)?.[1] ?? "");
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = non2xx + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { name, rps, p50: pct("50"), p99: pct("99"), errors };
}

async function denoLoad(
  name: string,
  url: string,
  seconds: number,
  conns: number,
): Promise<LoadRow> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      CONFIG,
      LOAD,
      "--url",
      url,
      "--seconds",
      String(seconds),
      "--concurrency",
      String(conns),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  return { name, rps: r.rps, p50: r.p50, p99: r.p99, errors: r.errors };
}

async function readsPart(
  db: string,
  pub: ServePublisher,
  seconds: number,
  conns: number,
): Promise<void> {
  await pub.appEnv("bench", "prod");
  for (let i = 0; i < 100; i++) {
    const raw = JSON.stringify({
      service: `svc-${i}`,
      timeoutMs: 30_000,
      retries: 3,
      tags: ["a", "b"],
    })
      .padEnd(256, " ");
    await pub.publish("bench", "prod", `k${i}`, { version: 1, raw, contentType: "json" });
  }
  const agent = await startAgent(db);
  const base = `http://${agent.http}/v1/apps/bench/envs/prod`;
  const procs: Proc[] = [agent.proc];
  /** A baseline server: hello world, or the same bytes as the agent answers at `mimic`. */
  const baseline = async (name: string, mimic?: string, readRequest = false) => {
    const p = spawnProc(name, Deno.execPath(), [
      "run",
      "-A",
      HELLO,
      "--port",
      "0",
      ...(mimic ? ["--mimic", mimic] : []),
      ...(readRequest ? ["--read-request"] : []),
    ]);
    procs.push(p);
    const port =
      (await p.waitLine((l: string) => l.startsWith("listening"), { timeoutMs: 15_000 })).split(
        " ",
      )[1];
    return { url: `http://127.0.0.1:${port}/`, pid: p.pid };
  };
  try {
    const ten = Array.from({ length: 10 }, (_, i) => `k${i}`).join(",");
    // Warm up: two reads of every body admit it to the LRU-K cache.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 100; i++) {
        for (const u of [`${base}/elements?keys=k${i}`, `${base}/elements/k${i}/raw`]) {
          const r = await fetch(u, { headers: { "x-cassem-client-id": "bench-1" } });
          await r.body?.cancel();
        }
      }
    }
    const tool = (await hasWrk()) ? "wrk" : "deno";
    const run = tool === "wrk" ? wrk : denoLoad;
    console.log(
      `\nreads: ${
        tool === "wrk" ? "wrk -t2" : "agent_http_load.ts (wrk not installed)"
      } -c${conns}, ${seconds} s per row`,
    );
    const hello = await baseline("hello");
    const same = await baseline("same bytes", `${base}/elements?keys=k1`);
    const sameReading = await baseline("same bytes reading", `${base}/elements?keys=k1`, true);
    const sameRaw = await baseline("same raw bytes", `${base}/elements/k1/raw`);
    const rows: (LoadRow & { cpuUs: number })[] = [];
    // The server's CPU per request (/proc utime + stime): less sensitive than req/s to the other
    // processes on the machine, which slow the load tool and the server alike.
    const row = async (name: string, url: string, pid: number) => {
      const cpu0 = procCpuMs(pid);
      const r = await run(name, url, seconds, conns);
      const cpuMs = procCpuMs(pid) - cpu0;
      rows.push({ ...r, cpuUs: (cpuMs * 1000) / (r.rps * seconds) });
    };
    const agentPid = agent.proc.pid;
    await row("bare Deno.serve hello", hello.url, hello.pid);
    await row("agent elements, 1 key", `${base}/elements?keys=k1`, agentPid);
    await row("bare Deno.serve, same bytes", same.url, same.pid);
    await row("  … reading URL and a header", sameReading.url, sameReading.pid);
    await row("agent raw", `${base}/elements/k1/raw`, agentPid);
    await row("bare Deno.serve, same raw bytes", sameRaw.url, sameRaw.pid);
    await row("agent elements, 10 keys", `${base}/elements?keys=${ten}`, agentPid);
    await row("bare Deno.serve hello (again)", hello.url, hello.pid);
    const bare = (rows[0]!.rps + rows.at(-1)!.rps) / 2;
    const st = await (await fetch(`http://${agent.http}/v1/status`)).json();
    printTable(
      ["target", "req/s", "p50 ms", "p99 ms", "errors", "× hello", "server CPU µs/req"],
      rows.map((r) => [
        r.name,
        fmt(r.rps),
        fmt(r.p50, 2),
        fmt(r.p99, 2),
        fmt(r.errors),
        fmt(r.rps / bare, 2),
        fmt(r.cpuUs, 1),
      ]),
    );
    const by = (name: string) => rows.find((r) => r.name === name)!;
    const el = by("agent elements, 1 key");
    const raw = by("agent raw");
    const same1 = by("bare Deno.serve, same bytes");
    const sameRead = by("  … reading URL and a header");
    const sameRawRow = by("bare Deno.serve, same raw bytes");
    console.log(
      `agent / bare with the same bytes: elements ${fmt(el.rps / same1.rps, 2)} (${
        fmt(el.rps / sameRead.rps, 2)
      } of the one reading the request), raw ${fmt(raw.rps / sameRawRow.rps, 2)} (req/s); ` +
        `server CPU per request: elements ${fmt(el.cpuUs / same1.cpuUs, 2)}× (${
          fmt(el.cpuUs / sameRead.cpuUs, 2)
        }×), raw ${fmt(raw.cpuUs / sameRawRow.cpuUs, 2)}×, hello ${
          fmt(el.cpuUs / rows[0]!.cpuUs, 2)
        }× (elements)`,
    );
    console.log(
      `agent cache: ${st.entries} entries, ${fmt(st.hits)} hits, ${fmt(st.misses)} misses`,
    );
  } finally {
    await stopAll(procs);
  }
}

// ---- push -----------------------------------------------------------------------------

const PUSH_HIST = "cassemagent_push_latency_seconds";

/** The agent's push-latency histogram (arrival of a change from cassemdb → fan-out done). */
interface PushHistogram {
  count: number;
  sumS: number;
  /** Cumulative counts by upper bound (s), ascending. */
  buckets: [number, number][];
}

async function pushHistogram(http: string): Promise<PushHistogram> {
  const scrape = parsePrometheusText(await (await fetch(`http://${http}/metrics`)).text());
  return {
    count: scrape.sum(`${PUSH_HIST}_count`),
    sumS: scrape.sum(`${PUSH_HIST}_sum`),
    buckets: scrape.find(`${PUSH_HIST}_bucket`)
      .map((b) => [Number(b.labels.le), b.value] as [number, number])
      .sort((a, b) => a[0] - b[0]),
  };
}

/**
 * The pushes observed between `a` and `b`: how many, their mean fan-out (ms)
 * and the upper bound of the bucket holding their slowest (ms).
 */
function fanOut(
  a: PushHistogram,
  b: PushHistogram,
): { count: number; meanMs: number; maxMs: number } {
  const count = b.count - a.count;
  const before = new Map(a.buckets);
  let maxS = NaN;
  for (const [le, n] of b.buckets) {
    if (n - (before.get(le) ?? 0) === count) {
      maxS = le;
      break;
    }
  }
  return { count, meanMs: ((b.sumS - a.sumS) * 1000) / count, maxMs: maxS * 1000 };
}

/**
 * One V8 `--trace-gc` line: when (ms since the isolate started), the kind of
 * collection and its pause (ms); undefined for other lines.
 */
export function gcEvent(
  line: string,
): { atMs: number; kind: string; pauseMs: number } | undefined {
  const m =
    /(\d+) ms: ([A-Za-z -]+?)(?: \([^)]*\))? [\d.]+ \([\d.]+\) -> .*? MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/
      .exec(line);
  return m ? { atMs: Number(m[1]), kind: m[2]!, pauseMs: Number(m[3]) } : undefined;
}

/** When process `pid` started, in wall-clock ms (to 10 ms: /proc/uptime and clock ticks of 100 Hz). */
function procStartWallMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Field 22, counted after the ")" that ends the command name.
  const startTicks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  const uptimeS = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
  return Date.now() - (uptimeS - startTicks / 100) * 1000;
}

async function pushPart(
  db: string,
  dbc: DbClient,
  pub: ServePublisher,
  watchers: number,
  versions: number,
): Promise<void> {
  await pub.appEnv("bench", "prod");
  const raw = (v: number) =>
    JSON.stringify({ version: v, flags: { a: true, b: false } }).padEnd(256, " ");
  await pub.publish("bench", "prod", "hot", { version: 1, raw: raw(1), contentType: "json" });
  console.log(
    `\npush: ${fmt(watchers)} watchers on one agent, one key, ${versions} publishes 100 ms apart`,
  );
  const rows: string[][] = [];
  const split: string[][] = [];
  for (const kind of ["sse", "grpc"] as const) {
    // The agent's GC events (with --agent-trace-gc): its stdout is block-buffered, so they
    // arrive late; each is placed in time by its stamp (ms since the agent's isolate started).
    const gcEvents: { atMs: number; kind: string; pauseMs: number }[] = [];
    const agent = await startAgent(db, ["--heartbeat-ms", "5000"], (line) => {
      const e = gcEvent(line);
      if (e) gcEvents.push(e);
    });
    const agentStart = procStartWallMs(agent.proc.pid);
    let window: [number, number] = [0, 0];
    const procs: Proc[] = [];
    try {
      const per = Math.ceil(watchers / 2);
      const base = await currentVersion(dbc);
      const last = base + versions;
      for (let i = 0; i < 2; i++) {
        procs.push(
          spawnProc(`watchers-${kind}-${i}`, Deno.execPath(), [
            "run",
            "-A",
            "--config",
            CONFIG,
            WATCHERS,
            "--kind",
            kind,
            "--url",
            `http://${agent.http}`,
            "--grpc",
            agent.grpc,
            "--count",
            String(per),
            "--key",
            "hot",
            "--last",
            String(last),
            "--timeout",
            "120",
          ]),
        );
      }
      await Promise.all(
        procs.map((p) => p.waitLine((l: string) => l === "ready", { timeoutMs: 120_000 })),
      );
      await sleep(500);
      const sent = new Map<number, { start: number; end: number }>();
      // CPU of the agent and of the watcher processes over the publishes: steadier than
      // latency on a shared machine.
      const agentCpu0 = procCpuMs(agent.proc.pid);
      const hist0 = await pushHistogram(agent.http);

      const now = () => performance.timeOrigin + performance.now();
      for (let v = base + 1; v <= last; v++) {
        const start = now();
        await pub.publish("bench", "prod", "hot", { version: v, raw: raw(v), contentType: "json" });
        sent.set(v, { start, end: now() });
        await sleep(100);
      }
      const outs = await Promise.all(
        procs.map((p) =>
          p.waitLine((l: string) => l.startsWith("{"), { timeoutMs: 180_000 }).then((l) =>
            JSON.parse(l)
          )
        ),
      );
      window = [sent.get(base + 1)!.start, sent.get(last)!.end + 100];
      const agentCpuMs = (procCpuMs(agent.proc.pid) - agentCpu0) / versions;
      const fan = fanOut(hist0, await pushHistogram(agent.http));
      const watcherCpuMs = outs.reduce((n, o) => n + o.cpuMs, 0) / versions;
      const fromReturn: number[] = [];
      const fromStart: number[] = [];
      let received = 0;
      let errors = 0;
      for (const o of outs) {
        errors += o.errors;
        for (const [ver, times] of Object.entries(o.times as Record<string, number[]>)) {
          const s = sent.get(Number(ver));
          if (!s) continue;
          for (const t of times) {
            received++;
            fromReturn.push(Math.max(0, t - s.end));
            fromStart.push(t - s.start);
          }
        }
      }
      fromReturn.sort((a, b) => a - b);
      fromStart.sort((a, b) => a - b);
      // Per publish, its first and its last delivery (over both watcher processes), from the
      // publish call's return: the first bounds cassemdb → agent → one socket, the spread is
      // the fan-out as the watchers see it (agent writes and their own CPU).
      const first: number[] = [];
      const lastOf: number[] = [];
      const spread: number[] = [];
      for (const [v, s] of sent) {
        const all = outs.flatMap((o) => (o.times as Record<string, number[]>)[v] ?? []);
        if (all.length === 0) continue;
        const lo = Math.min(...all) - s.end;
        const hi = Math.max(...all) - s.end;
        first.push(lo);
        lastOf.push(hi);
        spread.push(hi - lo);
      }
      for (const l of [first, lastOf, spread]) l.sort((a, b) => a - b);
      split.push([
        kind === "sse" ? "SSE" : "gRPC Watch",
        `${fmt(fan.meanMs, 2)} (≤ ${fmt(fan.maxMs, 1)})`,
        `${fmt(percentile(first, 50), 1)} / ${fmt(first.at(-1) ?? NaN, 1)}`,
        `${fmt(percentile(lastOf, 50), 1)} / ${fmt(lastOf.at(-1) ?? NaN, 1)}`,
        `${fmt(percentile(spread, 50), 1)} / ${fmt(spread.at(-1) ?? NaN, 1)}`,
        "(--agent-trace-gc)",
      ]);
      const expected = per * 2 * versions;
      rows.push([
        kind === "sse" ? "SSE" : "gRPC Watch",
        fmt(per * 2),
        `${fmt(received)} / ${fmt(expected)}`,
        fmt(percentile(fromReturn, 50), 1),
        fmt(percentile(fromReturn, 99), 1),
        fmt(fromReturn.at(-1) ?? NaN, 1),
        fmt(percentile(fromStart, 99), 1),
        fmt(errors),
        fmt(agentCpuMs, 1),
        fmt(watcherCpuMs, 1),
      ]);
      const mem = await procMemMiB(agent.proc.pid);
      console.log(`  ${kind}: agent RSS ${fmt(mem.rss)} MiB with ${fmt(per * 2)} streams`);
    } finally {
      await stopAll([...procs, agent.proc]);
    }
    if (traceGc && split.length > 0) {
      // Stopped: its output is all read. The events of the publishes' window (± ~50 ms: the
      // isolate starts a little after the process).
      const during = gcEvents.filter((e) =>
        agentStart + e.atMs >= window[0] && agentStart + e.atMs <= window[1]
      );
      const total = during.reduce((n, e) => n + e.pauseMs, 0);
      const max = during.reduce((n, e) => Math.max(n, e.pauseMs), 0);
      const kinds = [...new Set(during.map((e) => e.kind))].join(", ");
      split.at(-1)![5] = `${fmt(during.length)}, ${fmt(total, 1)} ms, max ${fmt(max, 1)}` +
        (kinds ? ` (${kinds})` : "");
    }
  }
  printTable(
    [
      "transport",
      "watchers",
      "deliveries",
      "p50 ms",
      "p99 ms",
      "max ms",
      "p99 from call start",
      "stream errors",
      "agent CPU ms/publish",
      "watchers CPU ms/publish",
    ],
    rows,
  );
  console.log(
    "where the time goes, per publish (ms from the publish call's return; median / max of the publishes):",
  );
  printTable(
    [
      "transport",
      "agent fan-out ms: mean (max bucket)",
      "first delivery",
      "last delivery",
      "last − first",
      "agent GC during the publishes: n, total, max pause",
    ],
    split,
  );
}

async function currentVersion(db: DbClient): Promise<number> {
  const { entity } = await db.get(serveLiveKey("bench", "prod", "hot"));
  return entity ? JSON.parse(new TextDecoder().decode(entity.val)).version : 1;
}

// ---- memory -----------------------------------------------------------------------------

async function memoryPart(
  db: string,
  dbc: DbClient,
  pub: ServePublisher,
  n: number,
  valueBytes: number,
  bodies: BodyKind,
  keyChars: number,
): Promise<void> {
  console.log(
    `\nmemory: ${fmt(n)} elements of ${fmt(valueBytes)} B, bodies: ${bodies}, keys: ${
      keyChars > 0 ? `${keyChars} characters` : "e0…"
    }`,
  );
  await pub.appEnv("mem", "prod");
  const filledS = await fillServedElements(dbc, n, valueBytes, bodies, keyChars);
  console.log(`  filled cassemdb in ${fmt(filledS, 1)} s`);
  const t1 = performance.now();
  const agent = await startAgent(db, ["--cache-entries", String(n), "--cache-bytes", "1g"]);
  const loadS = (performance.now() - t1) / 1000;
  try {
    const status = async () => await (await fetch(`http://${agent.http}/v1/status`)).json();
    const loaded = await procMemMiB(agent.proc.pid);
    const loadedHeap = (await status()).memory.heapUsed / 2 ** 20;
    const t2 = performance.now();
    await readServedTwice(agent.http, n, keyChars);
    const readS = (performance.now() - t2) / 1000;
    await sleep(2_000);
    const st = await status();
    const after = await procMemMiB(agent.proc.pid);
    // V8 collects and gives memory back when the process is idle: the steady state.
    await sleep(30_000);
    const idle = await status();
    const idleMem = await procMemMiB(agent.proc.pid);
    printTable([
      "state",
      "RSS MiB",
      "peak (VmHWM) MiB",
      "JS heap used MiB",
      "cache entries",
      "cache MiB",
      "their text MiB",
      "seconds",
    ], [
      [
        "loaded (index only)",
        fmt(loaded.rss),
        fmt(loaded.hwm),
        fmt(loadedHeap),
        "0",
        "0",
        "0",
        fmt(loadS, 1),
      ],
      [
        "every key read twice",
        fmt(after.rss),
        fmt(after.hwm),
        fmt(st.memory.heapUsed / 2 ** 20),
        fmt(st.entries),
        fmt(st.bytes / 2 ** 20),
        fmt(st.storeTextBytes / 2 ** 20),
        fmt(readS, 1),
      ],
      [
        "then 30 s idle",
        fmt(idleMem.rss),
        fmt(idleMem.hwm),
        fmt(idle.memory.heapUsed / 2 ** 20),
        fmt(idle.entries),
        fmt(idle.bytes / 2 ** 20),
        fmt(idle.storeTextBytes / 2 ** 20),
        "",
      ],
    ]);
  } finally {
    await stopAll([agent.proc]);
  }
}

/** Runs the agent benchmark (see the module doc). */
export async function runAgentBench(args: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args,
    strict: true,
    options: {
      part: { type: "string", default: "reads,push,memory" },
      duration: { type: "string", default: "10" },
      connections: { type: "string", default: "64" },
      watchers: { type: "string", default: "1000" },
      versions: { type: "string", default: "30" },
      elements: { type: "string", default: "100000" },
      "value-bytes": { type: "string", default: "1024" },
      bodies: { type: "string", default: "config" },
      "key-chars": { type: "string", default: "0" },
      "cpu-prof": { type: "string" },
      "agent-trace-gc": { type: "boolean", default: false },
    },
  });
  // Checked before anything runs: a mistake is one line, not a failure after the first parts.
  const bodies = bodyKind(v.bodies!);
  const keyChars = keyCharsFlag(v["key-chars"]!);
  cpuProfDir = v["cpu-prof"];
  traceGc = v["agent-trace-gc"]!;
  const parts = new Set(v.part!.split(","));
  for (const p of parts) {
    if (!["reads", "push", "memory"].includes(p)) {
      throw new FlagError(
        "--part",
        `each part must be one of reads, push, memory: current value is ${JSON.stringify(p)}`,
      );
    }
  }
  console.log(`cassemagent benchmark — ${await machineNote()}`);
  const root = await Deno.makeTempDir({ prefix: "cassem_agent_bench_" });
  let cluster: Cluster | undefined;
  let dbc: DbClient | undefined;
  try {
    cluster = await startCassem(1, root);
    const db = cluster.leader.client;
    dbc = new DbClient({ endpoints: [db], timeoutMs: 30_000, attemptTimeoutMs: 10_000 });
    const pub = new ServePublisher(dbc);
    if (parts.has("reads")) await readsPart(db, pub, Number(v.duration), Number(v.connections));
    if (parts.has("push")) await pushPart(db, dbc, pub, Number(v.watchers), Number(v.versions));
    if (parts.has("memory")) {
      await memoryPart(
        db,
        dbc,
        pub,
        Number(v.elements),
        Number(v["value-bytes"]),
        bodies,
        keyChars,
      );
    }
  } finally {
    await cluster?.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}
