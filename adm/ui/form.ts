/**
 * Reading a posted form: its string fields, trimmed or not.
 *
 * @module
 */

import type { Context } from "hono";

/** A posted form's string fields (files and repeated fields other than the first are ignored). */
export type FormFields = Readonly<Record<string, string>>;

/** The string fields of the request's form body (parsed once; the guard parsed it already). */
export async function formOf(c: Context): Promise<FormFields> {
  const body = await c.req.parseBody();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v;
  return out;
}

/** Field `name` of `f`, trimmed ("" when absent). */
export function field(f: FormFields, name: string): string {
  return (f[name] ?? "").trim();
}
