/**
 * `--help` and an unknown flag on the entrypoints `deno task db` and
 * `deno task bench`, run as the tasks run them: `--help` prints the usage on
 * stdout and exits 0; an unknown flag is one line on stderr that names it
 * and points to `--help`, with exit code 2 (never a stack trace or the whole
 * usage). `deno task sim` has its own in `tests/sim/cli_test.ts`.
 */

import assert from "node:assert/strict";
import { type RunResult, runToEnd } from "./support/procs.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Runs `deno run -A <main> ...args` from the repository root. */
function run(main: string, args: string[]): Promise<RunResult> {
  return runToEnd(Deno.execPath(), ["run", "-A", main, ...args], {
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    timeoutMs: 60_000,
  });
}

/** An unknown flag: exit 2, nothing on stdout, one stderr line naming it and `help`. */
function assertOneLine(
  r: RunResult,
  flag: string,
  help: string,
) {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  const line = lines[0]!;
  assert.ok(line.includes(flag), line);
  assert.ok(line.includes(help), line);
}

Deno.test("deno task db: --help prints every flag; an unknown flag is one line, exit 2", async () => {
  const help = await run("db/main.ts", ["--help"]);
  assert.equal(help.code, 0, help.stderr);
  for (const flag of ["--listen", "--peer-listen", "--dir", "--cluster", "--help"]) {
    assert.ok(help.stdout.includes(flag), `--help names ${flag}`);
  }
  assertOneLine(await run("db/main.ts", ["--bogus"]), "--bogus", "deno task db --help");
});

Deno.test("deno task bench: --help prints every benchmark; an unknown flag or name is one line, exit 2", async () => {
  for (const args of [["--help"], ["db", "--help"]]) {
    const help = await run("bench/cli.ts", args);
    assert.equal(help.code, 0, help.stderr);
    for (const name of ["raft", "db", "watch", "memory", "agent", "adm"]) {
      assert.match(help.stdout, new RegExp(`^  ${name} `, "m"), `${args.join(" ")} lists ${name}`);
    }
  }
  assertOneLine(await run("bench/cli.ts", ["db", "--bogus"]), "--bogus", "--help");
  assertOneLine(await run("bench/cli.ts", ["raft", "--bogus"]), "--bogus", "--help");
  // Values checked before any part runs.
  assertOneLine(
    await run("bench/cli.ts", ["agent", "--key-chars", "x"]),
    "--key-chars",
    "[0, 128]",
  );
  assertOneLine(await run("bench/cli.ts", ["agent", "--bodies", "nope"]), "--bodies", "config");
  assertOneLine(await run("bench/cli.ts", ["--bogus"]), "--bogus", "deno task bench --help");
});
