/**
 * Differences between two versions of an element: a unified text diff of
 * the raw texts (npm:diff), and for structured types a structural diff of
 * the parsed values: which paths were added, removed or changed. Paths are
 * JSON Pointers (`/db/hosts/0`); arrays are compared index by index.
 *
 * @module
 */

import { createTwoFilesPatch } from "diff";

/** A path present only in the compared version. */
export interface Added {
  /** JSON Pointer. */
  readonly path: string;
  /** Its value in the compared version. */
  readonly value: unknown;
}

/** A path present only in the base version. */
export interface Removed {
  /** JSON Pointer. */
  readonly path: string;
  /** Its value in the base version. */
  readonly value: unknown;
}

/** A path whose value differs (a scalar, or a change of kind: object, array, scalar). */
export interface Changed {
  /** JSON Pointer. */
  readonly path: string;
  /** Its value in the base version. */
  readonly base: unknown;
  /** Its value in the compared version. */
  readonly compare: unknown;
}

/** The structural difference of two values. */
export interface StructuralDiff {
  /** Paths only in the compared value, in document order. */
  readonly added: Added[];
  /** Paths only in the base value. */
  readonly removed: Removed[];
  /** Paths in both whose values differ. */
  readonly changed: Changed[];
}

/**
 * A unified diff of `base` and `compare` (texts), with file names
 * `baseName` and `compareName` and 3 lines of context; empty hunks when
 * they are equal.
 */
export function unifiedDiff(
  baseName: string,
  compareName: string,
  base: string,
  compare: string,
): string {
  return createTwoFilesPatch(baseName, compareName, base, compare, "", "", { context: 3 });
}

type Kind = "object" | "array" | "scalar";

function kindOf(v: unknown): Kind {
  if (Array.isArray(v)) return "array";
  return v !== null && typeof v === "object" ? "object" : "scalar";
}

function pointer(parent: string, token: string | number): string {
  return `${parent}/${String(token).replace(/~/g, "~0").replace(/\//g, "~1")}`;
}

/**
 * The structural difference of two plain JSON values (depth already
 * bounded by the content check). An object key or array index present on
 * one side only is added or removed as a whole; a value whose kind changes
 * is changed as a whole; equal scalars are skipped.
 */
export function structuralDiff(base: unknown, compare: unknown): StructuralDiff {
  const out = { added: [] as Added[], removed: [] as Removed[], changed: [] as Changed[] };
  walk(base, compare, "", out);
  return out;
}

function walk(
  a: unknown,
  b: unknown,
  path: string,
  out: { added: Added[]; removed: Removed[]; changed: Changed[] },
): void {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb) {
    out.changed.push({ path: path || "/", base: a, compare: b });
    return;
  }
  if (ka === "scalar") {
    if (!Object.is(a, b)) out.changed.push({ path: path || "/", base: a, compare: b });
    return;
  }
  if (ka === "array") {
    const xa = a as unknown[];
    const xb = b as unknown[];
    const n = Math.max(xa.length, xb.length);
    for (let i = 0; i < n; i++) {
      const p = pointer(path, i);
      if (i >= xa.length) out.added.push({ path: p, value: xb[i] });
      else if (i >= xb.length) out.removed.push({ path: p, value: xa[i] });
      else walk(xa[i], xb[i], p, out);
    }
    return;
  }
  const oa = a as Record<string, unknown>;
  const ob = b as Record<string, unknown>;
  for (const k of Object.keys(oa)) {
    const p = pointer(path, k);
    if (!Object.hasOwn(ob, k)) out.removed.push({ path: p, value: oa[k] });
    else walk(oa[k], ob[k], p, out);
  }
  for (const k of Object.keys(ob)) {
    if (!Object.hasOwn(oa, k)) out.added.push({ path: pointer(path, k), value: ob[k] });
  }
}
