/**
 * The fallback HTTP load generator of `deno task bench agent` when wrk is
 * not installed: `--concurrency` closed loops of `fetch` for `--seconds`
 * (bounded by `--max-requests`), in a process of its own. Prints one JSON
 * line `{ "rps", "p50", "p99", "errors" }` (latencies in ms).
 *
 *   deno run -A bench/agent_http_load.ts --url http://127.0.0.1:7081/... --seconds 10 --concurrency 64
 *
 * @module
 */

import { parseArgs } from "node:util";
import { closedLoop, percentile } from "./_stats.ts";

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    url: { type: "string", default: "" },
    seconds: { type: "string", default: "10" },
    concurrency: { type: "string", default: "64" },
    "max-requests": { type: "string", default: "5000000" },
  },
});
let errors = 0;
const headers = { "x-cassem-client-id": "bench-1" };
const { latencies, elapsedMs } = await closedLoop(
  Number(v.concurrency),
  Number(v["max-requests"]),
  Number(v.seconds) * 1000,
  async () => {
    const r = await fetch(v.url!, { headers });
    await r.arrayBuffer();
    if (r.status >= 400) errors++;
  },
);
console.log(JSON.stringify({
  rps: latencies.length / (elapsedMs / 1000),
  p50: percentile(latencies, 50),
  p99: percentile(latencies, 99),
  errors,
}));
Deno.exit(0);
