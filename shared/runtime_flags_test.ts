import assert from "node:assert/strict";
import { AGENT_DENO_FLAGS, AGENT_V8_FLAGS } from "./runtime_flags.ts";

Deno.test("deno.json starts and compiles cassemagent with the agent's runtime flags", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  assert.deepEqual(AGENT_DENO_FLAGS, [`--v8-flags=${AGENT_V8_FLAGS.join(",")}`]);
  const flags = AGENT_DENO_FLAGS.join(" ");
  assert.equal(config.tasks.agent, `deno run -A ${flags} agent/main.ts`);
  const compile = config.tasks.compile!.split(" && ").find((c) => c.includes("cassemagent"));
  assert.ok(compile?.startsWith(`deno compile -A ${flags} `), String(compile));
});
