/**
 * What importing modules costs a process (a development tool, not part of
 * `deno task bench`): imports each module named, waits, collects garbage and
 * trims malloc (`agent/memory_trim.ts`), then prints the RSS and the JS heap.
 *
 *   deno run -A bench/import_rss.ts agent/mod.ts
 *
 * @module
 */

import { releaseMemory } from "../agent/memory_trim.ts";
import { procMemMiB, sleep } from "./_procs.ts";

const root = new URL("../", import.meta.url);
for (const m of Deno.args) {
  await import(m.includes(":") ? m : new URL(m, root).href);
}
await sleep(300);
releaseMemory();
await sleep(300);
const { rss } = await procMemMiB(Deno.pid);
const heap = Deno.memoryUsage().heapUsed / 2 ** 20;
console.log(
  `RSS ${rss.toFixed(1)} MiB, JS heap ${heap.toFixed(1)} MiB after importing ${
    Deno.args.join(" ") || "nothing"
  }`,
);
