import assert from "node:assert/strict";
import { parseContent } from "../../../shared/content/mod.ts";
import { isContentType, lineColumnOf, offsetOf, validateRaw } from "./validate.ts";

Deno.test("validateRaw gives the server parser's own verdict, with line and column", () => {
  const cases: [Parameters<typeof validateRaw>[0], string][] = [
    ["json", '{\n  "a": 1,\n}'],
    ["yaml", "a: 1\n  b: [\n"],
    ["toml", 'a = "x"\nb = \n'],
    ["ini", "[db\nhost=x\n"],
    ["properties", "a=1\n=2\n"],
  ];
  for (const [type, raw] of cases) {
    const v = validateRaw(type, raw);
    const server = parseContent(type, raw);
    assert.equal(server.ok, false, type);
    if (server.ok || v.ok) continue;
    assert.equal(v.message, server.error.message, type);
    assert.equal(v.line, server.error.line, type);
    assert.equal(v.column, server.error.column, type);
  }
  assert.deepEqual(validateRaw("json", '{"a": 1}'), { ok: true, message: "Valid json" });
  assert.equal(validateRaw("plaintext", "anything {").ok, true);
});

Deno.test("validateRaw applies the raw-text rule first (size, control characters)", () => {
  const ctl = validateRaw("plaintext", "ok\nbad\u0001");
  assert.equal(ctl.ok, false);
  if (!ctl.ok) {
    assert.match(ctl.message, /U\+0001 at line 2, column 4/);
    assert.equal(ctl.line, 2);
  }
  const big = validateRaw("plaintext", "x".repeat(96 * 1024 + 1));
  assert.equal(big.ok, false);
  if (!big.ok) {
    assert.match(big.message, /at most 98304 bytes/);
    assert.equal(big.line, undefined);
  }
});

Deno.test("offsetOf and lineColumnOf move between offsets and 1-based positions", () => {
  const text = "ab\ncde\n\nf";
  assert.equal(offsetOf(text, 1, 1), 0);
  assert.equal(offsetOf(text, 2, 3), 5);
  assert.equal(offsetOf(text, 2, 99), 6, "a column past the line's end is its end");
  assert.equal(offsetOf(text, 9, 1), text.length, "a line past the end is the end");
  for (let i = 0; i <= text.length; i++) {
    const { line, column } = lineColumnOf(text, i);
    assert.equal(offsetOf(text, line, column), i, `offset ${i}`);
  }
  assert.equal(isContentType("toml"), true);
  assert.equal(isContentType("xml"), false);
});
