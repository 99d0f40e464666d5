/**
 * Keys and limits of the store. A key is a slash-separated path of non-empty
 * segments (`"app/env/name"`); its ancestors are its proper prefixes that end
 * before a slash (`"app"`, `"app/env"`).
 *
 * @module
 */

/** Longest key, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 1024;
/** Largest element value, in bytes (256 KiB). */
export const MAX_VALUE_BYTES = 256 * 1024;
/** Most compares in one txn. */
export const MAX_TXN_COMPARES = 64;
/** Most ops in one txn. */
export const MAX_TXN_OPS = 64;

/**
 * Why `key` is not a valid entity key, or `undefined` when it is: it must be
 * a non-empty string of at most {@linkcode MAX_KEY_LENGTH} code units with no
 * leading or trailing slash and no empty segment.
 */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== "string") {
    return `Cannot use the key as it must be a string: current type is ${typeof key}`;
  }
  if (key.length === 0) return "Cannot use the key as it must not be empty";
  if (key.length > MAX_KEY_LENGTH) {
    return `Cannot use the key as it must be at most ${MAX_KEY_LENGTH} characters: current length is ${key.length}`;
  }
  if (key.startsWith("/") || key.endsWith("/") || key.includes("//")) {
    return `Cannot use the key as its segments must be non-empty and it must not start or end with "/": current value is ${
      JSON.stringify(key)
    }`;
  }
  return undefined;
}

/** The ancestors of a valid `key`, outermost first: `"a/b/c"` → `["a", "a/b"]`. */
export function ancestorsOf(key: string): string[] {
  const out: string[] = [];
  for (let i = key.indexOf("/"); i !== -1; i = key.indexOf("/", i + 1)) {
    out.push(key.slice(0, i));
  }
  return out;
}
