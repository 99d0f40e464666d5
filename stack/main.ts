/**
 * `deno task start`: runs cassemdb, cassemadm and cassemagent together on
 * one machine (`run_stack.ts`); `deno task start --help` for the flags.
 *
 * @module
 */

import { EXIT_USAGE, exitCodeOf } from "./errors.ts";
import { parseStackFlags, USAGE } from "./flags.ts";
import { runStack } from "./run_stack.ts";

let flags;
try {
  flags = parseStackFlags(Deno.args);
} catch (e) {
  if (exitCodeOf(e) === undefined) throw e;
  console.error((e as Error).message);
  Deno.exit(EXIT_USAGE);
}
if (flags === "help") {
  console.log(USAGE);
  Deno.exit(0);
}
try {
  Deno.exit(await runStack(flags));
} catch (e) {
  const code = exitCodeOf(e);
  if (code === undefined) throw e;
  console.error((e as Error).message);
  Deno.exit(code);
}
