/**
 * `deno task sim`: runs seeded simulations of the real raft driver outside
 * the test runner.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BROKEN_VARIANTS, loadVariant } from "./broken_cores.ts";
import { type RunOptions, runSeed } from "./swarm.ts";

const HELP = `deno task sim [options]: seeded simulations of the real raft driver (RaftNode)
on simulated time, network and disks; every invariant is checked after every step.

  --seeds N            seeds to run (default 1), from the base seed up
  --seed N             the base seed (default: SIM_SEED, else random; printed first)
  --nodes 3|5          cluster size (default: both)
  --core NAME          run a deliberately broken variant instead of the real code:
                       ${BROKEN_VARIANTS.map((v) => v.name).join(", ")}
  --late-snapshots P   probability that a loaded snapshot is still answered "being loaded"
  --safety-ms MS       simulated ms of the fault phase (default 3000)
  --liveness-ms MS     bound on the healed phase (default 6000)
  --verbose            print the trace (and each run's summary)
  --help               this text

Examples:
  deno task sim --seeds 10000
  deno task sim --nodes 5 --seed 1234 --verbose      # replay one seed with its trace
  deno task sim --core acks-before-durable --seeds 50  # the checkers catch a broken driver
A failure prints the command that replays it with every option that shaped the run.`;

/** Prints one line to stderr and exits with status 2. */
function usage(line: string): never {
  console.error(line);
  Deno.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    args: Deno.args,
    options: {
      seed: { type: "string" },
      seeds: { type: "string", default: "1" },
      nodes: { type: "string" },
      verbose: { type: "boolean", default: false },
      "safety-ms": { type: "string" },
      "liveness-ms": { type: "string" },
      core: { type: "string" },
      "late-snapshots": { type: "string" },
      help: { type: "boolean", default: false },
    },
  }));
} catch (e) {
  const msg = (e as Error).message;
  const flag = (msg.match(/'([^']+)'/)?.[1] ?? msg).split(" ")[0];
  usage(
    /argument missing/.test(msg)
      ? `Cannot run the simulation as ${flag} needs a value: see deno task sim --help`
      : `Cannot run the simulation as ${flag} is not an option: see deno task sim --help`,
  );
}
if (values.help) {
  console.log(HELP);
  Deno.exit(0);
}

/** A non-negative number flag, or undefined when absent. */
function numberFlag(name: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    usage(
      `Cannot run the simulation as --${name} must be a non-negative ${
        integer ? "integer" : "number"
      }: current value is ${raw}`,
    );
  }
  return n;
}

const lateSnapshotRate = numberFlag("late-snapshots", values["late-snapshots"], false) ?? 0;
if (lateSnapshotRate >= 1) {
  usage(
    `Cannot run the simulation as --late-snapshots must be below 1: current value is ${lateSnapshotRate}`,
  );
}
const sizes = values.nodes ? [Number(values.nodes)] : [3, 5];
for (const s of sizes) {
  if (s !== 3 && s !== 5) usage(`Cannot simulate ${values.nodes} nodes as --nodes must be 3 or 5`);
}
const count = numberFlag("seeds", values.seeds, true)!;
if (count < 1) usage(`Cannot run the simulation as --seeds must be at least 1: current value is 0`);
const safetyMs = numberFlag("safety-ms", values["safety-ms"], true);
const livenessMs = numberFlag("liveness-ms", values["liveness-ms"], true);

let variant;
if (values.core) {
  try {
    variant = await loadVariant(values.core);
  } catch (e) {
    usage((e as Error).message);
  }
}
const base = values.seed !== undefined
  ? numberFlag("seed", values.seed, true)!
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
