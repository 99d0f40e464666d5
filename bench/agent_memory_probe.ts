/**
 * Memory probe (a development tool, not part of `deno task bench`): one
 * agent on an in-process `MemoryDb` with `--elements` elements of
 * `--value-bytes`, every key read twice so LRU-K caches it, and the JS heap
 * after a full GC at each step — per element, the cost of the served
 * metadata and of a cached body. `--snapshot FILE` also writes a heap
 * snapshot at the end.
 *
 *   deno run -A --v8-flags=--expose-gc bench/agent_memory_probe.ts --elements 20000
 *
 * @module
 */

import { parseArgs } from "node:util";
import v8 from "node:v8";
import { MemoryDb } from "../shared/db/mod.ts";
import { createLogger } from "../shared/log.ts";
import { createAgent } from "../agent/mod.ts";
import { ServePublisher } from "../agent/_publisher.ts";

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    elements: { type: "string", default: "20000" },
    "value-bytes": { type: "string", default: "1024" },
    snapshot: { type: "string" },
  },
});
const n = Number(v.elements);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  throw new Error("Cannot measure the heap as gc is not exposed: run with --v8-flags=--expose-gc");
}
function heapMiB(): number {
  for (let i = 0; i < 3; i++) gc!();
  return Deno.memoryUsage().heapUsed / 2 ** 20;
}
const db = new MemoryDb();
const pub = new ServePublisher(db);
await pub.appEnv("mem", "prod");
for (let i = 0; i < n; i++) {
  const key = `e${i}`;
  await pub.publish("mem", "prod", key, {
    version: 1,
    raw: `${key}=`.padEnd(Number(v["value-bytes"]), "x"),
  });
}
const before = heapMiB();
const agent = createAgent({
  db,
  agentId: "probe",
  log: createLogger("probe", "warn"),
  cacheEntries: n,
  cacheBytes: 2 ** 30,
});
await agent.ready;
const loaded = heapMiB();
for (let round = 0; round < 2; round++) {
  for (let i = 0; i < n; i += 100) {
    const keys = Array.from({ length: Math.min(100, n - i) }, (_, j) => `e${i + j}`).join(",");
    const r = await agent.request(`/v1/apps/mem/envs/prod/elements?keys=${keys}`);
    if (r.status !== 200) throw new Error(`read: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  }
}
const cached = heapMiB();
const st = agent.core.stats();
const per = (mib: number) => ((mib * 2 ** 20) / n).toFixed(0);
console.log(JSON.stringify({
  elements: n,
  cacheEntries: st.entries,
  heapBeforeMiB: +before.toFixed(1),
  metadataMiB: +(loaded - before).toFixed(1),
  metadataBytesPerElement: +per(loaded - before),
  cacheMiB: +(cached - loaded).toFixed(1),
  cacheBytesPerElement: +per(cached - loaded),
  rssMiB: +(Deno.memoryUsage().rss / 2 ** 20).toFixed(0),
}));
if (v.snapshot) v8.writeHeapSnapshot(v.snapshot);
await agent.close();
db.close();
