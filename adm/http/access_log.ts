/**
 * One log line per request: method, path, status, duration, request id and
 * operator. Never a header, body or query value (they may hold secrets).
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { operatorOf } from "../auth/principal.ts";
import type { AdmEnv } from "./context.ts";

/** Logs each request at `debug` (4xx at `info`, 5xx at `warn`) once it is answered. */
export function accessLog(): MiddlewareHandler<AdmEnv> {
  return async function accessLogMiddleware(c, next) {
    const started = performance.now();
    await next();
    const status = c.res.status;
    const p = c.get("principal");
    const fields = {
      method: c.req.method,
      path: c.req.path,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      requestId: c.get("requestId"),
      operator: p ? operatorOf(p) : "-",
    };
    const log = c.get("deps").logger;
    if (status >= 500) log.warn("request", fields);
    else if (status >= 400) log.info("request", fields);
    else log.debug("request", fields);
  };
}
