/**
 * The HTTP contract every route shares: JSON errors with the right status
 * and field, request ids, Retry-After on 503, never a 500 for bad input and
 * never a stack trace.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createTestAdm } from "../../adm/testing.ts";

function assertError(
  r: { status: number; body: unknown },
  status: number,
  code: string,
  field?: string,
) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const e = (r.body as { error: Record<string, unknown> }).error;
  assert.equal(e.code, code, JSON.stringify(r.body));
  assert.equal(typeof e.message, "string");
  assert.match(e.message as string, /^Cannot /);
  assert.ok(!/\n\s+at /.test(e.message as string), "no stack trace");
  if (field !== undefined) assert.equal(e.field, field, JSON.stringify(r.body));
}

Deno.test("errors are JSON with code, message and field, mapped to the right status", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  assertError(await t.request("GET", "/api/nope"), 404, "not_found");
  assertError(
    await t.request("GET", "/api/apps/shop"),
    401,
    "unauthorized",
    "header.Authorization",
  );
  assertError(await t.request("GET", "/api/apps/shop", { token: "garbage" }), 401, "unauthorized");
  assertError(
    await t.request("GET", "/api/apps/shop", { headers: { Authorization: "Basic abc" } }),
    401,
    "unauthorized",
  );
  assertError(await t.request("GET", "/api/apps/shop", admin), 404, "not_found");
  assertError(
    await t.request("POST", "/api/apps/Shop", { ...admin, body: {} }),
    400,
    "invalid_request",
    "path.app",
  );
  assertError(
    await t.request("POST", "/api/apps/shop", { ...admin, body: "{nope" }),
    400,
    "invalid_request",
    "body",
  );
  assertError(
    await t.request("POST", "/api/apps/shop", { ...admin, body: { description: 5 } }),
    400,
    "invalid_request",
    "body.description",
  );
  assertError(
    await t.request("POST", "/api/apps/shop", { ...admin, body: { unknown: 1 } }),
    400,
    "invalid_request",
    "body.unknown",
  );
  assertError(
    await t.request("POST", "/api/apps/shop", {
      ...admin,
      body: "x",
      headers: { "Content-Type": "text/plain" },
    }),
    415,
    "unsupported_media_type",
    "header.Content-Type",
  );
  assertError(
    await t.request("GET", "/api/apps?limit=0", admin),
    400,
    "invalid_request",
    "query.limit",
  );
  assertError(
    await t.request("GET", "/api/apps?limit=abc", admin),
    400,
    "invalid_request",
    "query.limit",
  );
  await t.createTestApp("shop");
  assertError(await t.request("POST", "/api/apps/shop", { ...admin, body: {} }), 409, "conflict");
  assertError(
    await t.request("PUT", "/api/apps/shop", {
      ...admin,
      body: {},
      headers: { "If-Match": '"r1"' },
    }),
    412,
    "precondition_failed",
    "header.If-Match",
  );
  assertError(
    await t.request("PUT", "/api/apps/shop", {
      ...admin,
      body: {},
      headers: { "If-Match": "nonsense" },
    }),
    400,
    "invalid_request",
    "header.If-Match",
  );
});

Deno.test("a body over the limit is 413", async () => {
  const t = await createTestAdm({ config: { maxBodyBytes: 1024 } });
  const r = await t.request("POST", "/api/apps/shop", {
    token: t.adminToken,
    body: { description: "x".repeat(2000) },
  });
  assertError(r, 413, "payload_too_large", "body");
});

Deno.test("cassemdb unreachable is 503 with Retry-After; it recovers by itself", async () => {
  const t = await createTestAdm();
  await t.createTestApp("shop");
  t.db.failNext("unavailable", { times: 1 });
  const r = await t.request("GET", "/api/apps/shop", { token: t.adminToken });
  assertError(r, 503, "unavailable");
  assert.equal(r.headers.get("Retry-After"), "1");
  assert.equal((await t.request("GET", "/api/apps/shop", { token: t.adminToken })).status, 200);
  t.db.failNext("timeout-not-applied", { times: 1 });
  assertError(await t.request("GET", "/api/health"), 503, "unavailable");
});

Deno.test("X-Request-Id is echoed when sensible, else generated; errors carry it too", async () => {
  const t = await createTestAdm();
  const given = await t.request("GET", "/api/health", { headers: { "X-Request-Id": "abc-123" } });
  assert.equal(given.headers.get("X-Request-Id"), "abc-123");
  const made = await t.request("GET", "/api/health");
  assert.match(made.headers.get("X-Request-Id") ?? "", /^[0-9a-f]{32}$/);
  const odd = await t.request("GET", "/api/nope", { headers: { "X-Request-Id": "has spaces!" } });
  assert.match(odd.headers.get("X-Request-Id") ?? "", /^[0-9a-f]{32}$/);
  assert.equal(odd.status, 404);
});

Deno.test("an unexpected failure is a generic 500 whose cause is logged, not sent", async () => {
  const lines: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warn() {},
    error(msg: string, f?: Record<string, unknown>) {
      lines.push(`${msg} ${JSON.stringify(f)}`);
    },
  };
  const t = await createTestAdm({ logger });
  await t.createTestApp("shop");
  // A damaged record: not what any schema accepts.
  await t.db.set("cassem/apps/shop", "{not json", { overwrite: true });
  const r = await t.request("GET", "/api/apps/shop", {
    token: t.adminToken,
    headers: { "X-Request-Id": "req-9" },
  });
  assertError(r, 500, "internal");
  assert.ok(!JSON.stringify(r.body).includes("cassem/apps/shop"), "no internals in the body");
  assert.ok(
    lines.some((l) => l.includes("req-9") && l.includes("CorruptRecordError")),
    lines.join("\n"),
  );
});

Deno.test("the OpenAPI document is 3.1, parses, and lists every mounted route; /api/docs needs no network", async () => {
  const t = await createTestAdm();
  const r = await t.request("GET", "/api/openapi.json");
  assert.equal(r.status, 200);
  assert.equal(r.body.openapi, "3.1.0");
  const ops = Object.entries(r.body.paths as Record<string, Record<string, unknown>>)
    .flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
  // Every route Hono serves under /api appears in the document.
  const served = t.app.routes
    .filter((x) => x.path.startsWith("/api/") && x.method !== "ALL")
    .map((x) => `${x.method} ${x.path.replace(/:(\w+)/g, "{$1}")}`);
  for (const s of new Set(served)) assert.ok(ops.includes(s), `${s} is not in the document`);
  for (const o of ops) assert.ok(served.includes(o), `${o} is documented but not served`);
  const docs = await t.request("GET", "/api/docs");
  assert.equal(docs.status, 200);
  assert.match(docs.headers.get("Content-Type") ?? "", /text\/html/);
  assert.ok(!/(src|href)="https?:/.test(docs.body), "no external assets");
  assert.match(docs.body, /fetch\("\.\/openapi\.json"\)/);
});

Deno.test("passwords, tokens and client secrets never reach the logs", async () => {
  const lines: string[] = [];
  const sink = (msg: string, f?: Record<string, unknown>) =>
    lines.push(`${msg} ${JSON.stringify(f ?? {})}`);
  const t = await createTestAdm({
    logger: { debug: sink, info: sink, warn: sink, error: sink },
  });
  const admin = { token: t.adminToken };
  const secrets: string[] = [t.adminToken];
  await t.request("POST", "/api/users/bob", { ...admin, body: { password: "bobs-secret-pw" } });
  secrets.push("bobs-secret-pw");
  const login = await t.request("POST", "/api/account/login", {
    body: { account: "bob", password: "bobs-secret-pw" },
  });
  secrets.push(login.body.token);
  await t.request("POST", "/api/account/login", {
    body: { account: "bob", password: "a-wrong-guess" },
  });
  secrets.push("a-wrong-guess");
  await t.createTestApp("shop");
  const env = await t.request("POST", "/api/apps/shop/envs/prod", {
    ...admin,
    body: { clientSecret: true },
  });
  secrets.push(env.body.clientSecret);
  const tok = await t.request("POST", "/api/apps/shop/tokens", {
    ...admin,
    body: { name: "ci", role: "viewer" },
  });
  secrets.push(tok.body.token);
  await t.request("GET", "/api/apps/shop", { token: tok.body.token });
  await t.request("GET", "/api/apps/shop", { token: tok.body.token + "x" });
  assert.ok(lines.length >= 8, `only ${lines.length} log lines: the test would prove nothing`);
  for (const s of secrets) {
    // A token's id is no secret (it names the token in logs and lists); its 43-character secret part is.
    for (const part of [s, ...s.split(".").filter((p) => /^[A-Za-z0-9_-]{43}$/.test(p))]) {
      assert.ok(!lines.some((l) => l.includes(part)), `a log line holds a secret: ${part}`);
    }
  }
  // Nor the oplog.
  const log = JSON.stringify((await t.request("GET", "/api/oplog", admin)).body);
  for (const s of secrets) assert.ok(!log.includes(s));
});
