/**
 * Keys and limits of the store. A key is a slash-separated path of non-empty
 * segments (`"app/env/name"`); its ancestors are its proper prefixes that end
 * before a slash (`"app"`, `"app/env"`).
 *
 * @module
 */

/** Longest key, in UTF-8 bytes. */
export const MAX_KEY_LENGTH = 1024;
/** Largest element value, in bytes (256 KiB). */
export const MAX_VALUE_BYTES = 256 * 1024;
/** Most compares in one txn. */
export const MAX_TXN_COMPARES = 64;
/** Most ops in one txn. */
export const MAX_TXN_OPS = 64;

const encoder = new TextEncoder();
// Control characters (C0, DEL, C1) are never part of a key.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The one key rule, shared by the store and the API: why `key` is not a
 * valid entity key (a phrase such as `a key must not contain "//"`), or
 * `undefined` when it is. A key is a non-empty string of at most
 * {@linkcode MAX_KEY_LENGTH} UTF-8 bytes, of non-empty segments separated by
 * "/", with no leading or trailing "/", no "." or ".." segment and no control
 * characters.
 */
export function keyRuleBroken(key: unknown): string | undefined {
  if (typeof key !== "string") return `a key must be a string: current type is ${typeof key}`;
  if (key.length === 0) return "a key must be a non-empty string";
  const chars = keyCharsRuleBroken(key);
  if (chars) return chars;
  if (key.startsWith("/") || key.endsWith("/")) {
    return `a key must not start or end with "/": current value is "${key}"`;
  }
  for (const seg of key.split("/")) {
    if (seg === "") return `a key must not contain "//": current value is "${key}"`;
    if (seg === "." || seg === "..") {
      return `a key must not contain "." or ".." segments: current value is "${key}"`;
    }
  }
  return undefined;
}

/** The length and character part of {@linkcode keyRuleBroken}, which prefixes obey too. */
export function keyCharsRuleBroken(key: string): string | undefined {
  // A UTF-8 byte count is at least the UTF-16 length: skip encoding short keys.
  const bytes = key.length * 3 <= MAX_KEY_LENGTH ? key.length : encoder.encode(key).byteLength;
  if (bytes > MAX_KEY_LENGTH) {
    return `a key must be at most ${MAX_KEY_LENGTH} bytes: current size is ${bytes}`;
  }
  if (CONTROL.test(key)) return "a key must not contain control characters";
  return undefined;
}

/**
 * Why `key` is not a valid entity key, as a whole sentence ("Cannot use the
 * key as …"), or `undefined` when it is. See {@linkcode keyRuleBroken}.
 */
export function keyProblem(key: unknown): string | undefined {
  const broken = keyRuleBroken(key);
  return broken === undefined ? undefined : `Cannot use the key as ${broken}`;
}

/** The ancestors of a valid `key`, outermost first: `"a/b/c"` → `["a", "a/b"]`. */
export function ancestorsOf(key: string): string[] {
  const out: string[] = [];
  for (let i = key.indexOf("/"); i !== -1; i = key.indexOf("/", i + 1)) {
    out.push(key.slice(0, i));
  }
  return out;
}
