/**
 * The command line of `deno task sim`, parsed into what a run needs: kept
 * apart from `cli.ts` so that a test can parse a "reproduce with" line back
 * and compare it with the options of the run that printed it.
 *
 * @module
 */

import { FlagError, parseFlags } from "../../shared/flags.ts";
import { BROKEN_VARIANTS } from "./broken_cores.ts";

/** The program name in messages. */
const PROGRAM = "deno task sim";

/** Every flag of `deno task sim` (the `parseArgs` options). */
export const SIM_FLAGS = {
  seed: { type: "string" },
  seeds: { type: "string", default: "1" },
  nodes: { type: "string" },
  verbose: { type: "boolean", default: false },
  "safety-ms": { type: "string" },
  "liveness-ms": { type: "string" },
  core: { type: "string" },
  "late-snapshots": { type: "string" },
  help: { type: "boolean", default: false },
} as const;

/**
 * Flags that do not change what a run of one seed does (how many seeds, what
 * is printed). Every other flag of {@linkcode SIM_FLAGS} shapes the run and
 * must be repeated by the "reproduce with" line.
 */
export const NOT_SHAPING: readonly (keyof typeof SIM_FLAGS)[] = ["seeds", "verbose", "help"];

/** The usage text of `deno task sim --help`. */
export const HELP = `deno task sim [options]: seeded simulations of the real raft driver (RaftNode)
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

/** A parsed `deno task sim` command line. */
export interface SimArgs {
  help: boolean;
  /** Seeds to run, from {@linkcode base} up. */
  seeds: number;
  /** The base seed, when given (else the caller draws one). */
  base: number | undefined;
  /** Cluster sizes to run each seed with. */
  sizes: number[];
  verbose: boolean;
  /** The broken variant's name, when given. */
  core: string | undefined;
  lateSnapshotRate: number;
  safetyMs: number | undefined;
  livenessMs: number | undefined;
}

/**
 * Parses `args` (without the program name).
 * @throws {FlagError} naming the flag, for an unknown flag, a missing value or a value out of range.
 */
export function parseSimArgs(args: string[]): SimArgs {
  const { values } = parseFlags(PROGRAM, { args, options: SIM_FLAGS, strict: true });
  if (values.help) {
    return {
      help: true,
      seeds: 1,
      base: undefined,
      sizes: [],
      verbose: false,
      core: undefined,
      lateSnapshotRate: 0,
      safetyMs: undefined,
      livenessMs: undefined,
    };
  }
  const lateSnapshotRate = numberFlag("late-snapshots", values["late-snapshots"], false) ?? 0;
  if (lateSnapshotRate >= 1) {
    throw new FlagError(
      "--late-snapshots",
      `it must be below 1: current value is ${lateSnapshotRate}`,
    );
  }
  const sizes = values.nodes ? [Number(values.nodes)] : [3, 5];
  for (const s of sizes) {
    if (s !== 3 && s !== 5) {
      throw new FlagError("--nodes", `it must be 3 or 5: current value is ${values.nodes}`);
    }
  }
  const seeds = numberFlag("seeds", values.seeds, true)!;
  if (seeds < 1) throw new FlagError("--seeds", "it must be at least 1: current value is 0");
  if (values.core !== undefined && !BROKEN_VARIANTS.some((v) => v.name === values.core)) {
    throw new FlagError(
      "--core",
      `it must be one of: ${
        BROKEN_VARIANTS.map((v) => v.name).join(", ")
      }: current value is ${values.core}`,
    );
  }
  return {
    help: false,
    seeds,
    base: numberFlag("seed", values.seed, true),
    sizes,
    verbose: values.verbose,
    core: values.core,
    lateSnapshotRate,
    safetyMs: numberFlag("safety-ms", values["safety-ms"], true),
    livenessMs: numberFlag("liveness-ms", values["liveness-ms"], true),
  };
}

/** A non-negative number flag, or undefined when absent. @throws {FlagError} */
function numberFlag(name: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new FlagError(
      `--${name}`,
      `it must be a non-negative ${integer ? "integer" : "number"}: current value is ${raw}`,
    );
  }
  return n;
}
