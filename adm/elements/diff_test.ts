import assert from "node:assert/strict";
import { structuralDiff, unifiedDiff } from "./diff.ts";

Deno.test("structuralDiff names added, removed and changed paths as JSON Pointers", () => {
  const d = structuralDiff(
    { a: 1, b: { c: [1, 2, 3], "x/y": true, "t~": 0 }, gone: null, kind: [1] },
    { a: 2, b: { c: [1, 5], "x/y": false, "t~": 0, n: {} }, kind: { 0: 1 } },
  );
  assert.deepEqual(d.added, [{ path: "/b/n", value: {} }]);
  assert.deepEqual(d.removed, [{ path: "/b/c/2", value: 3 }, { path: "/gone", value: null }]);
  assert.deepEqual(d.changed, [
    { path: "/a", base: 1, compare: 2 },
    { path: "/b/c/1", base: 2, compare: 5 },
    { path: "/b/x~1y", base: true, compare: false },
    { path: "/kind", base: [1], compare: { 0: 1 } },
  ]);
});

Deno.test("structuralDiff of equal values is empty; of different scalars at the root, one change at /", () => {
  assert.deepEqual(structuralDiff({ a: [1, { b: "x" }] }, { a: [1, { b: "x" }] }), {
    added: [],
    removed: [],
    changed: [],
  });
  assert.deepEqual(structuralDiff("a", "b").changed, [{ path: "/", base: "a", compare: "b" }]);
  assert.deepEqual(structuralDiff(null, 0).changed, [{ path: "/", base: null, compare: 0 }]);
});

Deno.test("unifiedDiff is a unified diff with the given names and context", () => {
  const text = unifiedDiff("k@v1", "k@v2", "a\nb\nc\n", "a\nB\nc\n");
  assert.match(text, /^--- k@v1/m);
  assert.match(text, /^\+\+\+ k@v2/m);
  assert.match(text, /^@@ -1,3 \+1,3 @@$/m);
  assert.match(text, /^-b$/m);
  assert.match(text, /^\+B$/m);
  assert.doesNotMatch(unifiedDiff("x", "y", "same\n", "same\n"), /^@@/m);
});
