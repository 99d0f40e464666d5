/**
 * `deno task bench <name>`: runs one benchmark and prints its figures.
 * Benchmarks print numbers side by side with a baseline from the same run;
 * they never assert on timing.
 *
 * @module
 */

import { runRaftBench } from "./raft_bench.ts";

const benches: Record<string, () => Promise<void>> = {
  raft: runRaftBench,
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
await run();
