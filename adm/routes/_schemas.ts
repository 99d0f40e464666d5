/**
 * Schemas and response helpers shared by the route files: the error body,
 * paging parameters, and the standard error responses each route lists in
 * the OpenAPI document.
 *
 * @module
 */

import { z } from "@hono/zod-openapi";
import { type NameKind, nameSchema } from "../../shared/config/mod.ts";

/** The error body every failure answers with. */
export const ErrorSchema = z.object({
  error: z.looseObject({
    code: z.string().openapi({ example: "not_found" }),
    message: z.string().openapi({ example: "Cannot get app shop as it does not exist" }),
    field: z.string().optional().openapi({ example: "path.app" }),
  }),
}).openapi("Error");

const DESCRIPTIONS: Record<number, string> = {
  400: "Malformed or invalid request (the field is named)",
  401: "Missing, unknown, expired or revoked credentials",
  403: "The caller's roles do not allow this",
  404: "Not found",
  409: "Conflicts with the current state",
  412: "If-Match names another revision",
  413: "Too large",
  415: "The body must be application/json",
  422: "Invalid content",
  429: "Rate limited (see Retry-After)",
  503: "cassemdb unreachable (see Retry-After)",
};

/** The OpenAPI responses of the given error statuses (400, 401, 403 and 503 are always listed). */
export function errorResponses(
  ...statuses: number[]
): Record<
  number,
  { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }
> {
  const out: Record<
    number,
    { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }
  > = {};
  for (const s of [...new Set([400, 401, 403, 503, ...statuses])].sort()) {
    out[s] = {
      description: DESCRIPTIONS[s] ?? "Error",
      content: { "application/json": { schema: ErrorSchema } },
    };
  }
  return out;
}

/** A JSON response of `schema`. */
export function jsonResponse<S extends z.ZodType>(schema: S, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body of `schema`. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return { required: true, content: { "application/json": { schema } } };
}

/** `limit` (1..100, default 50) and `seek` (continue after this name) query parameters. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50).openapi({
    description: "Items per page, 1..100",
  }),
  seek: z.string().max(256).optional().openapi({
    description: "Continue after this item (the previous page's `next`)",
  }),
});

/** A page of `item`s and where the next one starts. */
export function pageOf<S extends z.ZodType>(item: S) {
  return z.object({
    items: z.array(item),
    next: z.string().nullable().openapi({ description: "Pass as `seek` for the next page" }),
  });
}

/** The `If-Match` request header (optional). */
export const IfMatchHeader = z.object({
  "if-match": z.string().optional().openapi({
    description: 'Apply only if the resource is still at this ETag (e.g. "r42"), else 412',
  }),
});

/** An empty success body. */
export const OkSchema = z.object({ ok: z.literal(true) });

/**
 * A path parameter holding a name of `kind`. (A fresh schema: ones built by
 * shared modules before @hono/zod-openapi loaded lack `.openapi`.)
 */
export function nameParam(kind: NameKind, name: string) {
  return nameSchema(kind).openapi({ param: { name, in: "path" } });
}

/** `{app}` as a path parameter. */
export const AppParams = z.object({ app: nameParam("app", "app") });

/** `{app}/{env}` path parameters. */
export const EnvParams = AppParams.extend({ env: nameParam("env", "env") });
