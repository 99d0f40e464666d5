/**
 * The SDK in a real browser on another origin: headless Chromium loads a
 * page from one loopback server (the app's origin) that imports the SDK
 * bundled by `deno bundle --platform browser`, and reads and watches
 * config from an agent on another port started with that origin in
 * `--cors-origins` (createAgent on a MemoryDb, served with its own `fetch`
 * as `agent/main.ts` does, fast path included). The page reads a JSON
 * element, watches it, and sees a publish arrive; a second agent without
 * CORS is refused by the browser, as it should be.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { TestEnv } from "../../agent/_test_env.ts";
import { serve, type TestServer } from "../../sdk/_testing.ts";
import { runToEnd, waitFor } from "../support/procs.ts";
import { launchChromium } from "./_chromium.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The page: reads `cfg` from AGENT, watches it, and writes what happened into #log. */
function page(agent: string, blocked: string): string {
  return `<!doctype html><meta charset="utf-8"><title>sdk</title><pre id="log"></pre>
<script type="module">
import { createClient } from "/sdk.mjs";
const log = (line) => { document.getElementById("log").textContent += line + "\\n"; };
try {
  const client = createClient({ agents: [${JSON.stringify(agent)}], app: "shop", env: "prod",
    clientId: "browser-1" });
  const el = await client.get("cfg");
  log("get " + el.version + " " + el.value.ms);
  client.watch(["cfg"], (u) => {
    for (const c of u.changed) log("watch " + c.version + " " + c.value.ms);
  });
} catch (e) { log("error " + e.message); }
try {
  const other = createClient({ agents: [${JSON.stringify(blocked)}], app: "shop", env: "prod",
    requestTimeoutMs: 3000 });
  await other.get("cfg");
  log("blocked agent answered");
} catch (e) { log("blocked refused"); log("blocked error " + e.name + ": " + e.message); }
</script>`;
}

Deno.test("the SDK in Chromium reads and watches an agent on another origin that allows it by --cors-origins", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "cassem_sdk_browser_" });
  const t = new TestEnv();
  const servers: TestServer[] = [];
  try {
    const bundle = `${tmp}/sdk.mjs`;
    const b = await runToEnd(
      Deno.execPath(),
      ["bundle", "--quiet", "--platform", "browser", "--format", "esm", "-o", bundle, "sdk/mod.ts"],
      { cwd: ROOT, timeoutMs: 120_000 },
    );
    assert.equal(b.code, 0, `deno bundle failed: ${b.stderr}`);
    const sdk = await Deno.readTextFile(bundle);

    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "cfg", {
      version: 1,
      raw: '{"ms": 30}',
      contentType: "json",
    });
    // The page's origin must be known before the agent starts: reserve the app server first.
    let html = "";
    const site = serve((req) => {
      const path = new URL(req.url).pathname;
      if (path === "/sdk.mjs") {
        return new Response(sdk, { headers: { "Content-Type": "text/javascript" } });
      }
      if (path === "/") return new Response(html, { headers: { "Content-Type": "text/html" } });
      return new Response("not found", { status: 404 });
    });
    servers.push(site);
    const open = await t.agent({ corsOrigins: [site.url] });
    const closed = await t.agent();
    const agentServer = serve((req, remoteAddr) => open.fetch(req, { remoteAddr }));
    const plainServer = serve((req, remoteAddr) => closed.fetch(req, { remoteAddr }));
    servers.push(agentServer, plainServer);
    html = page(agentServer.url, plainServer.url);

    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on("pageerror", (e) => errors.push(String(e)));
      await tab.goto(`${site.url}/`);
      const logText = () => tab.locator("#log").textContent();
      const waitLog = (re: RegExp) =>
        waitFor(
          `the page to log ${re}`,
          async () => re.test((await logText()) ?? "") || undefined,
          {
            timeoutMs: 30_000,
          },
        );
      await waitLog(/watch 1 30/);
      await t.pub.publish("shop", "prod", "cfg", {
        version: 2,
        raw: '{"ms": 45}',
        contentType: "json",
      });
      await waitLog(/watch 2 45/);
      await waitLog(/blocked (refused|answered)/);
      const lines = (await logText())!.trim().split("\n");
      assert.ok(lines.includes("get 1 30"), lines.join(" | "));
      assert.ok(lines.includes("blocked refused"), lines.join(" | "));
      // Refused by the browser for want of CORS (a network error on each attempt), not for
      // another reason such as a timeout or a wrong app.
      const why = lines.find((l) => l.startsWith("blocked error ")) ?? "";
      assert.match(why, /^blocked error UnavailableError: /, lines.join(" | "));
      assert.doesNotMatch(why, /timed out|404|403|401/i, why);
      // The same request from here: the closed agent answers, without allowing the origin.
      const direct = await fetch(`${plainServer.url}/v1/apps/shop/envs/prod/elements?keys=cfg`, {
        headers: { origin: site.url },
      });
      assert.equal(direct.status, 200);
      assert.equal(direct.headers.get("access-control-allow-origin"), null);
      await direct.body?.cancel();
      assert.ok(!lines.some((l) => l.startsWith("error")), lines.join(" | "));
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  } finally {
    for (const s of servers) await s.close();
    await t.close();
    await Deno.remove(tmp, { recursive: true });
  }
});
