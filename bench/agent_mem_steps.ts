/**
 * Memory probe (a development tool, not part of `deno task bench`): fills
 * one cassemdb node with `--elements` elements of `--value-bytes`, then for
 * each `--run` (JSON: `{"name", "denoArgs"?, "agentArgs"?, "env"?}`; `denoArgs`
 * replace the agent's runtime flags, `shared/runtime_flags.ts`) starts
 * a cassemagent process and prints its RSS, peak, JS heap and external
 * memory at each step: loaded, every key read twice (8 readers of 100 keys
 * like `deno task bench agent --part memory`), 5 s and 30 s idle. The RSS is
 * sampled every 100 ms while loading and reading, for the peak of each
 * phase.
 *
 *   deno run -A bench/agent_mem_steps.ts --run '{"name":"main"}' \
 *     --run '{"name":"semi 1","denoArgs":["--v8-flags=--max-semi-space-size=1"]}'
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { DbClient } from "../shared/db/mod.ts";
import { FlagError, parseFlags } from "../shared/flags.ts";
import { AGENT_DENO_FLAGS } from "../shared/runtime_flags.ts";
import { ServePublisher } from "../agent/_publisher.ts";
import { startCassem } from "./_clusters.ts";
import { procMemMiB, sleep, spawnProc, stopAll } from "./_procs.ts";
import { fillServedElements, keyCharsFlag, readServedTwice } from "./_serve_fill.ts";
import { bodyKind } from "./_config_text.ts";
import { fmt, printTable } from "./_stats.ts";

/** A minimal client of the V8 inspector protocol (GC and heap snapshots of the agent). */
class Inspector {
  #ws: WebSocket;
  #id = 0;
  #pending = new Map<number, (r: unknown) => void>();
  #chunks: string[] = [];
  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data as string);
      if (msg.method === "HeapProfiler.addHeapSnapshotChunk") this.#chunks.push(msg.params.chunk);
      if (msg.id !== undefined) this.#pending.get(msg.id)?.(msg.result);
    };
  }
  static async connect(port: number): Promise<Inspector> {
    const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const ws = new WebSocket(list[0].webSocketDebuggerUrl);
    await new Promise((r) => ws.onopen = r);
    return new Inspector(ws);
  }
  call(method: string, params: unknown = {}): Promise<unknown> {
    const id = ++this.#id;
    this.#ws.send(JSON.stringify({ id, method, params }));
    return new Promise((r) => this.#pending.set(id, r));
  }
  async snapshot(path: string): Promise<void> {
    this.#chunks = [];
    await this.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    await Deno.writeTextFile(path, this.#chunks.join(""));
    this.#chunks = [];
  }
  close(): void {
    this.#ws.close();
  }
}

/** The RSS of `pid` by kind of mapping, in MiB: file-backed, [heap], anonymous by mapping size. */
async function smapsSummary(pid: number): Promise<string> {
  const text = await Deno.readTextFile(`/proc/${pid}/smaps`);
  const by = new Map<string, number>();
  let kind = "";
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const size = (parseInt(m[2]!, 16) - parseInt(m[1]!, 16)) / 2 ** 20;
      const name = m[3]!;
      kind = name.startsWith("/")
        ? "file"
        : name !== ""
        ? name
        : size >= 60
        ? "anon ≥60 MiB (malloc arenas)"
        : size >= 1
        ? "anon 1–60 MiB"
        : "anon <1 MiB";
    } else if (line.startsWith("Rss:")) {
      by.set(kind, (by.get(kind) ?? 0) + Number(line.split(/\s+/)[1]) / 1024);
    }
  }
  return [...by].filter(([, v]) => v >= 1).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ");
}

