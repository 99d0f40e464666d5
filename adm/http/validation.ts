/**
 * The default validation hook of every adm route: a request that fails its
 * zod schema becomes a 400 naming the first failing field as
 * `body.<path>`, `query.<name>`, `path.<name>` or `header.<name>`.
 *
 * @module
 */

import type { z } from "zod";
import { BadRequestError } from "../errors.ts";

const TARGETS: Record<string, string> = {
  json: "body",
  query: "query",
  param: "path",
  header: "header",
  cookie: "cookie",
  form: "body",
};

/** The field of the first issue, prefixed by where it came from. */
export function fieldOf(target: string, issue: z.core.$ZodIssue | undefined): string {
  const where = TARGETS[target] ?? target;
  if (!issue) return where;
  const path = [...issue.path];
  // An unknown key is reported on its object: name the key itself.
  if (issue.code === "unrecognized_keys" && issue.keys.length > 0) path.push(issue.keys[0]!);
  return path.length > 0 ? `${where}.${path.map(String).join(".")}` : where;
}

/** What the hook receives from @hono/zod-validator. */
interface HookResult {
  success: boolean;
  target: string;
  error?: z.ZodError;
}

/**
 * Throws a {@linkcode BadRequestError} for a failed validation (the error
 * handler answers it); lets a successful one through.
 */
export function validationHook(result: HookResult): void {
  if (result.success) return;
  const issue = result.error?.issues[0];
  const field = fieldOf(result.target, issue);
  let why = issue?.message ?? "it is invalid";
  if (issue?.code === "unrecognized_keys") why = "it is not a known field";
  else if (issue?.code === "invalid_type" && /received undefined/.test(why)) why = "it is required";
  else if (/^must /.test(why)) why = `it ${why}`;
  throw new BadRequestError(`Cannot accept ${field} as ${lowerFirst(why)}`, { field });
}

function lowerFirst(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1) : s;
}
