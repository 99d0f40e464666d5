/**
 * cassemadm's /metrics, /healthz and /readyz on the in-memory db: each
 * counter equals what the test did; routes are labelled by pattern; a
 * cassemdb outage makes the copy unready (checked at most once a second).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createApp } from "../../adm/app.ts";
import { createTestAdm, TEST_PASSWORD, type TestAdm } from "../../adm/testing.ts";
import { appKey } from "../../shared/config/mod.ts";
import type { MemoryDb } from "../../shared/db/mod.ts";
import { parsePrometheusText, type Scrape } from "../../shared/metrics/mod.ts";

async function scrape(t: TestAdm): Promise<Scrape> {
  const r = await t.app.request("/metrics");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("Content-Type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await r.text());
}

Deno.test("adm /metrics: requests by route pattern and status, cassemdb calls, transactions", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  for (const app of ["shop", "bar", "baz"]) {
    assert.equal((await t.request("POST", `/api/apps/${app}`, { ...admin, body: {} })).status, 201);
  }
  for (let i = 0; i < 4; i++) {
    assert.equal((await t.request("GET", "/api/apps/shop", admin)).status, 200);
  }
  assert.equal((await t.request("GET", "/api/apps/nope", admin)).status, 404);
  assert.equal((await t.request("GET", "/api/apps/shop")).status, 401);
  assert.equal((await t.request("GET", "/api/no/such/route")).status, 404);
  const m = await scrape(t);
  const req = (method: string, route: string, status: string) =>
    m.sum("http_requests_total", { method, route, status });
  assert.equal(req("POST", "/api/apps/:app", "201"), 3);
  assert.equal(req("GET", "/api/apps/:app", "200"), 4);
  assert.equal(req("GET", "/api/apps/:app", "404"), 1);
  assert.equal(req("GET", "/api/apps/:app", "401"), 1);
  assert.equal(req("GET", "unmatched", "404"), 1);
  assert.ok(!m.samples.some((s) => /shop|nope|no\/such/.test(JSON.stringify(s.labels))));
  assert.equal(
    m.value("http_request_duration_seconds_count", {
      method: "GET",
      route: "/api/apps/:app",
      status: "200",
    }),
    4,
  );
  assert.equal(m.value("cassemadm_txns_total", { outcome: "committed" }), 3);
  assert.equal(m.sum("cassemadm_txn_conflicts_total"), 0);
  // Without a DbClient in front, createTestAdm's MemoryDb calls are not instrumented.
  assert.equal(m.sum("cassem_db_client_calls_total"), 0);
  assert.equal(m.value("http_requests_in_flight"), 1, "the scrape itself");
});

Deno.test("adm /metrics: transactions that lost a race, and one whose outcome stayed unknown", async () => {
  const t = await createTestAdm({ config: { unknownOutcomeWaitMs: 100 } });
  const admin = { token: t.adminToken };
  await t.createTestApp("shop");
  // Another writer (another adm copy) changes the app between the update's read and its commit.
  let interfere = true;
  const db = new Proxy(t.db, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (prop !== "commitTxn") return typeof v === "function" ? v.bind(target) : v;
      return async (...args: Parameters<MemoryDb["commitTxn"]>) => {
        if (interfere) {
          interfere = false;
          const { entity } = await target.get(appKey("shop"));
          await target.set(appKey("shop"), entity!.val, { overwrite: true });
        }
        return await target.commitTxn(...args);
      };
    },
  });
  const app = createApp({ ...t.deps, db, metrics: undefined });
  const put = await app.request("/api/apps/shop", {
    method: "PUT",
    headers: { Authorization: `Bearer ${t.adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ description: "d" }),
  });
  assert.equal(put.status, 200);
  let m = parsePrometheusText(await (await app.request("/metrics")).text());
  assert.equal(m.value("cassemadm_txn_conflicts_total"), 1);
  assert.equal(m.value("cassemadm_txns_total", { outcome: "committed" }), 1);
  t.db.failNext("timeout-not-applied", { method: "commitTxn" });
  const lost = await t.request("POST", "/api/apps/gone", { ...admin, body: {} });
  assert.equal(lost.status, 503);
  t.db.failNext("timeout-applied", { method: "commitTxn" });
  const found = await t.request("POST", "/api/apps/found", { ...admin, body: {} });
  assert.equal(found.status, 201);
  m = await scrape(t);
  assert.equal(m.value("cassemadm_txns_total", { outcome: "unknown" }), 1);
  // The app made by the harness, and the one found after the unknown outcome.
  assert.equal(m.value("cassemadm_txns_total", { outcome: "committed" }), 2);
  assert.equal(m.value("cassemadm_txn_conflicts_total"), 0);
});

Deno.test("adm /metrics: failed logins by reason", async () => {
  const t = await createTestAdm({ config: { loginAttempts: 3 } });
  const login = (password: string) =>
    t.request("POST", "/api/account/login", { body: { account: "admin", password } });
  assert.equal((await login("wrong-1")).status, 401);
  assert.equal((await login("wrong-2")).status, 401);
  assert.equal((await login(TEST_PASSWORD)).status, 200);
  assert.equal(
    (await t.request("POST", "/api/account/login", { body: { account: "admin" } })).status,
    400,
  );
  for (let i = 0; i < 3; i++) await login("wrong");
  assert.equal((await login("wrong")).status, 429);
  const m = await scrape(t);
  assert.equal(m.value("cassemadm_login_failures_total", { reason: "unauthorized" }), 5);
  assert.equal(m.value("cassemadm_login_failures_total", { reason: "rate_limited" }), 1);
  assert.equal(m.value("cassemadm_login_failures_total", { reason: "invalid" }), 1);
});

Deno.test("adm /healthz answers; /readyz follows cassemdb, checked at most once a second", async () => {
  const t = await createTestAdm();
  const health = await t.app.request("/healthz");
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { ok: true });
  const ready = await t.app.request("/readyz");
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ready: true, checks: { cassemdb: "ok" } });
  // Cached: an outage within the second is not seen yet.
  t.db.failNext("unavailable", { method: "get", times: 100 });
  assert.equal((await t.app.request("/readyz")).status, 200);
  t.advance(1_001); // adm's clock: the cached report is now a second old
  const down = await t.app.request("/readyz");
  assert.equal(down.status, 503);
  const body = await down.json();
  assert.equal(body.ready, false);
  assert.match(
    body.checks.cassemdb,
    /^cassemdb did not answer a linearizable read within 1000 ms: /,
  );
  // No credentials anywhere, and none of them is in the API document.
  const doc = await t.request("GET", "/api/openapi.json");
  assert.ok(!Object.keys(doc.body.paths).some((p) => /healthz|readyz|metrics/.test(p)));
});
