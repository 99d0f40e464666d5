/**
 * The number checks of the store's modules (counts, positive options).
 *
 * @module
 */

/** Whether `n` is a safe integer ≥ 0. */
export function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/**
 * `v` when it is a positive integer, `fallback` when it is absent.
 * @throws {RangeError} naming `name` otherwise.
 */
export function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!isCount(v) || v === 0) {
    throw new RangeError(
      `Cannot use ${name} as it must be a positive integer: current value is ${v}`,
    );
  }
  return v;
}
