import assert from "node:assert/strict";
import { ancestorsOf, keyProblem, MAX_KEY_LENGTH } from "./keys.ts";

Deno.test("keyProblem() accepts slash-separated paths of non-empty segments", () => {
  for (const k of ["a", "a/b", "app/env/key.name", "x".repeat(MAX_KEY_LENGTH), "ü/✓"]) {
    assert.equal(keyProblem(k), undefined, k);
  }
});

Deno.test("keyProblem() rejects empty, too long, slash-edged and empty-segment keys", () => {
  for (const k of ["", "/a", "a/", "a//b", "/", "x".repeat(MAX_KEY_LENGTH + 1), 5, undefined]) {
    assert.match(keyProblem(k) ?? "", /^Cannot use the key as /, String(k));
  }
});

Deno.test("ancestorsOf() lists the proper prefixes before each slash, outermost first", () => {
  assert.deepEqual(ancestorsOf("a"), []);
  assert.deepEqual(ancestorsOf("a/b"), ["a"]);
  assert.deepEqual(ancestorsOf("a/b/c"), ["a", "a/b"]);
});
