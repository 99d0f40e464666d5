/**
 * Metrics and health endpoints for every cassem service, on npm:prom-client:
 *
 * - `registry.ts`: {@linkcode createRegistry} (one per process, optionally
 *   with process metrics), histogram buckets, gauges and counters read from
 *   a component at scrape time ({@linkcode readGauges},
 *   {@linkcode readCounters}), {@linkcode metricsResponse};
 * - `http.ts`: {@linkcode HttpMetrics} and the Hono middleware
 *   {@linkcode httpMetrics} (by method, route pattern and status), on
 *   `fast_histogram.ts` ({@linkcode FastHistogram}: series looked up once);
 * - `grpc_server.ts`: {@linkcode grpcServerObserver}, a grpc-js server
 *   interceptor recording every call by method and status code and running
 *   its handler under the caller's `x-request-id`;
 * - `kv_client.ts`: {@linkcode instrumentKvClient}, a cassemdb client that
 *   records each call and sends the current request id;
 * - `probes.ts`: `/healthz`, `/readyz` (with {@linkcode CachedCheck}) and
 *   `/metrics` ({@linkcode probeRoutes});
 * - `prom_text.ts`: {@linkcode parsePrometheusText}, for tests and tools.
 *
 * docs/metrics.md lists every metric the services export.
 *
 * @module
 */

export * from "./registry.ts";
export * from "./http.ts";
export * from "./fast_histogram.ts";
export * from "./grpc_server.ts";
export * from "./kv_client.ts";
export * from "./probes.ts";
export * from "./prom_text.ts";
