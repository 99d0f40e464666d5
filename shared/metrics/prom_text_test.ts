import assert from "node:assert/strict";
import { createRegistry, prom } from "./registry.ts";
import { parsePrometheusText } from "./prom_text.ts";

Deno.test("parsePrometheusText reads samples, labels with escapes, types and special values", () => {
  const m = parsePrometheusText([
    "# HELP a_total A counter.",
    "# TYPE a_total counter",
    'a_total{route="/api/apps/:app",status="200"} 3',
    'a_total{route="/x",status="500",odd="q\\"uo\\\\te\\nnl"} 1 1700000000000',
    "# TYPE g gauge",
    "g -2.5e-3",
    'h_bucket{le="+Inf"} 4',
    "n NaN",
    "i +Inf",
    "",
  ].join("\n"));
  assert.equal(m.types.get("a_total"), "counter");
  assert.equal(m.types.get("g"), "gauge");
  assert.equal(m.value("a_total", { status: "200" }), 3);
  assert.equal(m.find("a_total", { status: "500" })[0]!.labels.odd, 'q"uo\\te\nnl');
  assert.equal(m.sum("a_total"), 4);
  assert.equal(m.sum("absent"), 0);
  assert.equal(m.value("g"), -0.0025);
  assert.equal(m.value("h_bucket", { le: "+Inf" }), 4);
  assert.ok(Number.isNaN(m.value("n")));
  assert.equal(m.value("i"), Infinity);
  assert.throws(() => m.value("a_total"), /exactly one sample must match: current count is 2/);
});

Deno.test("parsePrometheusText names the line it cannot parse", () => {
  assert.throws(() => parsePrometheusText("ok 1\nbad{x=1} 2"), /line 2 .*name="value"/);
  assert.throws(() => parsePrometheusText("v abc"), /line 1 .*must be a number/);
  assert.throws(() => parsePrometheusText('v{x="open} 1'), /line 1 .*not closed/);
});

Deno.test("parsePrometheusText reads what prom-client writes", async () => {
  const r = createRegistry();
  const c = new prom.Counter({ name: "c_total", help: "c", labelNames: ["k"], registers: [r] });
  const h = new prom.Histogram({ name: "h_seconds", help: "h", buckets: [0.1, 1], registers: [r] });
  c.inc({ k: 'a"b' }, 2);
  h.observe(0.5);
  h.observe(5);
  const m = parsePrometheusText(await r.metrics());
  assert.equal(m.value("c_total", { k: 'a"b' }), 2);
  assert.equal(m.types.get("h_seconds"), "histogram");
  assert.deepEqual(m.find("h_seconds_bucket").map((s) => [s.labels.le, s.value]), [
    ["0.1", 0],
    ["1", 1],
    ["+Inf", 2],
  ]);
  assert.equal(m.value("h_seconds_count"), 2);
  assert.equal(m.value("h_seconds_sum"), 5.5);
});
