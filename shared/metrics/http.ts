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
import { routePath } from "hono/route";
import client from "prom-client";
import { LATENCY_BUCKETS, type Registry } from "./registry.ts";

/** The route label of a request that no route matched. */
export const UNMATCHED_ROUTE = "unmatched";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The method label: a standard method, else `OTHER` (bounded cardinality). */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : "OTHER";
}

type Labels = "method" | "route" | "status";

/** The HTTP metrics of one service, registered on its registry. */
export class HttpMetrics {
  readonly #requests: client.Counter<Labels>;
  readonly #duration: client.Histogram<Labels>;
  readonly #inFlight: client.Gauge;
  /**
   * The series of each method, route and status seen, so that a request
   * costs one map lookup instead of hashing its labels twice (the agent's
   * fast reads take a few µs). Bounded as the labels are.
   */
  readonly #series = new Map<
    string,
    { count: client.Counter.Internal; duration: client.Histogram.Internal<Labels> }
  >();

  /** Registers `http_requests_total`, `http_request_duration_seconds`, `http_requests_in_flight`. */
  constructor(registry: Registry) {
    const labelNames = ["method", "route", "status"] as const;
    this.#requests = new client.Counter({
      name: "http_requests_total",
      help: "HTTP requests answered, by method, route pattern and status code.",
      labelNames,
      registers: [registry],
    });
    this.#duration = new client.Histogram({
      name: "http_request_duration_seconds",
      help: "Time from a request's arrival to its response, by method, route pattern and status.",
      labelNames,
      buckets: [...LATENCY_BUCKETS],
      registers: [registry],
    });
    this.#inFlight = new client.Gauge({
      name: "http_requests_in_flight",
      help: "HTTP requests being handled now.",
      registers: [registry],
    });
  }

  /** Records one answered request; `route` must be a pattern, never a raw path. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const m = methodLabel(method);
    const key = `${m} ${status} ${route}`;
    let series = this.#series.get(key);
    if (!series) {
      const labels = { method: m, route, status: String(status) };
      series = { count: this.#requests.labels(labels), duration: this.#duration.labels(labels) };
      this.#series.set(key, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }

  /** Counts a request as in flight until the returned function is called. */
  started(): () => void {
    this.#inFlight.inc();
    return () => this.#inFlight.dec();
  }
}

/**
 * The route pattern that matched `c`'s request, or {@linkcode UNMATCHED_ROUTE}
 * when only middleware (a `*` pattern) matched it.
 */
export function routeLabel(c: Context): string {
  const path = routePath(c, -1);
  return path === "" || path.endsWith("*") ? UNMATCHED_ROUTE : path;
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
