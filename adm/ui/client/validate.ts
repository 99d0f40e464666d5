/**
 * What the dashboard's editor checks as the user types, with the server's
 * own rules: {@linkcode rawProblem} (size and characters) and
 * {@linkcode parseContent} (the content type's parser), imported from
 * `shared/content` and bundled for the browser, so a text the editor accepts
 * is one the server accepts (a JSON Schema is checked by the server only).
 * Pure: no DOM, unit-tested in Deno.
 *
 * @module
 */

import {
  CONTENT_TYPES,
  type ContentType,
  rawProblem,
} from "../../../shared/config/content_rules.ts";
import { parseContent } from "../../../shared/content/parse_content.ts";

/** The outcome of {@linkcode validateRaw}. */
export type Validation =
  | { readonly ok: true; readonly message: string }
  | {
    readonly ok: false;
    readonly message: string;
    /** 1-based line of the problem, when it has one. */
    readonly line: number | undefined;
    /** 1-based column (UTF-16 units), when it has one. */
    readonly column: number | undefined;
  };

/** Whether `value` names a content type. */
export function isContentType(value: string): value is ContentType {
  return (CONTENT_TYPES as readonly string[]).includes(value);
}

/**
 * Checks `raw` as content of `type` the way the server does before it
 * stores a version: the raw-text rule first, then the parser. The message
 * of a failure is the server's own sentence (naming line and column).
 */
export function validateRaw(type: ContentType, raw: string): Validation {
  const problem = rawProblem(raw);
  if (problem) {
    return problem.kind === "too-large"
      ? { ok: false, message: problem.message, line: undefined, column: undefined }
      : { ok: false, message: problem.message, line: problem.line, column: problem.column };
  }
  const parsed = parseContent(type, raw);
  if (!parsed.ok) {
    return {
      ok: false,
      message: parsed.error.message,
      line: parsed.error.line,
      column: parsed.error.column,
    };
  }
  return {
    ok: true,
    message: type === "plaintext" ? "Plain text: any text is valid" : `Valid ${type}`,
  };
}

/**
 * The UTF-16 offset of 1-based `line` and `column` in `text`, clamped to
 * the text (a line past the end gives the end; a column past its line's
 * end gives that end). Lines end at LF, as in the parsers' positions.
 */
export function offsetOf(text: string, line: number, column: number): number {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", start);
    if (nl === -1) return text.length;
    start = nl + 1;
  }
  let end = text.indexOf("\n", start);
  if (end === -1) end = text.length;
  return Math.min(start + Math.max(column, 1) - 1, end);
}

/** The 1-based line and column of UTF-16 `offset` in `text` (for the caret indicator). */
export function lineColumnOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const line = before.split("\n").length;
  return { line, column: before.length - before.lastIndexOf("\n") };
}
