import assert from "node:assert/strict";
import { MAX_RAW_BYTES, MIME_TYPES, rawProblem } from "./content_types.ts";

Deno.test("rawProblem enforces the size cap and refuses control characters and lone surrogates", () => {
  assert.equal(rawProblem("a\tb\r\nc"), undefined);
  assert.equal(rawProblem("é".repeat(MAX_RAW_BYTES / 2)), undefined);
  const big = rawProblem("é".repeat(MAX_RAW_BYTES / 2 + 1));
  assert.equal(big?.kind, "too-large");
  assert.match(big!.message, /at most 98304 bytes of UTF-8: current size is 98306$/);
  const ctl = rawProblem("ok\nab\u0001");
  assert.deepEqual([
    ctl?.kind,
    ctl && "line" in ctl && ctl.line,
    ctl && "column" in ctl && ctl.column,
  ], [
    "bad-character",
    2,
    3,
  ]);
  assert.match(rawProblem("x\ud800y")!.message, /lone surrogate at line 1, column 2/);
  assert.equal(rawProblem("\ud83d\ude00"), undefined);
});

Deno.test("the worst-case raw still fits a record under cassemdb's value cap", () => {
  // Every character JSON escapes as two bytes: the record doubles the raw.
  const raw = '"'.repeat(MAX_RAW_BYTES);
  assert.equal(rawProblem(raw), undefined);
  assert.ok(new TextEncoder().encode(JSON.stringify({ raw })).byteLength < 200 * 1024);
  assert.equal(MIME_TYPES.yaml, "application/yaml");
});
