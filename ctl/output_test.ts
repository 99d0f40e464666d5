import assert from "node:assert/strict";
import { formatTable, time } from "./output.ts";

Deno.test("formatTable aligns columns two spaces apart, without trailing blanks or line breaks in cells", () => {
  assert.deepEqual(formatTable(["A", "LONGER", "C"], [["x", "y", ""], ["long\nvalue", "z", "w"]]), [
    "A           LONGER  C",
    "x           y",
    "long value  z       w",
  ]);
});

Deno.test("time shortens ISO 8601, and shows - for none", () => {
  assert.equal(time("2026-01-31T12:00:00.123Z"), "2026-01-31 12:00:00Z");
  assert.equal(time(null), "-");
});
