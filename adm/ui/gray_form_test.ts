import assert from "node:assert/strict";
import { describeRule, fieldsOf, grayRuleOf } from "./gray_form.ts";

Deno.test("grayRuleOf builds each kind of rule from the form's fields", () => {
  assert.deepEqual(grayRuleOf({ mode: "clients", clientIds: "web-1, web-2\nweb-3" }), {
    ok: true,
    rule: { kind: "clients", clientIds: ["web-1", "web-2", "web-3"] },
  });
  assert.deepEqual(grayRuleOf({ mode: "labels", labels: "region=eu, tier=canary" }), {
    ok: true,
    rule: { kind: "labels", selector: { region: "eu", tier: "canary" } },
  });
  assert.deepEqual(grayRuleOf({ mode: "percentage", percent: " 12.5 " }), {
    ok: true,
    rule: { kind: "percentage", percent: 12.5 },
  });
});

Deno.test("grayRuleOf names the field at fault and quotes its value", () => {
  const cases: [Parameters<typeof grayRuleOf>[0], string, RegExp][] = [
    [{ mode: "clients", clientIds: " , " }, "clientIds", /at least one client id/],
    [{ mode: "clients", clientIds: "a, a" }, "clientIds", /must not repeat a client id/],
    [{ mode: "clients", clientIds: "bad/id" }, "clientIds", /"bad\/id"/],
    [{ mode: "labels", labels: "region" }, "labels", /name=value.*"region"/],
    [{ mode: "labels", labels: "" }, "labels", /at least one label/],
    [{ mode: "percentage", percent: "" }, "percent", /must be a number/],
    [{ mode: "percentage", percent: "0" }, "percent", /current value is "0"/],
    [{ mode: "percentage", percent: "101" }, "percent", /current value is "101"/],
    [{ mode: "percentage", percent: "1.234" }, "percent", /two decimals/],
    [{ mode: "everyone" }, "mode", /clients, labels or percentage.*"everyone"/],
  ];
  for (const [fields, field, message] of cases) {
    const r = grayRuleOf(fields);
    assert.equal(r.ok, false, JSON.stringify(fields));
    if (r.ok) continue;
    assert.equal(r.field, field, JSON.stringify(fields));
    assert.match(r.message, message);
    assert.match(r.message, /^Cannot /);
  }
});

Deno.test("fieldsOf and describeRule give a rule back as fields and words", () => {
  const rule = { kind: "labels" as const, selector: { region: "eu", tier: "canary" } };
  assert.deepEqual(grayRuleOf(fieldsOf(rule)), { ok: true, rule });
  assert.equal(describeRule(rule), "clients labelled region=eu, tier=canary");
  assert.equal(describeRule({ kind: "clients", clientIds: ["a"] }), "client a");
  assert.match(describeRule({ kind: "percentage", percent: 5 }), /^5% of clients/);
});
