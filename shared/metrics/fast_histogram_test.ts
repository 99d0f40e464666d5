import assert from "node:assert/strict";
import { FastHistogram } from "./fast_histogram.ts";
import { parsePrometheusText } from "./prom_text.ts";
import { createRegistry } from "./registry.ts";

Deno.test("FastHistogram renders cumulative buckets (a value on a bound counts in it), sum, count and its counter", async () => {
  const registry = createRegistry();
  const h = new FastHistogram(registry, {
    name: "t_seconds",
    help: "t",
    buckets: [0.1, 1],
    counter: { name: "t_total", help: "c" },
  });
  const a = h.series("a", () => ({ route: "/a" }));
  assert.equal(h.series("a", () => ({ route: "/wrong" })), a, "one series per key");
  for (const v of [0.05, 0.1, 0.5, 1, 7]) a.observe(v);
  h.series("b", () => ({ route: "/b" })).observe(0.2);
  const m = parsePrometheusText(await registry.metrics());
  assert.equal(m.types.get("t_seconds"), "histogram");
  assert.equal(m.types.get("t_total"), "counter");
  assert.deepEqual(
    m.find("t_seconds_bucket", { route: "/a" }).map((s) => [s.labels.le, s.value]),
    [["0.1", 2], ["1", 4], ["+Inf", 5]],
  );
  assert.equal(m.value("t_seconds_count", { route: "/a" }), 5);
  assert.equal(m.value("t_seconds_sum", { route: "/a" }), 8.65);
  assert.equal(m.value("t_total", { route: "/a" }), 5);
  assert.equal(m.value("t_total", { route: "/b" }), 1);
  assert.equal(m.value("t_seconds_bucket", { route: "/b", le: "0.1" }), 0);
});
