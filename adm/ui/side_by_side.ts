/**
 * A unified diff (as the API's diff route answers it, from npm:diff) laid
 * out side by side: rows of (old line, new line), with removed lines
 * paired with the added lines that replace them, and a gap row where lines
 * the diff leaves out lie between hunks. Pure.
 *
 * @module
 */

/** One side of a row: a line number and its text. */
export interface Cell {
  /** 1-based line number in that version. */
  readonly line: number;
  /** The line's text (without its line break). */
  readonly text: string;
}

/** One row of a side-by-side diff. */
export type Row =
  | {
    /** Same line on both sides, `del` only on the left, `add` only on the right, `change` both. */
    readonly kind: "same" | "del" | "add" | "change";
    /** The old version's line (absent for `add`). */
    readonly left: Cell | undefined;
    /** The new version's line (absent for `del`). */
    readonly right: Cell | undefined;
  }
  | {
    /** Unchanged lines the diff leaves out. */
    readonly kind: "gap";
    /** How many lines are left out (on the old side; `undefined` when the count is unknown). */
    readonly lines: number | undefined;
  };

/** A side-by-side diff, and what was counted while building it. */
export interface SideBySide {
  /** The rows, top to bottom. */
  readonly rows: readonly Row[];
  /** Lines only in the new version. */
  readonly added: number;
  /** Lines only in the old version. */
  readonly removed: number;
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/**
 * Lays out `unified` side by side. Lines before the first hunk (the
 * `===`, `---` and `+++` headers) and `\ No newline at end of file` marks
 * are skipped. Inside a hunk, lines are read by the counts of its header,
 * so a content line that itself starts with `@@` or `---` is read as
 * content.
 * @throws {TypeError} when a hunk's body does not match its header.
 */
export function sideBySide(unified: string): SideBySide {
  const lines = unified.split("\n");
  const rows: Row[] = [];
  let added = 0;
  let removed = 0;
  let i = 0;
  let nextOld = 1; // the first old line not yet shown
  while (i < lines.length) {
    const m = HUNK.exec(lines[i]!);
    i++;
    if (!m) continue;
    let oldLine = Number(m[1]);
    let newLine = Number(m[3]);
    let oldLeft = m[2] === undefined ? 1 : Number(m[2]);
    let newLeft = m[4] === undefined ? 1 : Number(m[4]);
    // An empty side's header names the line before it (`-0,0`, `-3,0`).
    if (oldLeft === 0) oldLine++;
    if (newLeft === 0) newLine++;
    if (oldLine > nextOld) rows.push({ kind: "gap", lines: oldLine - nextOld });
    let dels: Cell[] = [];
    let adds: Cell[] = [];
    const flush = () => {
      const n = Math.max(dels.length, adds.length);
      for (let k = 0; k < n; k++) {
        const left = dels[k];
        const right = adds[k];
        rows.push({ kind: left && right ? "change" : left ? "del" : "add", left, right });
      }
      dels = [];
      adds = [];
    };
    while (oldLeft > 0 || newLeft > 0) {
      if (i >= lines.length) {
        throw new TypeError(
          `Cannot lay out the diff as a hunk ends early: ${oldLeft} old and ${newLeft} new lines missing`,
        );
      }
      const l = lines[i]!;
      i++;
      const mark = l[0];
      const text = l.slice(1);
      if (mark === "\\") continue;
      if (mark === " " || (l === "" && oldLeft > 0 && newLeft > 0)) {
        flush();
        rows.push({
          kind: "same",
          left: { line: oldLine++, text },
          right: { line: newLine++, text },
        });
        oldLeft--;
        newLeft--;
      } else if (mark === "-" && oldLeft > 0) {
        dels.push({ line: oldLine++, text });
        oldLeft--;
        removed++;
      } else if (mark === "+" && newLeft > 0) {
        adds.push({ line: newLine++, text });
        newLeft--;
        added++;
      } else {
        throw new TypeError(
          `Cannot lay out the diff as line ${i} of it is not part of its hunk: ${
            JSON.stringify(l.slice(0, 40))
          }`,
        );
      }
    }
    flush();
    nextOld = oldLine;
  }
  return { rows, added, removed };
}

/**
 * Every line of `text` as added (the diff from nothing: a first publish).
 * A final line break does not make an empty last line.
 */
export function allAdded(text: string): SideBySide {
  if (text === "") return { rows: [], added: 0, removed: 0 };
  const lines = text.replace(/\r?\n$/, "").split("\n");
  return {
    rows: lines.map((t, k) => ({
      kind: "add" as const,
      left: undefined,
      right: { line: k + 1, text: t },
    })),
    added: lines.length,
    removed: 0,
  };
}

/** Every line of `text` as removed (the diff to nothing). */
export function allRemoved(text: string): SideBySide {
  const a = allAdded(text);
  return {
    rows: a.rows.map((r) => ({
      kind: "del" as const,
      left: r.kind === "gap" ? undefined : r.right,
      right: undefined,
    })),
    added: 0,
    removed: a.added,
  };
}