const AGENT = fileURLToPath(new URL("../agent/main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

const USAGE = `deno run -A bench/agent_mem_steps.ts [flags]: an agent's memory, step by step
  --elements N (100000)  --value-bytes N (1024)  --bodies config|filler|random  --key-chars N (0)
  --run JSON (repeatable: {"name", "denoArgs"?, "agentArgs"?, "env"?, "inspect"?})
  --idle-s S (30)  --snapshot-dir DIR  --trace  --echo-load FILE  --smaps`;

/** The flags, checked before anything starts; a mistake is one line and exit 2. */
function flags() {
  const { values } = parseFlags("bench/agent_mem_steps.ts", {
    args: Deno.args,
    strict: true,
    options: {
      elements: { type: "string", default: "100000" },
      "value-bytes": { type: "string", default: "1024" },
      /** Bodies: config (default), filler or random (see `_config_text.ts`). */
      bodies: { type: "string", default: "config" },
      /** Element keys padded to this many characters (0: `e0`…; see `benchKey`). */
      "key-chars": { type: "string", default: "0" },
      run: { type: "string", multiple: true, default: ['{"name":"default"}'] },
      "idle-s": { type: "string", default: "30" },
      "snapshot-dir": { type: "string" },
      /** Prints RSS, heap and external memory at every sample. */
      trace: { type: "boolean", default: false },
      /** Writes what the agent printed on stdout until it was loaded to this file. */
      "echo-load": { type: "string" },
      /** Prints where the RSS is at the end (file-backed, heap, anonymous mappings by size). */
      smaps: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  return {
    v: values,
    keyChars: keyCharsFlag(values["key-chars"]!),
    bodies: bodyKind(values.bodies!),
  };
}

let parsed: ReturnType<typeof flags>;
try {
  parsed = flags();
} catch (e) {
  if (!(e instanceof FlagError)) throw e;
  console.error(e.message);
  Deno.exit(2);
}
const { v, keyChars, bodies } = parsed;
const n = Number(v.elements);
const valueBytes = Number(v["value-bytes"]);
const root = await Deno.makeTempDir({ prefix: "cassem_mem_steps_" });
const cluster = await startCassem(1, root);
const dbc = new DbClient({
  endpoints: [cluster.leader.client],
  timeoutMs: 30_000,
  attemptTimeoutMs: 10_000,
});
try {
  await new ServePublisher(dbc).appEnv("mem", "prod");
  await fillServedElements(dbc, n, valueBytes, bodies, keyChars);
  const rows: string[][] = [];
  for (const spec of v.run!) {
    const run = JSON.parse(spec) as {
      name: string;
      denoArgs?: string[];
      agentArgs?: string[];
      env?: Record<string, string>;
      /** Connect the V8 inspector: a full GC before each step and a heap snapshot after loading. */
      inspect?: boolean;
    };
    const inspectPort = run.inspect ? 9229 + Math.floor(Math.random() * 500) : 0;
    const proc = spawnProc("cassemagent", Deno.execPath(), [
      "run",
      "-A",
      ...(run.denoArgs ?? AGENT_DENO_FLAGS),
      ...(run.inspect ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
      "--config",
      CONFIG,
      AGENT,
      "--db",
      cluster.leader.client,
      "--listen",
      "127.0.0.1:0",
      "--grpc-listen",
      "127.0.0.1:0",
      "--log-level",
      "warn",
      "--cache-entries",
      String(n),
      "--cache-bytes",
      "1g",
      ...(run.agentArgs ?? []),
    ], { env: run.env });
    let peak = 0;
    let peakAt = "";
    let sampling = true;
    let statusUrl: string | undefined;
    const sampler = (async () => {
      while (sampling) {
        const rss = (await procMemMiB(proc.pid).catch(() => ({ rss: 0 }))).rss;
        if (v.trace && statusUrl) {
          const m = (await (await fetch(statusUrl).catch(() =>
            undefined
          ))?.json().catch(() => undefined))?.memory;
          if (m) {
            const mib = (b: number) => (b / 2 ** 20).toFixed(0);
            console.log(
              `trace rss ${rss.toFixed(0)} heap ${mib(m.heapUsed)}/${mib(m.heapTotal)} ext ${
                mib(m.external)
              } rss(agent) ${mib(m.rss)}`,
            );
          }
        }
        if (rss > peak) {
          peak = rss;
          // What the peak is made of (the status answers before the data is loaded too).
          const m = statusUrl
            ? (await (await fetch(statusUrl).catch(() => undefined))?.json().catch(() => undefined))
              ?.memory
            : undefined;
          const mib = (b: number) => fmt(b / 2 ** 20);
          peakAt = m ? `heap ${mib(m.heapUsed)}/${mib(m.heapTotal)} ext ${mib(m.external)}` : "";
        }
        await sleep(100);
      }
    })();
    try {
      const line = await proc.waitLine((l: string) => l.startsWith("cassemagent ready"), {
        timeoutMs: 30_000,
      });
      const http = /http=(\S+)/.exec(line)![1]!;
      statusUrl = `http://${http}/v1/status`;
      const status = async () => {
        const r = await fetch(`http://${http}/v1/status`);
        return r.status === 200 ? await r.json() : undefined;
      };
      const t0 = performance.now();
      for (;;) {
        const r = await fetch(`http://${http}/readyz`).catch(() => undefined);
        const ok = r?.status === 200;
        await r?.body?.cancel();
        if (ok) break;
        if (performance.now() - t0 > 120_000) throw new Error("agent not ready in 120 s");
        await sleep(100);
      }
      const insp = run.inspect ? await Inspector.connect(inspectPort) : undefined;
      const row = async (state: string, p: number) => {
        const before = insp ? (await status()).memory.heapUsed : 0;
        if (insp) await insp.call("HeapProfiler.collectGarbage");
        const st = await status();
        const m = await procMemMiB(proc.pid);
        const mib = (b: number) => fmt(b / 2 ** 20);
        rows.push([
          run.name,
          state,
          fmt(m.rss),
          fmt(p),
          fmt(m.hwm),
          mib(st.memory.heapUsed),
          mib(st.memory.heapTotal),
          mib(st.memory.external),
          fmt(st.entries),
          insp ? mib(before) : "",
          peakAt,
        ]);
        console.log(rows.at(-1)!.join("  "));
      };
      await row("loaded", peak);
      if (v["echo-load"]) {
        // What the agent printed while loading (e.g. under --v8-flags=--trace-gc).
        await Deno.writeTextFile(v["echo-load"], proc.lines("stdout").join("\n"));
      }
      if (insp && v["snapshot-dir"]) {
        await insp.snapshot(
          `${v["snapshot-dir"]}/${run.name.replace(/\W/g, "_")}_loaded.heapsnapshot`,
        );
      }
      await sleep(5_000);
      await row("loaded +5 s", peak);
      peak = 0;
      peakAt = "";
      const t1 = performance.now();
      await readServedTwice(http, n, keyChars);
      await row(`read twice (${fmt((performance.now() - t1) / 1000, 1)} s)`, peak);
      await sleep(5_000);
      await row("+5 s idle", peak);
      await sleep(Number(v["idle-s"]) * 1000);
      await row(`+${v["idle-s"]} s idle`, peak);
      if (v.smaps) console.log(`smaps ${run.name}: ${await smapsSummary(proc.pid)}`);
      if (insp && v["snapshot-dir"]) {
        await insp.snapshot(
          `${v["snapshot-dir"]}/${run.name.replace(/\W/g, "_")}_idle.heapsnapshot`,
        );
      }
      insp?.close();
    } finally {
      sampling = false;
      await sampler;
      await stopAll([proc]);
    }
  }
  printTable([
    "run",
    "state",
    "RSS",
    "phase peak",
    "HWM",
    "heap used",
    "heap total",
    "external",
    "entries",
    "heap used before GC",
    "at the peak: heap used/total, external",
  ], rows);
} finally {
  dbc.close();
  await cluster.stop();
  await Deno.remove(root, { recursive: true }).catch(() => {});
}
