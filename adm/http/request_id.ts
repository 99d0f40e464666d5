/**
 * Request ids: the caller's `X-Request-Id` when it is a sensible token,
 * else a new random one; echoed in the response, logged, written into the
 * oplog entry of every mutation, and sent to cassemdb with every call made
 * for the request (the rest of the request runs with it as the current
 * request id, `shared/request_context.ts`).
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { newId } from "../../shared/config/mod.ts";
import { withRequestId } from "../../shared/request_context.ts";
import type { AdmEnv } from "./context.ts";

/** The header that carries the request id both ways. */
export const REQUEST_ID_HEADER = "X-Request-Id";

const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Sets `requestId` on the context and the response header, and runs the
 * rest of the request with it as the current request id.
 */
export function requestId(): MiddlewareHandler<AdmEnv> {
  return async function requestIdMiddleware(c, next) {
    const given = c.req.header(REQUEST_ID_HEADER);
    const id = given !== undefined && ACCEPTED.test(given) ? given : newId();
    c.set("requestId", id);
    c.header(REQUEST_ID_HEADER, id);
    await withRequestId(id, next);
  };
}
