/**
 * `deno task sim` on its command line: `--help`, a flag it does not know,
 * and the "reproduce with" line, which must repeat every option that shapes
 * the run (parsed back and compared, and replayed).
 */

import assert from "node:assert/strict";
import { NOT_SHAPING, parseSimArgs, SIM_FLAGS, type SimArgs } from "./cli_args.ts";
import { replayCommand, type RunOptions } from "./swarm.ts";
import { type RunResult, runToEnd } from "../support/procs.ts";

const CLI = new URL("./cli.ts", import.meta.url).pathname;

/** Runs `deno task sim` with `args` (as the task does); returns its exit code and output. */
function sim(args: string[]): Promise<RunResult> {
  return runToEnd(Deno.execPath(), ["run", "-A", CLI, ...args], {
    env: { NO_COLOR: "1" },
    timeoutMs: 120_000,
  });
}

/** What of a parsed command line shapes a run of one seed. */
function shaping(a: SimArgs): Record<string, unknown> {
  return {
    base: a.base,
    sizes: a.sizes,
    core: a.core,
    lateSnapshotRate: a.lateSnapshotRate,
    safetyMs: a.safetyMs,
    livenessMs: a.livenessMs,
  };
}

/** The arguments of a "deno task sim ..." line. */
function argsOf(line: string): string[] {
  const prefix = "deno task sim ";
  assert.ok(line.startsWith(prefix), line);
  return line.slice(prefix.length).trim().split(/\s+/);
}

/** A command line that sets every flag that shapes a run, each away from its default. */
const EVERY_SHAPING_FLAG = [
  "--nodes",
  "5",
  "--seed",
  "4242",
  "--core",
  "rare-read",
  "--late-snapshots",
  "0.25",
  "--safety-ms",
  "1500",
  "--liveness-ms",
  "4000",
];

Deno.test("sim cli: --help prints the usage and exits 0", async () => {
  const r = await sim(["--help"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^deno task sim \[options\]/);
  for (const flag of Object.keys(SIM_FLAGS)) assert.match(r.stdout, new RegExp(`--${flag}\\b`));
  assert.equal(r.stderr, "");
});

Deno.test("sim cli: an unknown flag is one line naming it and pointing to --help, exit 2", async () => {
  const r = await sim(["--seeds", "1", "--bogus"]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /--bogus/);
  assert.match(lines[0]!, /deno task sim --help/);
});

Deno.test("sim cli: the replay line repeats every flag that shapes the run", () => {
  // The test's command line covers every shaping flag: a new one must be added here, and to
  // replayCommand, or this fails.
  const shapingFlags = Object.keys(SIM_FLAGS).filter((f) =>
    !NOT_SHAPING.includes(f as keyof typeof SIM_FLAGS)
  );
  for (const f of shapingFlags) {
    assert.ok(EVERY_SHAPING_FLAG.includes(`--${f}`), `the test sets --${f}`);
  }
  const given = parseSimArgs(EVERY_SHAPING_FLAG);
  const ro: RunOptions = {
    core: given.core,
    lateSnapshotRate: given.lateSnapshotRate,
    safetyMs: given.safetyMs,
    livenessMs: given.livenessMs,
  };
  const line = replayCommand(given.base!, given.sizes[0]!, ro);
  const back = parseSimArgs(argsOf(line));
  assert.deepEqual(shaping(back), shaping(given), line);
  for (const f of shapingFlags) assert.match(line, new RegExp(`--${f} `), line);
  // Defaults stay defaults.
  const plain = parseSimArgs(argsOf(replayCommand(7, 3)));
  assert.deepEqual(shaping(plain), shaping(parseSimArgs(["--seed", "7", "--nodes", "3"])));
});

Deno.test("sim cli: a failing run's reproduce line parses back to its options and replays the failure", async () => {
  const given = [
    "--nodes",
    "3",
    "--seed",
    "1",
    "--core",
    "unsynced",
    "--late-snapshots",
    "0.2",
    "--safety-ms",
    "900",
    "--liveness-ms",
    "2500",
  ];
  const first = await sim(given);
  assert.equal(first.code, 1, `${first.stdout}\n${first.stderr}`);
  const line = /^reproduce with: (.+)$/m.exec(first.stdout)?.[1];
  assert.ok(line, first.stdout.slice(-2000));
  assert.deepEqual(shaping(parseSimArgs(argsOf(line))), shaping(parseSimArgs(given)), line);
  const again = await sim(argsOf(line));
  assert.equal(again.code, 1);
  const failure = (s: string) => /^FAIL .*\n(.*)$/m.exec(s)?.slice(0, 2).join("\n");
  assert.ok(failure(first.stdout), first.stdout.slice(0, 2000));
  assert.equal(failure(again.stdout), failure(first.stdout));
});
