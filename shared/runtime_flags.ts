/**
 * The runtime flags cassemagent runs with, wherever it is started: `deno task
 * agent`, `deno task start` (the stack), the compiled `cassemagent` (`deno
 * task compile` builds them in), and the tests and benchmarks that start
 * agent processes. Here, not in agent/, so that the stack supervisor can
 * spell them without loading the agent. `deno.json` spells them too (JSON
 * cannot import this); `shared/runtime_flags_test.ts` checks that the two
 * agree.
 *
 * `--no-concurrent-sweeping`: V8 sweeps freed heap pages on the main thread
 * instead of on background threads. Measured with 100,000 cached 1 KiB
 * elements (`bench/README.md`): glibc reported 16 MiB less memory in use
 * after loading them (27 → 11 MiB), and the steady RSS went from 206–210 to
 * 187–192 MiB, with no higher peak; reads and push stayed within the spread
 * of earlier runs. The agent's heap is small and long-lived, so there is
 * little to sweep.
 *
 * @module
 */

/** The V8 flags, as `--v8-flags` takes them. */
export const AGENT_V8_FLAGS: readonly string[] = ["--no-concurrent-sweeping"];

/** The flags of `deno run` (and `deno compile`) that start an agent, before its script. */
export const AGENT_DENO_FLAGS: readonly string[] = [`--v8-flags=${AGENT_V8_FLAGS.join(",")}`];
