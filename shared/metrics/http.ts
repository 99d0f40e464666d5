/**
 * HTTP request metrics: a count and a latency histogram by method, route
 * pattern and status, and the requests in flight. The route is the pattern
 * that matched (`/api/apps/:app/envs/:env`), never the raw path, so the
 * number of series stays bounded whatever clients send: a request no route
 * matched is `route="unmatched"`.
 *
 * {@linkcode httpMetrics} records every request of a Hono app; a fast path
 * that answers without Hono calls {@linkcode HttpMetrics.observe} itself.
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { FastHistogram, type Series } from "./fast_histogram.ts";
import { LATENCY_BUCKETS, readGauges, type Registry } from "./registry.ts";

/** The route label of a request that no route matched. */
export const UNMATCHED_ROUTE = "unmatched";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The method label: a standard method, else `OTHER` (bounded cardinality). */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : "OTHER";
}

/** The HTTP metrics of one service, registered on its registry. */
export class HttpMetrics {
  readonly #requests: FastHistogram;
  #inFlight = 0;

  /** Registers `http_requests_total`, `http_request_duration_seconds`, `http_requests_in_flight`. */
  constructor(registry: Registry) {
    // One series per method, route and status, found by a map lookup: the
    // agent's cached reads take a few µs in all (see fast_histogram.ts).
    this.#requests = new FastHistogram(registry, {
      name: "http_request_duration_seconds",
      help: "Time from a request's arrival to its response, by method, route pattern and status.",
      buckets: LATENCY_BUCKETS,
      counter: {
        name: "http_requests_total",
        help: "HTTP requests answered, by method, route pattern and status code.",
      },
    });
    readGauges(registry, [{
      name: "http_requests_in_flight",
      help: "HTTP requests being handled now.",
      read: () => this.#inFlight,
    }]);
  }

  /**
   * The series of `method`, `route` and `status`, to observe seconds into:
   * a caller on a hot path may keep it. `route` must be a pattern, never a
   * raw path.
   */
  series(method: string, route: string, status: number): Series {
    const m = methodLabel(method);
    return this.#requests.series(
      `${m} ${status} ${route}`,
      () => ({ method: m, route, status: String(status) }),
    );
  }

  /** Records one answered request (see {@linkcode series}). */
  observe(method: string, route: string, status: number, seconds: number): void {
    this.series(method, route, status).observe(seconds);
  }

  /** Counts a request as in flight until the returned function is called. */
  started(): () => void {
    this.#inFlight++;
    return () => void this.#inFlight--;
  }
}

/**
 * The route pattern of the handler that answered `c`'s request (call it
 * once the request is answered). When a middleware answered (a refusal
 * before the handler), the pattern of the first handler matched; when no
 * handler matched, {@linkcode UNMATCHED_ROUTE}. Middleware (`use`, method
 * `ALL`) never names a route: a `*` pattern would stand for any path.
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  const current = routes[c.req.routeIndex];
  if (current && current.method !== "ALL") return current.path;
  return routes.find((r) => r.method !== "ALL")?.path ?? UNMATCHED_ROUTE;
}

/**
 * Hono middleware that records every request of the app it is mounted on
 * (register it first, with `app.use("*", ...)`, so that it times the whole
 * request); see the module doc.
 */
export function httpMetrics(metrics: HttpMetrics): MiddlewareHandler {
  return async function httpMetricsMiddleware(c, next) {
    const t0 = performance.now();
    const done = metrics.started();
    let status = 500;
    try {
      await next();
      status = c.res.status;
    } finally {
      done();
      metrics.observe(c.req.method, routeLabel(c), status, (performance.now() - t0) / 1000);
    }
  };
}
