/**
 * `deno task sim`: runs seeded simulations of the real raft driver outside
 * the test runner.
 *
 * @module
 */

import { FlagError } from "../../shared/flags.ts";
import { loadVariant } from "./broken_cores.ts";
import { HELP, parseSimArgs, type SimArgs } from "./cli_args.ts";
import { type RunOptions, runSeed } from "./swarm.ts";

/** Prints one line to stderr and exits with status 2. */
function usage(line: string): never {
  console.error(line);
  Deno.exit(2);
}

let args: SimArgs;
try {
  args = parseSimArgs(Deno.args);
} catch (e) {
  if (!(e instanceof FlagError)) throw e;
  usage(e.message);
}
if (args.help) {
  console.log(HELP);
  Deno.exit(0);
}
const { sizes, seeds: count, safetyMs, livenessMs, lateSnapshotRate } = args;
const values = { core: args.core, verbose: args.verbose };

let variant;
if (values.core) {
  try {
    variant = await loadVariant(values.core);
  } catch (e) {
    usage((e as Error).message);
  }
}
const base = args.base !== undefined
  ? args.base
  : Number(Deno.env.get("SIM_SEED") ?? crypto.getRandomValues(new Uint32Array(1))[0]);
console.log(
  `SEED=${base} seeds=${count} nodes=${sizes.join(",")}${
    values.core ? ` core=${values.core}` : ""
  }`,
);

const ro: RunOptions = {
  verbose: values.verbose,
  safetyMs,
  livenessMs,
  impl: variant?.impl,
  factory: variant?.factory ? () => variant.factory : undefined,
  core: values.core,
  lateSnapshotRate,
};
let failed = 0;
const started = performance.now();
for (let i = 0; i < count; i++) {
  for (const size of sizes) {
    const seed = (base + i) >>> 0;
    const r = await runSeed(seed, size, ro);
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
