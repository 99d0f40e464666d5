import assert from "node:assert/strict";
import { createTestAdm } from "../testing.ts";

Deno.test("the client script is bundled once with the server's parsers and revalidates by ETag", async () => {
  const t = await createTestAdm();
  const r = await t.app.request("http://adm.test/ui/client.js");
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("Content-Type"), "text/javascript; charset=utf-8");
  assert.equal(r.headers.get("Cache-Control"), "no-cache");
  const js = await r.text();
  // The parsers' own messages are in it (shared/content/json_locate.ts, properties.ts).
  assert.ok(js.includes("after a property value"), "the JSON locator is bundled");
  assert.ok(js.includes("Cannot parse raw as"), "parse_content.ts is bundled");
  assert.ok(js.includes('"ready"') || js.includes("'ready'"), "main.ts marks the page ready");
  assert.ok(!js.includes("Live checking is unavailable"), "not the fallback script");
  assert.ok(js.length < 400_000, `small enough: ${js.length} bytes (zod left out)`);
  const etag = r.headers.get("ETag")!;
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  const again = await t.app.request("http://adm.test/ui/client.js", {
    headers: { "If-None-Match": etag },
  });
  assert.equal(again.status, 304);
  await again.body?.cancel();
  const css = await t.app.request("http://adm.test/ui/style.css");
  assert.equal(css.status, 200);
  assert.match(await css.text(), /:focus-visible/);
  // Assets need no session; pages do.
  assert.equal((await t.app.request("http://adm.test/oplog", { redirect: "manual" })).status, 303);
});
