import assert from "node:assert/strict";
import { PreparedCache } from "./body.ts";
import { ServedVersion } from "./serve_records.ts";

function version(key: string, v = 1): ServedVersion {
  return new ServedVersion({
    kind: "live",
    app: "a",
    env: "prod",
    key,
    version: v,
    contentType: "plaintext",
    fingerprint: "f".repeat(64),
    modRevision: v,
    sealed: false,
  });
}

Deno.test("PreparedCache: a version is kept from its second preparation, or at once when hot", () => {
  const c = new PreparedCache({ maxEntries: 8 });
  const a = version("a");
  const first = c.prepare(a, "raw a");
  assert.equal(first.text.includes('"raw":"raw a"'), true);
  assert.equal(c.get(a), undefined, "not kept the first time");
  const second = c.prepare(a, "raw a");
  assert.equal(c.get(a), second, "kept the second time");
  const pushed = version("p");
  const hot = c.prepare(pushed, "raw p", true);
  assert.equal(c.get(pushed), hot, "a hot version is kept at once");
  assert.equal(c.size, 2);
});

Deno.test("PreparedCache: a sweep of cold versions (each prepared once) keeps the hot ones", () => {
  const c = new PreparedCache({ maxEntries: 4 });
  const hot = [version("h1"), version("h2")];
  for (const v of hot) c.prepare(v, "x", true);
  for (let i = 0; i < 1_000; i++) c.prepare(version(`cold${i}`), "y");
  assert.equal(c.size, 2);
  for (const v of hot) assert.notEqual(c.get(v), undefined);
});

Deno.test("PreparedCache: a version forgotten (delete, clear) starts again from its first preparation", () => {
  const c = new PreparedCache({ maxEntries: 4 });
  const a = version("a");
  c.prepare(a, "x");
  c.delete(a);
  c.prepare(a, "x");
  assert.equal(c.get(a), undefined);
  c.clear();
  c.prepare(a, "x");
  assert.equal(c.get(a), undefined);
  c.prepare(a, "x");
  assert.notEqual(c.get(a), undefined);
});
