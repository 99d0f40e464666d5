import assert from "node:assert/strict";
import { FlagError, parseFlags, toFlagError } from "./flags.ts";

const options = { n: { type: "string" }, quick: { type: "boolean", default: false } } as const;

Deno.test("parseFlags returns parseArgs' values for a good command line", () => {
  const { values } = parseFlags("prog", { args: ["--n", "3", "--quick"], strict: true, options });
  assert.equal(values.n, "3");
  assert.equal(values.quick, true);
});

Deno.test("parseFlags turns each command-line mistake into one FlagError line naming it", () => {
  for (
    const [args, flag, text] of [
      [["--nope"], "--nope", "Cannot accept --nope as it is not a flag of prog: see prog --help"],
      [["-x"], "-x", "Cannot accept -x as it is not a flag of prog: see prog --help"],
      [["--n"], "--n", "Cannot accept --n as it needs a value: see prog --help"],
      [["--quick=1"], "--quick", "Cannot accept --quick as it takes no value: see prog --help"],
      [["extra"], "extra", "Cannot accept extra as prog takes no such argument: see prog --help"],
    ] as const
  ) {
    assert.throws(
      () => parseFlags("prog", { args: [...args], strict: true, options }),
      (e) => e instanceof FlagError && e.flag === flag && e.message === text,
    );
  }
});

Deno.test("toFlagError leaves other errors alone", () => {
  assert.equal(toFlagError("prog", new Error("boom")), undefined);
  assert.equal(toFlagError("prog", "boom"), undefined);
});
