import assert from "node:assert/strict";
import { StackUsageError } from "./errors.ts";
import { parseStackFlags } from "./flags.ts";

Deno.test("parseStackFlags gives the defaults, and undefined for what the data dir remembers", () => {
  assert.deepEqual(parseStackFlags([]), {
    data: "./data",
    portBase: undefined,
    cluster: undefined,
    logLevel: "info",
    verbose: false,
  });
  assert.deepEqual(
    parseStackFlags(["--data", "d2", "--port-base", "8000", "--cluster", "3", "--verbose"]),
    { data: "d2", portBase: 8000, cluster: 3, logLevel: "info", verbose: true },
  );
  assert.equal(parseStackFlags(["--help"]), "help");
});

Deno.test("parseStackFlags refuses a mistake in one line naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [
      ["--bogus"],
      /^Cannot accept --bogus as it is not a flag of deno task start: see deno task start --help$/,
    ],
    [["--data"], /^Cannot accept --data as it needs a value/],
    [
      ["--cluster", "5"],
      /^Cannot accept --cluster as it must be an integer from 1 to 4: current value is "5"$/,
    ],
    [["--cluster", "x"], /^Cannot accept --cluster as .*current value is "x"$/],
    [
      ["--port-base", "65500"],
      /^Cannot accept --port-base as it must be an integer from 1 to 65453/,
    ],
    [["--log-level", "loud"], /^Cannot accept --log-level as .*current value is "loud"$/],
    [["stray"], /^Cannot accept stray as deno task start takes no such argument/],
  ];
  for (const [args, want] of cases) {
    assert.throws(() => parseStackFlags(args), (e) => {
      assert.ok(e instanceof StackUsageError, String(e));
      assert.match(e.message, want);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});
