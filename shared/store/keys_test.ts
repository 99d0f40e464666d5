import assert from "node:assert/strict";
import { ancestorsOf, keyProblem, keyRuleBroken, MAX_KEY_LENGTH } from "./keys.ts";

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

Deno.test("keyRuleBroken() is the one rule: dot segments, control characters and UTF-8 size", () => {
  assert.match(keyRuleBroken("a/../b") ?? "", /"\." or "\.\." segments/);
  assert.match(keyRuleBroken("a/./b") ?? "", /"\." or "\.\." segments/);
  assert.match(keyRuleBroken("a/\u0001") ?? "", /control characters/);
  // 342 three-byte characters are 1,026 bytes but only 342 UTF-16 code units.
  assert.match(keyRuleBroken("✓".repeat(342)) ?? "", /at most 1024 bytes: current size is 1026/);
  assert.equal(keyRuleBroken("✓".repeat(341)), undefined);
  assert.equal(keyProblem("a/../b"), `Cannot use the key as ${keyRuleBroken("a/../b")}`);
});
