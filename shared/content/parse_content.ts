/**
 * Parses a raw text as its content type, with a well-kept library for each
 * (npm:yaml, npm:smol-toml, npm:ini) and small strict scanners where a
 * library does not say where an error is (JSON positions, ini lines,
 * properties). Every error carries a 1-based line and column. Pure: no I/O.
 *
 * @module
 */

import { parseDocument } from "yaml";
import { parse as parseToml, TomlError } from "smol-toml";
import ini from "ini";
import type { ContentType, TextPosition } from "../config/content_rules.ts";
import { positionAt } from "../config/content_rules.ts";
import { locateJsonError } from "./json_locate.ts";
import { parseProperties } from "./properties.ts";

/** Why a raw text is not valid content of its type, and where. */
export interface ContentError extends TextPosition {
  /** A sentence: "Cannot parse raw as json: expected … at line 3, column 7". */
  readonly message: string;
}

/** The outcome of {@linkcode parseContent}. */
export type ParseResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: ContentError };

function failure(type: ContentType, why: string, at: TextPosition): ParseResult {
  return {
    ok: false,
    error: {
      message: `Cannot parse raw as ${type}: ${why} at line ${at.line}, column ${at.column}`,
      line: at.line,
      column: at.column,
    },
  };
}

/**
 * Parses `raw` as `type`: the value (objects, arrays, strings, numbers,
 * booleans, null; TOML dates as `Date`s; `plaintext` is the text itself),
 * or the first error with its line and column. Never throws for bad input.
 */
export function parseContent(type: ContentType, raw: string): ParseResult {
  switch (type) {
    case "json":
      return parseJson(raw);
    case "yaml":
      return parseYaml(raw);
    case "toml":
      return parseTomlText(raw);
    case "ini":
      return parseIni(raw);
    case "properties": {
      const r = parseProperties(raw);
      return r.ok ? r : failure(type, r.error.message, r.error);
    }
    case "plaintext":
      return { ok: true, value: raw };
  }
}

function parseJson(raw: string): ParseResult {
  const located = locateJsonError(raw);
  if (located) return failure("json", located.message, positionAt(raw, located.offset));
  return { ok: true, value: JSON.parse(raw) };
}

function parseYaml(raw: string): ParseResult {
  // One document, unique keys, at most 100 alias expansions (no "billion laughs").
  const doc = parseDocument(raw, { uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err) {
    const at = err.linePos?.[0] ?? positionAt(raw, err.pos[0]);
    const first = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return failure("yaml", lowerFirst(first), {
      line: at.line,
      column: "col" in at ? at.col : at.column,
    });
  }
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (e) {
    return failure("yaml", lowerFirst(errorMessage(e)), { line: 1, column: 1 });
  }
}

function parseTomlText(raw: string): ParseResult {
  try {
    return { ok: true, value: parseToml(raw) };
  } catch (e) {
    if (e instanceof TomlError) {
      const why = e.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      return failure("toml", why, { line: e.line, column: e.column });
    }
    throw e;
  }
}

const INI_SECTION = /^\[[^\]\r\n]+\]\s*([;#].*)?$/;

/**
 * npm:ini accepts any text; this checks each line first: blank, a comment
 * (`;` or `#`), a `[section]`, or `key`, `key = value` with a non-empty key.
 */
function parseIni(raw: string): ParseResult {
  const lines = raw.split(/\r\n|\r|\n/);
  for (let l = 0; l < lines.length; l++) {
    const text = lines[l]!;
    const lead = text.search(/\S/);
    if (lead === -1) continue;
    const c = text[lead];
    if (c === ";" || c === "#") continue;
    const at = { line: l + 1, column: lead + 1 };
    if (c === "[") {
      if (!INI_SECTION.test(text.trim())) {
        return failure("ini", "a section header must be '[name]' with a closing ']'", at);
      }
      continue;
    }
    if (c === "=") return failure("ini", "a property needs a key before '='", at);
  }
  return { ok: true, value: ini.parse(raw) };
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function lowerFirst(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1) : s;
}
