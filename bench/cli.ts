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
 *   agent    cassemagent: cached HTTP reads beside a bare Deno.serve, publish-to-client
 *            latency with 1,000 SSE and 1,000 gRPC watchers, RSS with 100,000 cached elements
 *
 * `--help` (alone or after a name) prints the usage; a mistake on the command
 * line is one line that names it.
 *
 * @module
 */

import { FlagError, toFlagError } from "../shared/flags.ts";
import { runAgentBench } from "./agent_bench.ts";
import { runAdmBench } from "./adm_bench.ts";
import { runDbBench } from "./db_bench.ts";
import { runMemoryBench } from "./memory_bench.ts";
import { runRaftBench } from "./raft_bench.ts";
import { runWatchBench } from "./watch_bench.ts";

/** Each benchmark: how it runs, and its line of the usage text. */
const BENCHES: Record<string, { run: (args: string[]) => Promise<void>; usage: string }> = {
  raft: {
    run: async (args) => {
      if (args[0] !== undefined) {
        throw new FlagError(args[0], "bench raft takes no flags: see deno task bench --help");
      }
      await runRaftBench();
    },
    usage: `  raft     an in-process 3-node raft cluster beside raw Deno KV (no flags)`,
  },
  db: {
    run: runDbBench,
    usage: `  db       cassemdb beside etcd (when installed), 1 and 3 nodes
           --quick               concurrency 1 and 64, 2 s per row
           --duration S          seconds per row (default 5, 2 with --quick)
           --levels 1,16,64,256  concurrency levels
           --nodes 1,3           cluster sizes
           --ops set,get-lin,get-ser
           --no-etcd             cassemdb only
           --cpu-prof DIR        V8 CPU profiles of the largest cluster's nodes`,
  },
  watch: {
    run: runWatchBench,
    usage: `  watch    watch fan-out on a 3-node cluster
           --watchers N (1000)   --procs N (2)   --paced N (200)   --rate R (10)
           --burst N (800)       --flow-window BYTES (raw grpc-js streams, diagnostic)`,
  },
  memory: {
    run: runMemoryBench,
    usage: `  memory   one node's memory holding many keys, and its restart time
           --keys N (100000)   --value-bytes N (1024)   --snapshot-every N (500)`,
  },
  agent: {
    run: runAgentBench,
    usage: `  agent    cassemagent: cached HTTP reads beside a bare Deno.serve, publish-to-client
           latency with SSE and gRPC watchers, RSS with many cached elements
           --part reads,push,memory   --duration S (10)   --connections N (64)
           --watchers N (1000)   --versions N (30)   --elements N (100000)   --value-bytes N (1024)
           --bodies config|filler|random   --key-chars N (0: keys e0…)
           --agent-trace-gc (the agent's GC pauses during the publishes)   --cpu-prof DIR`,
  },
  adm: {
    run: runAdmBench,
    usage: `  adm      element create / update / publish through 1 and 2 adm copies on a 3-node
           cassemdb, beside its own SetKV and Txn
           --duration S   --concurrency N (16)   --quick   --cpu-prof DIR`,
  },
};

const USAGE = `deno task bench <name> [flags]: runs one benchmark and prints its figures
(bench/README.md has the figures and what moved them)

${Object.values(BENCHES).map((b) => b.usage).join("\n")}

  --help   this text (also after a name)`;

const [name, ...rest] = Deno.args;
if (name === "--help" || name === "-h" || rest.includes("--help") || rest.includes("-h")) {
  console.log(USAGE);
  Deno.exit(0);
}
const bench = name ? BENCHES[name] : undefined;
if (!bench) {
  console.error(
    `Cannot run benchmark ${name ?? "(none given)"} as it must be one of: ${
      Object.keys(BENCHES).join(", ")
    }: see deno task bench --help`,
  );
  Deno.exit(2);
}
try {
  await bench.run(rest);
} catch (e) {
  const flagError = e instanceof FlagError ? e : toFlagError(`deno task bench ${name}`, e);
  if (!flagError) throw e;
  console.error(flagError.message);
  Deno.exit(2);
}
// Child processes' pipes and grpc-js timers must not keep the benchmark alive.
Deno.exit(0);
