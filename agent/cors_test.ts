import assert from "node:assert/strict";
import { parseFlags } from "./flags.ts";
import { TestEnv } from "./_test_env.ts";

const E = "/v1/apps/shop/envs/prod";
const ORIGIN = "https://app.example.com";

Deno.test("CORS: off by default; with --cors-origins, preflights, answers and errors carry it for the named origins only", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 1, raw: "A1" });
    const plain = await t.agent();
    const off = await plain.request(`${E}/elements?keys=a`, { headers: { Origin: ORIGIN } });
    assert.equal(off.status, 200);
    assert.equal(off.headers.get("access-control-allow-origin"), null, "off unless configured");
    await off.body?.cancel();

    const a = await t.agent({ corsOrigins: [ORIGIN] });
    const pre = await a.request(`${E}/watch?keys=a`, {
      method: "OPTIONS",
      headers: {
        Origin: ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-cassem-client-id, x-cassem-secret, last-event-id",
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), ORIGIN);
    const allowed = pre.headers.get("access-control-allow-headers")!.toLowerCase();
    for (const h of ["x-cassem-client-id", "x-cassem-secret", "x-cassem-labels", "last-event-id"]) {
      assert.ok(allowed.includes(h), `${h} allowed: ${allowed}`);
    }
    await pre.body?.cancel();

    // Reads (the routed path, not the fast one) carry it, and expose the revision.
    for (const path of [`${E}/elements?keys=a`, `${E}/elements/a/raw`]) {
      // Twice: the second read would be a fast-path hit without an Origin.
      for (let i = 0; i < 2; i++) {
        const r = await a.request(path, { headers: { Origin: ORIGIN } });
        assert.equal(r.status, 200, path);
        assert.equal(r.headers.get("access-control-allow-origin"), ORIGIN, path);
        assert.match(r.headers.get("access-control-expose-headers")!, /X-Cassem-Revision/i);
        assert.match(r.headers.get("access-control-expose-headers")!, /X-Cassem-Gray/i);
        await r.body?.cancel();
      }
    }
    // The push stream too (SSE read with fetch, as the SDK does).
    const stream = await a.request(`${E}/watch?keys=a`, {
      headers: { Origin: ORIGIN, "X-Cassem-Client-Id": "browser-1" },
    });
    assert.equal(stream.status, 200);
    assert.equal(stream.headers.get("access-control-allow-origin"), ORIGIN);
    await stream.body?.cancel();
    // An error answer too, so the page can read why.
    const missing = await a.request("/v1/apps/nope/envs/prod/elements?keys=a", {
      headers: { Origin: ORIGIN },
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("access-control-allow-origin"), ORIGIN);
    await missing.body?.cancel();
    // Another origin gets nothing it could use.
    const other = await a.request(`${E}/elements?keys=a`, {
      headers: { Origin: "https://evil.example" },
    });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    await other.body?.cancel();
    // Without an Origin (curl, the SDK on a server) the answer is unchanged.
    const server = await a.request(`${E}/elements?keys=a`);
    assert.equal(server.status, 200);
    assert.equal(server.headers.get("access-control-allow-origin"), null);
    await server.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("--cors-origins takes * alone or origins, and names itself when wrong", () => {
  const ok = parseFlags(["--cors-origins", "https://a.example, http://localhost:5173"]);
  assert.ok(ok !== "help");
  assert.deepEqual(ok.corsOrigins, ["https://a.example", "http://localhost:5173"]);
  const any = parseFlags(["--cors-origins", "*"]);
  assert.ok(any !== "help");
  assert.deepEqual(any.corsOrigins, ["*"]);
  const none = parseFlags([]);
  assert.ok(none !== "help");
  assert.deepEqual(none.corsOrigins, []);
  for (const bad of ["https://a.example/path", "a.example", "*,https://a.example", "ftp://x"]) {
    assert.throws(
      () => parseFlags(["--cors-origins", bad]),
      /^FlagError: Cannot start cassemagent as --cors-origins must be \* alone or origins/,
      bad,
    );
  }
});
