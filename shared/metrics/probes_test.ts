import assert from "node:assert/strict";
import { CachedCheck, probeRoutes, type ReadinessReport, reportOf } from "./probes.ts";
import { parsePrometheusText } from "./prom_text.ts";
import { createRegistry, readCounters, readGauges } from "./registry.ts";

Deno.test("CachedCheck runs the check at most once per maxAgeMs and shares a run", async () => {
  let now = 0;
  let runs = 0;
  let ready = true;
  let release: () => void = () => {};
  const check = new CachedCheck(async () => {
    runs++;
    await new Promise<void>((r) => (release = r));
    return reportOf({ db: ready ? "ok" : "unreachable" });
  }, { maxAgeMs: 1_000, clock: () => now });
  const both = [check.get(), check.get()];
  release();
  const [a, b] = await Promise.all(both);
  assert.equal(runs, 1);
  assert.deepEqual(a, { ready: true, checks: { db: "ok" } });
  assert.equal(a, b);
  now = 999;
  ready = false;
  assert.equal((await check.get()).ready, true, "cached for maxAgeMs");
  assert.equal(runs, 1);
  now = 1_000;
  const c = check.get();
  release();
  assert.deepEqual(await c, { ready: false, checks: { db: "unreachable" } });
  assert.equal(runs, 2);
});

Deno.test("CachedCheck: a check that throws is a report naming the error", async () => {
  const check = new CachedCheck(() => Promise.reject(new Error("no route to host")));
  assert.deepEqual(await check.get(), {
    ready: false,
    checks: { check: "the check failed: no route to host" },
  });
});

Deno.test("probeRoutes: /healthz 200, /readyz 200 or 503 with the checks, /metrics in the text format", async () => {
  const registry = createRegistry();
  let term = 3;
  readGauges(registry, [{ name: "t_term", help: "term", read: () => term }]);
  readCounters(registry, [
    { name: "t_sent_total", help: "sent", read: () => term * 10 },
    { name: "t_by_total", help: "by", label: "kind", read: () => new Map([["a", 1], ["b", 2]]) },
  ]);
  let report: ReadinessReport = reportOf({ leader: "ok", disk: "ok" });
  const app = probeRoutes({
    registry,
    readiness: new CachedCheck(() => Promise.resolve(report), { maxAgeMs: 0 }),
  });
  const health = await app.request("/healthz");
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { ok: true });
  let ready = await app.request("/readyz");
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ready: true, checks: { leader: "ok", disk: "ok" } });
  report = reportOf({ leader: "this node knows no leader", disk: "ok" });
  ready = await app.request("/readyz");
  assert.equal(ready.status, 503);
  assert.equal((await ready.json()).checks.leader, "this node knows no leader");
  const metrics = await app.request("/metrics");
  assert.match(metrics.headers.get("Content-Type")!, /^text\/plain; version=0\.0\.4/);
  term = 4;
  const m = parsePrometheusText(await metrics.text());
  assert.equal(m.value("t_term"), 3);
  assert.equal(m.types.get("t_sent_total"), "counter");
  assert.equal(m.value("t_sent_total"), 30);
  assert.equal(m.value("t_by_total", { kind: "b" }), 2);
  const again = parsePrometheusText(await (await app.request("/metrics")).text());
  assert.equal(again.value("t_term"), 4, "read at each scrape");
  assert.equal(again.value("t_sent_total"), 40);
  const none = probeRoutes({ readiness: new CachedCheck(() => Promise.resolve(report)) });
  assert.equal((await none.request("/metrics")).status, 404);
});
