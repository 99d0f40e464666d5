import assert from "node:assert/strict";
import { MAX_RAW_BYTES } from "../../shared/config/mod.ts";
import { InvalidContentError, PayloadTooLargeError } from "../errors.ts";
import { checkContent, MAX_NESTING, nestingDepth, toJsonValue } from "./content.ts";
import { compileSchema, schemaViolations } from "./json_schema.ts";

Deno.test("checkContent answers plain JSON data for structured types, the text for plaintext", () => {
  assert.deepEqual(checkContent("toml", "a = 1979-05-27T07:32:00Z\nb = inf\n", null, "f"), {
    a: "1979-05-27T07:32:00.000Z",
    b: "inf",
  });
  assert.deepEqual(checkContent("ini", "[s]\nk = v\n", null, "f"), { s: { k: "v" } });
  assert.equal(checkContent("plaintext", "  x\r\n", null, "f"), "  x\r\n");
});

Deno.test("checkContent refuses by size (413), syntax (422 line/column), depth and schema (422 paths)", () => {
  assert.throws(
    () => checkContent("plaintext", "x".repeat(MAX_RAW_BYTES + 1), null, "body.raw"),
    (e) => e instanceof PayloadTooLargeError && e.field === "body.raw",
  );
  assert.throws(
    () => checkContent("json", '{"a":\n  tru}', null, "body.raw"),
    (e) => e instanceof InvalidContentError && e.details?.line === 2 && e.details?.column === 6,
  );
  const deep = "[".repeat(MAX_NESTING + 1) + "]".repeat(MAX_NESTING + 1);
  assert.throws(() => checkContent("json", deep, null, "f"), /at most 64 levels/);
  const ok = "[".repeat(MAX_NESTING) + "]".repeat(MAX_NESTING);
  assert.doesNotThrow(() => checkContent("json", ok, null, "f"));
  assert.throws(
    () => checkContent("yaml", "port: x\n", { properties: { port: { type: "integer" } } }, "f"),
    (e) => e instanceof InvalidContentError && JSON.stringify(e.details?.paths) === '["/port"]',
  );
});

Deno.test("nestingDepth counts levels without recursion; toJsonValue keeps JSON as is", () => {
  assert.equal(nestingDepth(1), 0);
  assert.equal(nestingDepth({ a: [{}] }), 3);
  const big = JSON.parse("[".repeat(100_000) + "]".repeat(100_000));
  assert.ok(nestingDepth(big) > MAX_NESTING, "stops early, no stack overflow");
  const v = { a: [1, "x", null, true], b: { c: 1.5 } };
  assert.deepEqual(toJsonValue(v), v);
  assert.equal(toJsonValue(2n ** 70n), "1180591620717411303424");
});

Deno.test("JSON Schemas: compiled once per text, refused when invalid, violations as pointers", () => {
  const schema = { type: "object", required: ["a/b"], properties: { n: { type: "number" } } };
  assert.equal(compileSchema(schema), compileSchema(JSON.parse(JSON.stringify(schema))));
  assert.deepEqual(schemaViolations(schema, { n: "x" }).map((v) => v.path).sort(), ["/a~1b", "/n"]);
  assert.deepEqual(schemaViolations(schema, { "a/b": 1, n: 2 }), []);
  assert.throws(() => compileSchema({ type: 12 }), /not a valid JSON Schema/);
  assert.throws(() => compileSchema({ properties: { a: { minimum: "1" } } }), /not a valid/);
  // Two schemas with one $id do not collide.
  compileSchema({ $id: "https://x/s", type: "string" });
  assert.deepEqual(schemaViolations({ $id: "https://x/s", type: "number" }, 1), []);
});
