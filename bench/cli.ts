/**
 * `deno task bench <name> [flags]`: runs one benchmark and prints its figures.
 * Benchmarks print numbers side by side with a baseline from the same run;
 * they never assert on timing.
 *
 *   raft     in-process raft cluster vs raw Deno KV
 *   db       cassemdb vs etcd, 1 and 3 nodes, set / get lin / get ser (--quick: shorter)
 *   watch    watch fan-out: 1,000 watchers on a 3-node cluster, 1,000 changes
 *   memory   RSS of one node holding 100,000 keys of 1 KiB, and its restart time
 *   adm      element create / update / publish through 1 and 2 adm copies, beside SetKV and Txn
 *
 * @module
 */

import { runAdmBench } from "./adm_bench.ts";
import { runDbBench } from "./db_bench.ts";
import { runMemoryBench } from "./memory_bench.ts";
import { runRaftBench } from "./raft_bench.ts";
import { runWatchBench } from "./watch_bench.ts";

const benches: Record<string, (args: string[]) => Promise<void>> = {
  raft: runRaftBench,
  db: runDbBench,
  watch: runWatchBench,
  memory: runMemoryBench,
  adm: runAdmBench,
};

const name = Deno.args[0];
const run = name ? benches[name] : undefined;
if (!run) {
  console.error(
    `Cannot run benchmark ${name ?? "(none)"} as it must be one of: ${
      Object.keys(benches).join(", ")
    }`,
  );
  Deno.exit(2);
}
await run(Deno.args.slice(1));
// Child processes' pipes and grpc-js timers must not keep the benchmark alive.
Deno.exit(0);
