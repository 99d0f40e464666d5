/**
 * The SDK under Node ≥ 20: `deno bundle` turns `sdk/mod.ts` (with the
 * parsers' npm packages) into one ES module for the browser platform (so
 * no static import of a Node or Deno API can hide in it), and `node --test`
 * runs tests/sdk/node/sdk_node_suite.mjs against two real agents served
 * here on loopback (createAgent on a MemoryDb, over Deno.serve as
 * agent/main.ts does), with a control server to publish and stop an agent.
 * The test fails when any Node test fails.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { TestEnv } from "../../agent/_test_env.ts";
import { deadUrl, serve, serveAgent, type TestServer } from "../../sdk/_testing.ts";
import { runToEnd } from "../support/procs.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NODE_TEST = fileURLToPath(new URL("./node/sdk_node_suite.mjs", import.meta.url));

/** Runs `cmd args` in the repository root to its exit (bounded): its exit code and output. */
async function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs: number },
): Promise<{ code: number; out: string }> {
  const r = await runToEnd(cmd, args, { cwd: ROOT, ...opts });
  return { code: r.code, out: r.stdout + r.stderr };
}

/** Whether `node` ≥ 20 is on PATH. */
async function nodeMajor(): Promise<number> {
  try {
    const r = await run("node", ["--version"], { timeoutMs: 10_000 });
    return Number(/^v(\d+)/.exec(r.out.trim())?.[1] ?? 0);
  } catch {
    return 0;
  }
}

Deno.test("the SDK bundled by deno bundle passes its tests under Node against real agents", async () => {
  const major = await nodeMajor();
  assert.ok(
    major >= 20,
    `Cannot test the SDK under Node as node ≥ 20 must be on PATH: found ${major || "none"}`,
  );
  const tmp = await Deno.makeTempDir({ prefix: "cassem_sdk_node_" });
  const t = new TestEnv();
  const servers: TestServer[] = [];
  try {
    const bundle = `${tmp}/cassem_sdk.mjs`;
    const b = await run(
      Deno.execPath(),
      ["bundle", "--quiet", "--platform", "browser", "--format", "esm", "-o", bundle, "sdk/mod.ts"],
      { timeoutMs: 120_000 },
    );
    assert.equal(b.code, 0, `deno bundle failed: ${b.out}`);
    const text = await Deno.readTextFile(bundle);
    assert.ok(!/\bDeno\./.test(text), "the bundle uses no Deno API");
    assert.ok(
      !/^import .* from ["']node:/m.test(text),
      "the bundle imports no node: module statically",
    );

    const p = t.pub;
    await p.appEnv("shop", "prod");
    await p.appEnv("shop", "locked", "right");
    await p.publish("shop", "prod", "j", { version: 1, raw: '{"ms": 30}', contentType: "json" });
    await p.publish("shop", "prod", "y", { version: 1, raw: "a: [1, two]\n", contentType: "yaml" });
    await p.publish("shop", "prod", "t", {
      version: 1,
      raw: "[db]\nport = 5432\n",
      contentType: "toml",
    });
    await p.publish("shop", "prod", "i", {
      version: 1,
      raw: "[db]\nhost = h\n",
      contentType: "ini",
    });
    await p.publish("shop", "prod", "p", {
      version: 1,
      raw: "a.b = c\\u0041\n",
      contentType: "properties",
    });
    await p.publish("shop", "prod", "w", { version: 1, raw: "w1" });
    await p.publish("shop", "locked", "k", { version: 1, raw: "k1" });
    const agents = [await t.agent(), await t.agent()];
    for (const a of agents) servers.push(serveAgent(a));
    servers.push(serve(async (req) => {
      const path = new URL(req.url).pathname;
      const body = await req.json();
      if (path === "/publish") {
        const revision = await p.publish("shop", "prod", body.key, {
          version: body.version,
          raw: `${body.key}${body.version}`,
        });
        return Response.json({ revision });
      }
      if (path === "/stop-agent") {
        await agents[body.index]!.close();
        return Response.json({ ok: true });
      }
      return new Response("no such control", { status: 404 });
    }));
    const r = await run("node", ["--test", "--test-reporter=spec", NODE_TEST], {
      env: {
        CASSEM_SDK_BUNDLE: bundle,
        AGENT_URLS: `${servers[0]!.url},${servers[1]!.url}`,
        CONTROL_URL: servers[2]!.url,
        DEAD_URL: deadUrl(),
        CACHE_DIR: `${tmp}/cache`,
        NO_COLOR: "1",
      },
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, `node --test failed:\n${r.out}`);
    assert.match(r.out, /^\S* ?pass 5$/m, r.out);
    assert.match(r.out, /^\S* ?fail 0$/m, r.out);
  } finally {
    await t.close();
    for (const s of servers) await s.close();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
