import assert from "node:assert/strict";
import {
  fnv1a32,
  GRAY_BUCKETS,
  grayApplies,
  grayBucket,
  GrayRuleSchema,
  parseLabels,
} from "./gray.ts";
import type { GrayRule } from "./gray.ts";

const EL = { app: "shop", env: "prod", key: "timeout" };

Deno.test("fnv1a32 is FNV-1a finished with fmix32 (fixed vectors the agent and SDK must match)", () => {
  const enc = new TextEncoder();
  // FNV-1a of "" is the offset basis 0x811c9dc5; fmix32 of it:
  let h = 0x811c9dc5;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  assert.equal(fnv1a32(new Uint8Array()), h >>> 0);
  // Pinned values: changing the hash would move every client between canary sets.
  assert.equal(
    grayBucket({ ...EL, clientId: "client-1" }),
    grayBucket({ ...EL, clientId: "client-1" }),
  );
  assert.deepEqual(
    ["a", "shop/prod/timeout/client-1"].map((s) => fnv1a32(enc.encode(s))),
    [PINNED_A, PINNED_CLIENT_1],
  );
});

// Computed independently (Python) from the definition: FNV-1a("a") is the known
// vector 0xe40c292c, then fmix32.
const PINNED_A = 444641715;
const PINNED_CLIENT_1 = 1905540408;

Deno.test("a percentage rule picks about that share of 10,000 clients, independently per element", () => {
  const ids = Array.from({ length: 10_000 }, (_, i) => `client-${i}`);
  for (const percent of [1, 10, 25, 50, 90]) {
    const rule: GrayRule = { kind: "percentage", percent };
    const n = ids.filter((clientId) => grayApplies(rule, { ...EL, clientId })).length;
    // Binomial sd at 10,000 draws is at most 50: allow 4 sd.
    assert.ok(Math.abs(n - percent * 100) <= 200, `${percent}%: ${n}`);
  }
  // Buckets spread evenly: each tenth of the range holds about a tenth of the clients.
  const deciles = new Array(10).fill(0);
  for (const clientId of ids) deciles[Math.floor(grayBucket({ ...EL, clientId }) / 1_000)]++;
  for (const d of deciles) assert.ok(Math.abs(d - 1_000) <= 130, `deciles ${deciles}`);
  // Another element's 10% is a different set: overlap about 10% of 10%.
  const inA = new Set(ids.filter((c) => grayBucket({ ...EL, clientId: c }) < 1_000));
  const inB = ids.filter((c) => grayBucket({ ...EL, key: "other", clientId: c }) < 1_000);
  const both = inB.filter((c) => inA.has(c)).length;
  assert.ok(both > 40 && both < 180, `overlap ${both}`);
  // Widening only adds clients.
  for (const c of ids.slice(0, 500)) {
    if (grayApplies({ kind: "percentage", percent: 5 }, { ...EL, clientId: c })) {
      assert.ok(grayApplies({ kind: "percentage", percent: 20 }, { ...EL, clientId: c }));
    }
  }
  assert.ok(
    ids.every((c) => grayApplies({ kind: "percentage", percent: 100 }, { ...EL, clientId: c })),
  );
  assert.ok(ids.every((c) => grayBucket({ ...EL, clientId: c }) < GRAY_BUCKETS));
});

Deno.test("client and label rules", () => {
  const clients: GrayRule = { kind: "clients", clientIds: ["a", "b"] };
  assert.equal(grayApplies(clients, { ...EL, clientId: "a" }), true);
  assert.equal(grayApplies(clients, { ...EL, clientId: "c" }), false);
  const labels: GrayRule = { kind: "labels", selector: parseLabels("region=eu, tier=canary") };
  assert.equal(
    grayApplies(labels, { ...EL, clientId: "x", labels: { region: "eu", tier: "canary", z: "1" } }),
    true,
  );
  assert.equal(grayApplies(labels, { ...EL, clientId: "x", labels: { region: "eu" } }), false);
  assert.equal(
    grayApplies(labels, { ...EL, clientId: "x", labels: { region: "us", tier: "canary" } }),
    false,
  );
  assert.equal(grayApplies(labels, { ...EL, clientId: "x" }), false);
  // An inherited property is no label.
  assert.equal(
    grayApplies({ kind: "labels", selector: { constructor: "" } }, {
      ...EL,
      clientId: "x",
      labels: {},
    }),
    false,
  );
});

Deno.test("GrayRuleSchema and parseLabels refuse malformed rules", () => {
  const bad = [
    { kind: "clients", clientIds: [] },
    { kind: "clients", clientIds: ["a", "a"] },
    { kind: "clients", clientIds: ["a/b"] },
    { kind: "clients", clientIds: Array.from({ length: 201 }, (_, i) => `c${i}`) },
    { kind: "labels", selector: {} },
    { kind: "labels", selector: { "bad key": "x" } },
    { kind: "percentage", percent: 0 },
    { kind: "percentage", percent: 100.5 },
    { kind: "percentage", percent: 12.345 },
    { kind: "percentage", percent: 10, extra: 1 },
    { kind: "everyone" },
  ];
  for (const r of bad) assert.equal(GrayRuleSchema.safeParse(r).success, false, JSON.stringify(r));
  assert.equal(GrayRuleSchema.safeParse({ kind: "percentage", percent: 12.34 }).success, true);
  assert.deepEqual(parseLabels(""), {});
  assert.throws(() => parseLabels("region"), /name=value.*current item is "region"/);
  assert.throws(() => parseLabels("a=1,a=2"), /repeats "a"/);
  assert.throws(() => parseLabels("a b=1"), TypeError);
});
