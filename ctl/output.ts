/**
 * How commands print: aligned tables and `field: value` lines for people,
 * or one JSON document with `--json` for scripts (the server's answer, or
 * the command's own result, never mixed with other text on stdout).
 *
 * @module
 */

import type { CtlIo } from "./io.ts";

/** One column of a table: its heading and how to show a row's cell. */
export interface Column<T> {
  /** The heading (upper case by convention). */
  head: string;
  /** The cell text for `row`. */
  cell: (row: T) => string;
}

/** Prints for people or as JSON, as `--json` says. */
export class Output {
  /** Whether `--json` was given. */
  readonly json: boolean;
  readonly #io: CtlIo;

  /** An output on `io`'s stdout. */
  constructor(io: CtlIo, json: boolean) {
    this.#io = io;
    this.json = json;
  }

  /** Writes `line` and a newline (people's output only; ignored with `--json`). */
  line(line = ""): void {
    if (!this.json) this.#io.stdout(line + "\n");
  }

  /** Writes `text` exactly (raw content: `elements get --raw`). */
  raw(text: string): void {
    this.#io.stdout(text);
  }

  /** Writes `value` as JSON (with `--json`). */
  data(value: unknown): void {
    this.#io.stdout(JSON.stringify(value, null, 2) + "\n");
  }

  /**
   * Shows `rows`: as a table under `columns`, or, with `--json`, `json`
   * (default: the rows themselves). An empty table prints `empty`.
   */
  table<T>(
    rows: readonly T[],
    columns: Column<T>[],
    opts: { json?: unknown; empty?: string } = {},
  ) {
    if (this.json) return this.data(opts.json ?? rows);
    if (rows.length === 0) {
      if (opts.empty) this.line(opts.empty);
      return;
    }
    for (
      const l of formatTable(
        columns.map((c) => c.head),
        rows.map((r) => columns.map((c) => c.cell(r))),
      )
    ) {
      this.line(l);
    }
  }

  /** Shows `pairs` as aligned `name: value` lines, or `json` with `--json`. */
  fields(pairs: [string, string][], json: unknown): void {
    if (this.json) return this.data(json);
    const w = Math.max(...pairs.map(([k]) => k.length)) + 1;
    for (const [k, v] of pairs) this.line(`${(k + ":").padEnd(w)} ${v}`);
  }
}

/** The lines of a table: the headings, then each row, columns two spaces apart. */
export function formatTable(heads: string[], rows: string[][]): string[] {
  const clean = rows.map((r) => r.map((c) => c.replace(/[\r\n\t]+/g, " ")));
  const widths = heads.map((h, i) => Math.max(h.length, ...clean.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [fmt(heads), ...clean.map(fmt)];
}

/** A time as `2026-01-31 12:00:00Z` (the server's ISO 8601, shorter); "-" for none. */
export function time(iso: string | null | undefined): string {
  if (!iso) return "-";
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** `v` or "-" when it is null or undefined. */
export function dash(v: unknown): string {
  return v === null || v === undefined || v === "" ? "-" : String(v);
}
