import assert from "node:assert/strict";
import { Hono } from "hono";
import { HttpMetrics, httpMetrics, methodLabel, UNMATCHED_ROUTE } from "./http.ts";
import { parsePrometheusText } from "./prom_text.ts";
import { createRegistry } from "./registry.ts";

function app() {
  const registry = createRegistry();
  const metrics = new HttpMetrics(registry);
  const a = new Hono();
  a.use("*", httpMetrics(metrics));
  // A middleware that refuses before the handler (as a body limit does).
  a.use("/api/*", async (c, next) => {
    if (c.req.header("x-big")) return c.json({ error: "too big" }, 413);
    await next();
    return undefined;
  });
  const api = new Hono();
  api.get("/apps/:app", (c) => c.json({ app: c.req.param("app") }));
  api.post("/apps/:app", () => {
    throw new Error("boom");
  });
  a.route("/api", api);
  a.get("/slow", async (c) => {
    const inFlight = parsePrometheusText(await registry.metrics()).value("http_requests_in_flight");
    return c.json({ inFlight });
  });
  // Middleware mounted after every route, at the root (as the dashboard's is).
  a.use("*", async (_, next) => await next());
  a.onError((_, c) => c.json({ error: "x" }, 500));
  return { a, registry };
}

Deno.test("httpMetrics counts and times requests by method, route pattern and status", async () => {
  const { a, registry } = app();
  for (const name of ["shop", "bar", "x".repeat(50)]) await a.request(`/api/apps/${name}`);
  await a.request("/api/apps/shop", { method: "POST" });
  await a.request("/api/nope/1");
  await a.request("/nothing/at/all");
  await a.request("/api/apps/shop", { method: "PROPFIND" });
  await a.request("/api/apps/big", { method: "POST", headers: { "x-big": "1" } });
  const m = parsePrometheusText(await registry.metrics());
  assert.equal(m.types.get("http_requests_total"), "counter");
  assert.equal(m.types.get("http_request_duration_seconds"), "histogram");
  const get = { method: "GET", route: "/api/apps/:app", status: "200" };
  assert.equal(m.value("http_requests_total", get), 3);
  assert.equal(m.value("http_request_duration_seconds_count", get), 3);
  assert.ok(m.value("http_request_duration_seconds_sum", get) > 0);
  assert.equal(
    m.value("http_requests_total", { method: "POST", route: "/api/apps/:app", status: "500" }),
    1,
  );
  // Raw paths never become labels: two unmatched paths share one series.
  assert.equal(
    m.value("http_requests_total", { method: "GET", route: UNMATCHED_ROUTE, status: "404" }),
    2,
  );
  assert.equal(m.value("http_requests_total", { method: "OTHER" }), 1);
  // Refused by a middleware: the route it was for.
  assert.equal(
    m.value("http_requests_total", { method: "POST", route: "/api/apps/:app", status: "413" }),
    1,
  );
  assert.ok(!m.samples.some((s) => /shop|bar|nope/.test(JSON.stringify(s.labels))));
  assert.equal(m.sum("http_requests_total"), 8);
});

Deno.test("httpMetrics: a request is in flight while it is handled, and not after", async () => {
  const { a, registry } = app();
  const r = await a.request("/slow");
  assert.equal((await r.json()).inFlight, 1);
  assert.equal(parsePrometheusText(await registry.metrics()).value("http_requests_in_flight"), 0);
});

Deno.test("methodLabel keeps the standard methods only", () => {
  assert.equal(methodLabel("DELETE"), "DELETE");
  assert.equal(methodLabel("BREW"), "OTHER");
});
