/**
 * Profiling harness (not part of `deno task bench`): one agent on an
 * in-process `MemoryDb`, served by `Deno.serve` the way `agent/main.ts`
 * serves it, with `--keys` elements of `--value-bytes` published and read
 * twice (so LRU-K holds them). Run it under `--cpu-prof` and point wrk at
 * the URLs it prints.
 *
 *   deno run -A --cpu-prof --cpu-prof-dir=/tmp/prof bench/agent_serve_mem.ts --seconds 20
 *
 * @module
 */

import { parseArgs } from "node:util";
import { MemoryDb } from "../shared/db/mod.ts";
import { createLogger } from "../shared/log.ts";
import { createAgent } from "../agent/mod.ts";
import { ServePublisher } from "../agent/_publisher.ts";

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    keys: { type: "string", default: "100" },
    "value-bytes": { type: "string", default: "256" },
    seconds: { type: "string", default: "30" },
  },
});
const db = new MemoryDb();
const pub = new ServePublisher(db);
await pub.appEnv("bench", "prod");
for (let i = 0; i < Number(v.keys); i++) {
  const raw = JSON.stringify({ service: `svc-${i}`, timeoutMs: 30_000, retries: 3, tags: ["a"] })
    .padEnd(Number(v["value-bytes"]), " ");
  await pub.publish("bench", "prod", `k${i}`, { version: 1, raw, contentType: "json" });
}
const agent = createAgent({ db, agentId: "prof", log: createLogger("prof", "warn") });
await agent.ready;
for (let round = 0; round < 2; round++) {
  for (let i = 0; i < Number(v.keys); i++) {
    for (const p of [`elements?keys=k${i}`, `elements/k${i}/raw`]) {
      const r = await agent.request(`/v1/apps/bench/envs/prod/${p}`, {
        headers: { "x-cassem-client-id": "bench-1" },
      });
      await r.body?.cancel();
    }
  }
}
const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, (req, info) =>
  agent.fetch(req, {
    get remoteAddr() {
      return info.remoteAddr.hostname;
    },
  }));
await new Promise((r) => setTimeout(r, Number(v.seconds) * 1000));
await server.shutdown();
await agent.close();
db.close();
