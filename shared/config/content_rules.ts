/**
 * The content types an element can have, their MIME types, the rule every
 * raw text obeys whatever its type (size and characters) and where in a
 * text something is. Pure and free of dependencies: the SDK and the
 * dashboard's browser script import it directly (`content_types.ts` adds
 * the zod schema records use).
 *
 * @module
 */

/** The content types, in the order they are listed to users. */
export const CONTENT_TYPES = ["json", "yaml", "toml", "ini", "properties", "plaintext"] as const;

/** A content type. */
export type ContentType = typeof CONTENT_TYPES[number];

/**
 * The MIME type of each content type. ini and properties have no
 * registered type, so they are served as text/plain.
 */
export const MIME_TYPES: Readonly<Record<ContentType, string>> = {
  json: "application/json",
  yaml: "application/yaml",
  toml: "application/toml",
  ini: "text/plain",
  properties: "text/plain",
  plaintext: "text/plain",
};

/** The HTTP `Content-Type` header for a raw text of `type` (text/* carries charset=utf-8). */
export function contentTypeHeader(type: ContentType): string {
  const mime = MIME_TYPES[type];
  return mime.startsWith("text/") ? `${mime}; charset=utf-8` : mime;
}

/** Whether `type` is structured (parsed into a value that can be diffed and schema-checked). */
export function isStructured(type: ContentType): boolean {
  return type !== "plaintext";
}

/**
 * The largest raw text of an element, in UTF-8 bytes (96 KiB). A record
 * holds the raw as a JSON string, where an escaped character (`"`, `\`,
 * tab, newline, carriage return) takes two bytes, so a record holds at most
 * 192 KiB of raw plus its fields; a secret's base64 ciphertext is at most
 * 128 KiB. Either stays under cassemdb's 256 KiB value cap, with room for a
 * gray rule.
 */
export const MAX_RAW_BYTES = 96 * 1024;

/** Where in a text something is: 1-based line and column (column in UTF-16 code units). */
export interface TextPosition {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/** The 1-based line and column of `offset` (a UTF-16 index) in `text`. */
export function positionAt(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** Why a raw text was refused before parsing. */
export type RawProblem =
  | { readonly kind: "too-large"; readonly bytes: number; readonly message: string }
  | {
    readonly kind: "bad-character";
    readonly line: number;
    readonly column: number;
    readonly message: string;
  };

const encoder = new TextEncoder();
// C0 controls except tab, LF and CR, plus DEL: JSON would escape them six-fold.
// deno-lint-ignore no-control-regex
const BAD_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Why `raw` cannot be stored, whatever its type, or `undefined` when it
 * can: more than {@linkcode MAX_RAW_BYTES} UTF-8 bytes, a control character
 * other than tab, LF and CR, or a lone surrogate (not UTF-8 at all).
 */
export function rawProblem(raw: string): RawProblem | undefined {
  // A UTF-8 byte count is at most 3 per UTF-16 unit: skip encoding small texts.
  const bytes = raw.length * 3 <= MAX_RAW_BYTES ? raw.length : encoder.encode(raw).byteLength;
  if (bytes > MAX_RAW_BYTES) {
    return {
      kind: "too-large",
      bytes,
      message:
        `Cannot store raw as it must be at most ${MAX_RAW_BYTES} bytes of UTF-8: current size is ${bytes}`,
    };
  }
  const bad = BAD_CHAR.exec(raw);
  if (bad) {
    const pos = positionAt(raw, bad.index);
    const code = bad[0].charCodeAt(0).toString(16).padStart(4, "0");
    return {
      kind: "bad-character",
      ...pos,
      message:
        `Cannot store raw as it must not contain control characters other than tab, LF and CR: found U+${code} at line ${pos.line}, column ${pos.column}`,
    };
  }
  if (!raw.isWellFormed()) {
    let i = 0;
    for (; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff) {
        const n = raw.charCodeAt(i + 1);
        if (n >= 0xdc00 && n <= 0xdfff) {
          i++;
          continue;
        }
        break;
      }
      if (c >= 0xdc00 && c <= 0xdfff) break;
    }
    const pos = positionAt(raw, i);
    return {
      kind: "bad-character",
      ...pos,
      message:
        `Cannot store raw as it must be valid Unicode: found a lone surrogate at line ${pos.line}, column ${pos.column}`,
    };
  }
  return undefined;
}
