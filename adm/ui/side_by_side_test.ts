import assert from "node:assert/strict";
import { createTwoFilesPatch } from "diff";
import { allAdded, allRemoved, type Row, sideBySide } from "./side_by_side.ts";

/** The API's unified diff of two texts (npm:diff, 3 lines of context, as adm/elements/diff.ts). */
function unified(a: string, b: string): string {
  return createTwoFilesPatch("k@v1", "k@v2", a, b, "", "", { context: 3 });
}

/** Rows as short strings: "=3|3 text", "-2 text", "+2 text", "~2>2 old|new", "...N". */
function show(rows: readonly Row[]): string[] {
  return rows.map((r) => {
    switch (r.kind) {
      case "gap":
        return `...${r.lines}`;
      case "same":
        return `=${r.left!.line}|${r.right!.line} ${r.left!.text}`;
      case "del":
        return `-${r.left!.line} ${r.left!.text}`;
      case "add":
        return `+${r.right!.line} ${r.right!.text}`;
      case "change":
        return `~${r.left!.line}>${r.right!.line} ${r.left!.text}|${r.right!.text}`;
    }
  });
}

Deno.test("sideBySide pairs a changed line with its replacement and keeps context", () => {
  const a = '{\n  "pool": 5,\n  "host": "a"\n}\n';
  const b = '{\n  "pool": 8,\n  "host": "a"\n}\n';
  const s = sideBySide(unified(a, b));
  assert.deepEqual(show(s.rows), [
    "=1|1 {",
    '~2>2   "pool": 5,|  "pool": 8,',
    '=3|3   "host": "a"',
    "=4|4 }",
  ]);
  assert.equal(s.added, 1);
  assert.equal(s.removed, 1);
});

Deno.test("sideBySide shows lines left out between hunks as gaps, with their count", () => {
  const a = Array.from({ length: 30 }, (_, k) => `line ${k + 1}`).join("\n") + "\n";
  const b = a.replace("line 2\n", "line two\n").replace("line 25\n", "");
  const s = sideBySide(unified(a, b));
  const rows = show(s.rows);
  assert.equal(rows[0], "=1|1 line 1");
  assert.equal(rows[1], "~2>2 line 2|line two");
  assert.ok(rows.includes("...16"), rows.join("\n")); // lines 6..21 are not shown
  assert.ok(rows.includes("-25 line 25"), rows.join("\n"));
  assert.ok(rows.includes("=26|25 line 26"), rows.join("\n"));
  assert.equal(s.added, 1);
  assert.equal(s.removed, 2);
});

Deno.test("sideBySide reads content lines that look like diff headers as content", () => {
  const a = "--- a\n+++ b\n@@ -1 +1 @@\nkeep\n";
  const b = "--- a\n+++ c\n@@ -1 +1 @@\nkeep\n";
  const s = sideBySide(unified(a, b));
  assert.deepEqual(show(s.rows), [
    "=1|1 --- a",
    "~2>2 +++ b|+++ c",
    "=3|3 @@ -1 +1 @@",
    "=4|4 keep",
  ]);
});

Deno.test("sideBySide handles a missing final newline and an emptied text", () => {
  const s = sideBySide(unified("a\nb", "a\nc"));
  assert.deepEqual(show(s.rows), ["=1|1 a", "~2>2 b|c"]);
  const gone = sideBySide(unified("x\ny\n", ""));
  assert.deepEqual(show(gone.rows), ["-1 x", "-2 y"]);
  const born = sideBySide(unified("", "x\n"));
  assert.deepEqual(show(born.rows), ["+1 x"]);
});

Deno.test("sideBySide of equal texts has no rows", () => {
  assert.deepEqual(sideBySide(unified("same\n", "same\n")).rows, []);
});

Deno.test("sideBySide refuses a hunk whose body is shorter than its header says", () => {
  assert.throws(() => sideBySide("@@ -1,3 +1,3 @@\n a\n"), /hunk ends early/);
  assert.throws(() => sideBySide("@@ -1,1 +1,1 @@\n?a\n"), /not part of its hunk/);
});

Deno.test("allAdded numbers every line as new, without an empty last line", () => {
  assert.deepEqual(show(allAdded("a\nb\n").rows), ["+1 a", "+2 b"]);
  assert.equal(allAdded("a\nb\n").added, 2);
  assert.deepEqual(allAdded("").rows, []);
});

Deno.test("allRemoved numbers every line as removed", () => {
  assert.deepEqual(show(allRemoved("a\nb").rows), ["-1 a", "-2 b"]);
  assert.equal(allRemoved("a\nb").removed, 2);
});
