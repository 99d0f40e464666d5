/**
 * The one place errors become responses: `app.onError` and `app.notFound`
 * answer JSON `{ "error": { "code", "message", "field"? } }` with the
 * status of `errors.ts`, `Retry-After` on 429 and 503, and never a stack
 * trace. 5xx causes are logged with the request id.
 *
 * @module
 */

import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  type AdmError,
  errorBody,
  httpStatusOf,
  NotFoundError,
  RateLimitedError,
  toAdmError,
  UnavailableError,
} from "../errors.ts";
import type { AdmEnv } from "./context.ts";
import { REQUEST_ID_HEADER } from "./request_id.ts";

/** The response for `e` on context `c`. */
export function errorResponse(c: Context<AdmEnv>, e: AdmError): Response {
  const status = httpStatusOf(e) as ContentfulStatusCode;
  if (e instanceof RateLimitedError || e instanceof UnavailableError) {
    c.header("Retry-After", String(e.retryAfterSeconds));
  }
  const id = c.get("requestId");
  if (id) c.header(REQUEST_ID_HEADER, id);
  return c.json(errorBody(e), status);
}

/** `app.onError`: maps anything thrown to its response (see `toAdmError`). */
export const onError: ErrorHandler<AdmEnv> = (err, c) => {
  const e = toAdmError(err);
  const status = httpStatusOf(e);
  if (e instanceof UnavailableError) {
    // Expected while cassemdb is down or electing: one line, no stack.
    c.get("deps")?.logger.warn(e.message, {
      requestId: c.get("requestId"),
      path: c.req.path,
      cause: e.cause instanceof Error ? e.cause.message : undefined,
    });
  } else if (status >= 500) {
    const cause = e.cause ?? err;
    c.get("deps")?.logger.error(e.message, {
      requestId: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      cause: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause),
      stack: cause instanceof Error ? cause.stack?.split("\n").slice(1, 6).join(" | ") : undefined,
    });
  }
  return errorResponse(c, e);
};

/** `app.notFound`: a 404 naming the method and path. */
export const onNotFound: NotFoundHandler<AdmEnv> = (c) =>
  errorResponse(
    c,
    new NotFoundError(`Cannot ${c.req.method} ${c.req.path} as no such route exists`),
  );
