import assert from "node:assert/strict";
import { MemoryDb } from "../shared/db/mod.ts";
import { createLogger } from "../shared/log.ts";
import { parsePrometheusText, type Scrape } from "../shared/metrics/mod.ts";
import { createAgent } from "./app.ts";
import { type Agent } from "./app.ts";
import { TestEnv } from "./_test_env.ts";

const E = "/v1/apps/shop/envs/prod";

async function scrape(a: Agent): Promise<Scrape> {
  const r = await a.request("/metrics");
  assert.equal(r.status, 200);
  return parsePrometheusText(await r.text());
}

Deno.test("agent /metrics: reads by route pattern (fast path and router alike), cache, subscribers, pushes", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 1, raw: "A1" });
    await t.pub.publish("shop", "prod", "b", { version: 1, raw: "B1" });
    const a = await t.agent();
    for (let i = 0; i < 5; i++) {
      assert.equal((await a.request(`${E}/elements?keys=a,b`)).status, 200);
    }
    // Through the router: a query the fast path does not take.
    assert.equal((await a.request(`${E}/elements?keys=a&x=1`)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await a.request(`${E}/elements/a/raw`)).status, 200);
    assert.equal((await a.request(`/v1/apps/shop/envs/nope/elements?keys=a`)).status, 404);
    assert.equal((await a.request("/no/such/route")).status, 404);
    const s1 = await t.watch(a, `${E}/watch?keys=a`, { "x-cassem-client-id": "c1" });
    const s2 = await t.watch(a, `${E}/watch?keys=a,b`, { "x-cassem-client-id": "c2" });
    for (const s of [s1, s2]) {
      while ((await s.next())?.event !== "ready") { /* the initial state */ }
    }
    await t.pub.publish("shop", "prod", "a", { version: 2, raw: "A2" });
    await t.pub.publish("shop", "prod", "b", { version: 2, raw: "B2" });
    assert.equal(JSON.parse((await s1.next())!.data).raw, "A2");
    assert.equal(JSON.parse((await s2.next())!.data).raw, "A2");
    assert.equal(JSON.parse((await s2.next())!.data).raw, "B2");

    const m = await scrape(a);
    const req = (route: string, status: string) =>
      m.sum("http_requests_total", { method: "GET", route, status });
    assert.equal(req("/v1/apps/:app/envs/:env/elements", "200"), 6);
    assert.equal(req("/v1/apps/:app/envs/:env/elements/:key/raw", "200"), 3);
    assert.equal(req("/v1/apps/:app/envs/:env/elements", "404"), 1);
    assert.equal(req("unmatched", "404"), 1);
    assert.equal(req("/v1/apps/:app/envs/:env/watch", "200"), 2);
    assert.ok(!m.samples.some((s) => /shop|prod|nope/.test(JSON.stringify(s.labels))));
    // Two revisions: the first concerns both subscribers, the second one.
    assert.equal(m.value("cassemagent_pushes_total"), 3);
    assert.equal(m.value("cassemagent_push_latency_seconds_count"), 2);
    assert.equal(m.value("cassemagent_subscribers"), 2);
    assert.equal(m.value("cassemagent_loaded"), 1);
    assert.equal(m.value("cassemagent_stale"), 0);
    assert.equal(m.value("cassemagent_elements"), 2);
    assert.equal(m.value("cassemagent_revision"), a.core.state.revision);
    const cache = a.core.cache.stats();
    assert.ok(cache.hits > 0, "reads were served from the cache");
    assert.equal(m.value("cassemagent_cache_hits_total"), cache.hits);
    assert.equal(m.value("cassemagent_cache_misses_total"), cache.misses);
    assert.equal(m.value("cassemagent_cache_evictions_total"), cache.evictions);
    assert.equal(m.value("cassemagent_cache_entries"), cache.entries);
  } finally {
    await t.close();
  }
});

Deno.test("agent /readyz: 503 until the served data is loaded, then 200; /healthz 200", async () => {
  const db = new MemoryDb();
  db.failNext("unavailable", { method: "range", times: 3 });
  const a = createAgent({
    db,
    agentId: "a1",
    log: createLogger("a1", "error", { write: () => {} }),
    probeMs: 20,
  });
  try {
    assert.equal((await a.request("/healthz")).status, 200);
    const before = await a.request("/readyz");
    assert.equal(before.status, 503);
    const body = await before.json();
    assert.equal(body.ready, false);
    assert.match(body.checks.loaded, /^the first listing of cassemdb is not loaded yet/);
    await a.ready;
    const after = await a.request("/readyz");
    assert.equal(after.status, 200);
    const ok = await after.json();
    assert.deepEqual(ok.checks, { loaded: "ok" });
    assert.equal(ok.info.revision, String(a.core.state.revision));
  } finally {
    await a.close();
    db.close();
  }
});
