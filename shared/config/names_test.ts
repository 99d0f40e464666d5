import assert from "node:assert/strict";
import { keyRuleBroken } from "../store/keys.ts";
import {
  checkName,
  InvalidNameError,
  isName,
  NAME_PATTERNS,
  nameProblem,
  nameSchema,
} from "./names.ts";
import type { NameKind } from "./names.ts";

const KINDS = Object.keys(NAME_PATTERNS) as NameKind[];

Deno.test("nameProblem accepts the stated characters and lengths", () => {
  assert.equal(nameProblem("app", "a"), undefined);
  assert.equal(nameProblem("app", "billing-api.v2_x"), undefined);
  assert.equal(nameProblem("app", "a".repeat(64)), undefined);
  assert.equal(nameProblem("env", "prod"), undefined);
  assert.equal(nameProblem("element", "Db.Timeout_ms-1"), undefined);
  assert.equal(nameProblem("element", "K".repeat(128)), undefined);
  assert.equal(nameProblem("account", "alice@example.com"), undefined);
  assert.equal(nameProblem("client", "host-1:8080"), undefined);
});

Deno.test("nameProblem refuses what could escape a key segment or collide with reserved records", () => {
  const bad: [NameKind, unknown][] = [
    ["app", ""],
    ["app", "A"],
    ["app", "a".repeat(65)],
    ["app", "_app"],
    ["app", ".hidden"],
    ["app", "a/b"],
    ["app", "-x"],
    ["env", "_env"],
    ["env", "Prod"],
    ["element", "a/b"],
    ["element", "_x"],
    ["element", "..."],
    ["element", "k".repeat(129)],
    ["element", "a b"],
    ["account", "a/b"],
    ["client", "c\n"],
    ["agent", ""],
    ["app", 42],
    ["app", undefined],
  ];
  for (const [kind, v] of bad) {
    const p = nameProblem(kind, v);
    assert.ok(p, `${kind} ${JSON.stringify(v)} should be refused`);
    assert.equal(isName(kind, v), false);
  }
  assert.match(nameProblem("app", "A")!, /^an app id must be 1 to 64 .*: current value is "A"$/);
  assert.match(nameProblem("app", 42)!, /current type is number/);
});

Deno.test("every valid name of every kind is a valid cassemdb key segment", () => {
  const samples = ["a", "a.b", "a..b", "a-._", "0", "x".repeat(64)];
  for (const kind of KINDS) {
    for (const s of samples) {
      if (!isName(kind, s)) continue;
      assert.equal(keyRuleBroken(`cassem/${s}/x`), undefined, `${kind} ${s}`);
    }
  }
});

Deno.test("checkName throws InvalidNameError naming the field; nameSchema agrees with nameProblem", () => {
  assert.equal(checkName("app", "ok"), "ok");
  assert.throws(() => checkName("env", "BAD", "body.env"), (e: unknown) => {
    assert.ok(e instanceof InvalidNameError);
    assert.equal(e.field, "body.env");
    assert.match(e.message, /^Cannot use body\.env as an env name must be/);
    return true;
  });
  for (const kind of KINDS) {
    for (const v of ["ok", "BAD", "a/b", "", "x".repeat(200)]) {
      assert.equal(nameSchema(kind).safeParse(v).success, nameProblem(kind, v) === undefined);
    }
  }
});
