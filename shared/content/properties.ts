/**
 * A small strict parser of Java `.properties` text (the format of
 * `java.util.Properties.load`), because no well-kept npm package reports
 * errors with a position. It follows the Java rules for comments (`#`,
 * `!`), separators (`=`, `:` or whitespace), line continuations (a line
 * ending in an odd number of `\`) and escapes (`\t \n \r \f \uXXXX`, `\x`
 * for any other x), and is stricter than Java where Java silently guesses:
 * an empty key, a malformed `\u` escape, a repeated key and a continuation
 * at the end of the text are errors. Pure.
 *
 * @module
 */

/** A properties syntax error at a 1-based line and column. */
export interface PropertiesSyntaxError {
  /** What is wrong. */
  readonly message: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column (UTF-16 code units). */
  readonly column: number;
}

/** The outcome of {@linkcode parseProperties}. */
export type PropertiesResult =
  | { readonly ok: true; readonly value: Record<string, string> }
  | { readonly ok: false; readonly error: PropertiesSyntaxError };

/** One physical line: its text without the line break and its 1-based number. */
interface PhysicalLine {
  readonly text: string;
  readonly line: number;
}

/** A character of a logical line with where it came from. */
interface Located {
  readonly ch: string;
  readonly line: number;
  readonly column: number;
}

class Stop {
  constructor(readonly error: PropertiesSyntaxError) {}
}

function isWs(ch: string | undefined): boolean {
  return ch === " " || ch === "\t" || ch === "\f";
}

/** Whether `text` ends in an odd number of backslashes (a continuation). */
function continues(text: string): boolean {
  let k = 0;
  for (let i = text.length - 1; i >= 0 && text[i] === "\\"; i--) k++;
  return k % 2 === 1;
}

/**
 * Parses `text` as Java properties into a map of keys to values (a
 * prototype-less object), or the first error with its line and column.
 */
export function parseProperties(text: string): PropertiesResult {
  const physical: PhysicalLine[] = text.split(/\r\n|\r|\n/).map((t, i) => ({
    text: t,
    line: i + 1,
  }));
  const out: Record<string, string> = Object.create(null);
  const firstLine = new Map<string, number>();
  try {
    for (let p = 0; p < physical.length; p++) {
      const first = physical[p]!;
      const lead = first.text.search(/[^ \t\f]/);
      if (lead === -1) continue;
      if (first.text[lead] === "#" || first.text[lead] === "!") continue; // comments never continue
      // Join the logical line, remembering each character's position.
      const chars: Located[] = [];
      let cur = first;
      let from = lead;
      for (;;) {
        const cont = continues(cur.text);
        const end = cont ? cur.text.length - 1 : cur.text.length;
        for (let k = from; k < end; k++) {
          chars.push({ ch: cur.text[k]!, line: cur.line, column: k + 1 });
        }
        if (!cont) break;
        p++;
        const next = physical[p];
        if (next === undefined || (p === physical.length - 1 && next.text === "")) {
          throw new Stop({
            message: "a line ends in '\\' (a continuation) but no line follows",
            line: cur.line,
            column: cur.text.length,
          });
        }
        cur = next;
        from = Math.max(0, cur.text.search(/[^ \t\f]/));
        if (cur.text.search(/[^ \t\f]/) === -1) from = cur.text.length;
      }
      const { key, value } = splitLogical(chars);
      const at = chars[0]!;
      if (key === "") {
        throw new Stop({ message: "a property needs a key before its separator", ...pos(at) });
      }
      const seen = firstLine.get(key);
      if (seen !== undefined) {
        throw new Stop({
          message: `the key ${JSON.stringify(key)} is repeated (first on line ${seen})`,
          ...pos(at),
        });
      }
      firstLine.set(key, at.line);
      out[key] = value;
    }
  } catch (e) {
    if (e instanceof Stop) return { ok: false, error: e.error };
    throw e;
  }
  return { ok: true, value: out };
}

function pos(c: Located): { line: number; column: number } {
  return { line: c.line, column: c.column };
}

/** Splits a logical line (leading whitespace removed) into its unescaped key and value. */
function splitLogical(chars: Located[]): { key: string; value: string } {
  let i = 0;
  let key = "";
  for (; i < chars.length; i++) {
    const c = chars[i]!.ch;
    if (c === "\\") {
      const [s, used] = unescape(chars, i);
      key += s;
      i += used - 1;
      continue;
    }
    if (c === "=" || c === ":" || isWs(c)) break;
    key += c;
  }
  // The separator: whitespace, then at most one '=' or ':', then whitespace.
  while (i < chars.length && isWs(chars[i]!.ch)) i++;
  if (i < chars.length && (chars[i]!.ch === "=" || chars[i]!.ch === ":")) i++;
  while (i < chars.length && isWs(chars[i]!.ch)) i++;
  let value = "";
  for (; i < chars.length; i++) {
    if (chars[i]!.ch === "\\") {
      const [s, used] = unescape(chars, i);
      value += s;
      i += used - 1;
    } else {
      value += chars[i]!.ch;
    }
  }
  return { key, value };
}

const SIMPLE: Record<string, string> = { t: "\t", n: "\n", r: "\r", f: "\f" };

/** The escape starting at `chars[i]` (a backslash): its text and how many characters it used. */
function unescape(chars: Located[], i: number): [string, number] {
  const e = chars[i + 1]?.ch;
  if (e === undefined) return ["", 1]; // a trailing '\' of a logical line: dropped, as Java does
  if (e === "u") {
    let hex = "";
    for (let k = 2; k < 6; k++) hex += chars[i + k]?.ch ?? "";
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
      throw new Stop({ message: "a \\u escape needs four hex digits", ...pos(chars[i]!) });
    }
    return [String.fromCharCode(parseInt(hex, 16)), 6];
  }
  return [SIMPLE[e] ?? e, 2];
}
