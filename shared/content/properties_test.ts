import assert from "node:assert/strict";
import { parseProperties } from "./properties.ts";

function ok(text: string): Record<string, string> {
  const r = parseProperties(text);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return { ...r.value };
}

Deno.test("parseProperties follows java.util.Properties.load", () => {
  assert.deepEqual(ok("a=1\r\nb:2\rc 3\n"), { a: "1", b: "2", c: "3" });
  assert.deepEqual(ok("  key   =   value with  spaces  "), { key: "value with  spaces  " });
  assert.deepEqual(ok("k = = x"), { k: "= x" }); // one separator only
  assert.deepEqual(ok("a\\:b\\=c\\ d = v"), { "a:b=c d": "v" });
  assert.deepEqual(ok("empty\nalso=\n"), { empty: "", also: "" });
  assert.deepEqual(ok("t=\\t\\n\\r\\f\\\\\\q\\u00e9"), { t: "\t\n\r\f\\qé" });
  assert.deepEqual(ok("long=one, \\\n      two, \\\n      three"), { long: "one, two, three" });
  assert.deepEqual(ok("# comment \\\nnext=1\n! also a comment"), { next: "1" }); // comments never continue
  assert.deepEqual(ok("path=c:\\\\dir\\\\"), { path: "c:\\dir\\" }); // an even run of '\' does not continue
  assert.deepEqual(ok("k=a\\\n\nz=1"), { k: "a", z: "1" }); // a continuation into a blank line ends the value
  assert.deepEqual(ok(""), {});
  const proto = parseProperties("__proto__=1");
  assert.ok(
    proto.ok && Object.hasOwn(proto.value, "__proto__") && proto.value["__proto__"] === "1",
  );
});

Deno.test("parseProperties is strict where Java guesses, with positions", () => {
  const cases: [string, number, number, RegExp][] = [
    ["a=1\n  =2", 2, 3, /needs a key/],
    ["a=1\n:x", 2, 1, /needs a key/],
    ["x=\\u00G0", 1, 3, /four hex digits/],
    ["x=\\u00", 1, 3, /four hex digits/],
    ["a=1\nb=2\n  a = 3", 3, 3, /"a" is repeated \(first on line 1\)/],
    ["a=1\\", 1, 4, /no line follows/],
    ["a=1\\\n", 1, 4, /no line follows/],
  ];
  for (const [text, line, column, re] of cases) {
    const r = parseProperties(text);
    assert.equal(r.ok, false, JSON.stringify(text));
    if (r.ok) continue;
    assert.deepEqual([r.error.line, r.error.column], [line, column], JSON.stringify(text));
    assert.match(r.error.message, re);
  }
});
