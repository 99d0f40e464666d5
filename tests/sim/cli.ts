/**
 * `deno task sim`: runs seeded cluster simulations outside the test runner.
 *
 *   deno task sim --seeds 10000              # random base seed, printed first
 *   deno task sim --nodes 5 --seed 1234 --verbose   # replay one seed with its trace
 *   deno task sim --core votes-twice --seeds 50     # show the checkers catch a broken core
 *   deno task sim --late-snapshots 0.5 --seeds 500  # snapshot data often still loading
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BROKEN_CORES } from "./broken_cores.ts";
import { runSeed } from "./swarm.ts";

const { values } = parseArgs({
  options: {
    seed: { type: "string" },
    seeds: { type: "string", default: "1" },
    nodes: { type: "string" },
    verbose: { type: "boolean", default: false },
    "safety-ms": { type: "string" },
    core: { type: "string" },
    "late-snapshots": { type: "string" },
  },
});

const lateSnapshotRate = Number(values["late-snapshots"] ?? 0);
if (!(lateSnapshotRate >= 0 && lateSnapshotRate < 1)) {
  console.error(
    `Cannot run as --late-snapshots must be a probability in [0, 1): current value is ${
      values["late-snapshots"]
    }`,
  );
  Deno.exit(2);
}

const core = values.core ? BROKEN_CORES[values.core] : undefined;
if (values.core && !core) {
  console.error(
    `Cannot use core ${values.core} as --core must be one of: ${
      Object.keys(BROKEN_CORES).join(", ")
    }`,
  );
  Deno.exit(2);
}

const sizes = values.nodes ? [Number(values.nodes)] : [3, 5];
for (const s of sizes) {
  if (s !== 3 && s !== 5) {
    console.error(`Cannot simulate ${values.nodes} nodes as --nodes must be 3 or 5`);
    Deno.exit(2);
  }
}
const count = Number(values.seeds);
if (!Number.isInteger(count) || count < 1) {
  console.error(`Cannot run ${values.seeds} seeds as --seeds must be a positive integer`);
  Deno.exit(2);
}
const base = values.seed !== undefined
  ? Number(values.seed)
  : Number(Deno.env.get("SIM_SEED") ?? crypto.getRandomValues(new Uint32Array(1))[0]);
console.log(`SEED=${base} seeds=${count} nodes=${sizes.join(",")}`);

let failed = 0;
const started = performance.now();
for (let i = 0; i < count; i++) {
  for (const size of sizes) {
    const seed = (base + i) >>> 0;
    const r = runSeed(seed, size, {
      verbose: values.verbose,
      safetyMs: values["safety-ms"] ? Number(values["safety-ms"]) : undefined,
      factory: core ? () => core : undefined,
      lateSnapshotRate,
    });
    if (!r.ok) {
      failed++;
      console.log(`FAIL seed=${seed} nodes=${size}\n${r.error}\nreproduce with: ${r.replay}`);
    } else if (count === 1 || values.verbose) {
      console.log(`ok seed=${seed} nodes=${size} ${JSON.stringify(r.stats)}`);
    }
  }
  if ((i + 1) % 100 === 0) {
    console.log(
      `${i + 1}/${count} seeds, ${failed} failed, ${
        ((performance.now() - started) / 1000).toFixed(1)
      }s`,
    );
  }
}
console.log(`${count * sizes.length} runs, ${failed} failed`);
Deno.exit(failed > 0 ? 1 : 0);
