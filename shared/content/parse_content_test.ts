import assert from "node:assert/strict";
import { CONTENT_TYPES } from "../config/mod.ts";
import type { ContentType } from "../config/mod.ts";
import { parseContent } from "./parse_content.ts";
import { locateJsonError } from "./json_locate.ts";

function bad(type: ContentType, raw: string): { line: number; column: number; message: string } {
  const r = parseContent(type, raw);
  assert.equal(r.ok, false, `${type} ${JSON.stringify(raw)} should not parse`);
  if (r.ok) throw new Error("unreachable");
  assert.match(
    r.error.message,
    new RegExp(`^Cannot parse raw as ${type}: .* at line \\d+, column \\d+$`),
  );
  return r.error;
}

Deno.test("parseContent parses good text of every type", () => {
  const good: Record<ContentType, [string, unknown]> = {
    json: ['{"a": [1, 2.5e3, "x\\u00e9"], "b": null}', { a: [1, 2500, "xé"], b: null }],
    yaml: ["a:\n  - 1\n  - two\nb: true\n", { a: [1, "two"], b: true }],
    toml: ['a = 1\n[s]\nb = "x"\n', { a: 1, s: { b: "x" } }],
    ini: ["; c\ntop = 1\n[s]\nb = x\nflag\n", { top: "1", s: { b: "x", flag: true } }],
    properties: ["# c\na=1\nb : two\\\n   three\nc\\ d x\\u0041\n", {
      a: "1",
      b: "twothree",
      "c d": "xA",
    }],
    plaintext: ["anything { at all", "anything { at all"],
  };
  for (const type of CONTENT_TYPES) {
    const [raw, want] = good[type];
    const r = parseContent(type, raw);
    assert.ok(r.ok, `${type}: ${JSON.stringify(r)}`);
    assert.deepEqual(JSON.parse(JSON.stringify(r.value)), want, type);
  }
});

Deno.test("parseContent names the line and column of bad content", () => {
  assert.deepEqual(
    { ...bad("json", '{\n  "a": 1,\n  "b": x\n}'), message: "" },
    { line: 3, column: 8, message: "" },
  );
  assert.deepEqual(bad("json", "[1, 2").line, 1);
  assert.equal(bad("json", "[1, 2").column, 6);
  assert.equal(bad("json", '{"a" 1}').column, 6);
  assert.equal(bad("json", "").column, 1);
  assert.equal(bad("json", "{}\n x").line, 2);
  assert.equal(bad("json", '{"a":1,}').column, 8);
  assert.equal(bad("json", '"a\tb"').column, 3);
  assert.equal(bad("json", "01").column, 2);
  const y = bad("yaml", "a: 1\nb: [1,\nc: 2\n");
  assert.ok(y.line >= 2, JSON.stringify(y));
  assert.equal(bad("yaml", "a: 1\na: 2\n").line, 2); // duplicate keys are refused
  const t = bad("toml", "a = 1\nb = \n");
  assert.deepEqual([t.line, t.column], [2, 5]);
  assert.equal(bad("toml", "a = 1\na = 2\n").line, 2);
  assert.deepEqual([bad("ini", "a=1\n[sec\nb=2").line, bad("ini", "a=1\n[sec\nb=2").column], [
    2,
    1,
  ]);
  assert.deepEqual([bad("ini", "a=1\n  = 2").line, bad("ini", "a=1\n  = 2").column], [2, 3]);
  const p = bad("properties", "a=1\nb=\\u12G4\n");
  assert.deepEqual([p.line, p.column], [2, 3]);
  assert.equal(bad("properties", "=x").line, 1);
  assert.match(bad("properties", "a=1\nb=2\na=3").message, /repeated \(first on line 1\)/);
  assert.equal(bad("properties", "a=1\nb=2\\").line, 2);
});

Deno.test("locateJsonError agrees with JSON.parse on what is JSON", () => {
  const samples = [
    "{}",
    "[]",
    "0",
    "-0",
    "1.5e-3",
    "1e+2",
    '"\\ud83d\\ude00"',
    "true",
    " null ",
    "[1,[2,[3]]]",
    "01",
    "1.",
    ".5",
    "+1",
    "1e",
    "[1,]",
    "{,}",
    '{"a"}',
    "tru",
    "nul",
    "'a'",
    '"\\x"',
    "[1 2]",
    '{"a":1 "b":2}',
    "\u00a0{}",
    "{}\u2028",
    "NaN",
    "Infinity",
    '"\u0000"',
    "[",
    "]",
    "1 2",
  ];
  for (const s of samples) {
    let valid = true;
    try {
      JSON.parse(s);
    } catch {
      valid = false;
    }
    assert.equal(locateJsonError(s) === undefined, valid, JSON.stringify(s));
  }
});
