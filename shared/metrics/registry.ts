/**
 * Registries and metric helpers on npm:prom-client: one registry per
 * service process (never prom-client's global one, so that tests can build
 * several services in one process), the histogram buckets cassem uses, and
 * metrics whose value is read from a running component when scraped.
 *
 * @module
 */

import client from "prom-client";

/** A prom-client registry: what `/metrics` renders. */
export type Registry = client.Registry;
/** A prom-client counter. */
export type Counter<L extends string = string> = client.Counter<L>;
/** A prom-client gauge. */
export type Gauge<L extends string = string> = client.Gauge<L>;
/** A prom-client histogram. */
export type Histogram<L extends string = string> = client.Histogram<L>;

/** prom-client's metric classes, for services that define metrics of their own. */
export const prom = {
  Counter: client.Counter,
  Gauge: client.Gauge,
  Histogram: client.Histogram,
};

/** Options of {@linkcode createRegistry}. */
export interface RegistryOptions {
  /**
   * Also collect prom-client's process metrics: `process_cpu_seconds_total`,
   * `process_resident_memory_bytes`, `process_open_fds`,
   * `nodejs_eventloop_lag_seconds`, ... (default false). Services turn it on;
   * tests that build a service in-process leave it off (it starts an event
   * loop monitor).
   */
  processMetrics?: boolean;
}

/** A new, empty registry (see {@linkcode RegistryOptions}). */
export function createRegistry(options: RegistryOptions = {}): Registry {
  const registry = new client.Registry();
  if (options.processMetrics) client.collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Buckets for request latencies, in seconds: 0.5 ms to 10 s. A cassemdb
 * write takes ~1–5 ms, an adm request a few ms to a PBKDF2 login's ~0.2 s.
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** Buckets for disk writes, in seconds: 50 µs (one Deno KV commit is ~85 µs here) to 1 s. */
export const DISK_BUCKETS: readonly number[] = [
  0.00005,
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  1,
];

/** One metric whose value is read when scraped. */
export interface ReadMetric {
  /** Its name (`cassemdb_raft_term`). */
  name: string;
  /** What it means, for `# HELP`. */
  help: string;
  /**
   * Reads the current value: a number, or one number per label value of
   * `label` (a `Map` from label value to number).
   */
  read: () => number | ReadonlyMap<string, number>;
  /** The label of a `Map` reading. */
  label?: string;
}

/**
 * Registers gauges on `registry` whose values are read at each scrape: for
 * state a component already keeps (raft term, store revision).
 */
export function readGauges(registry: Registry, metrics: readonly ReadMetric[]): void {
  for (const m of metrics) {
    new client.Gauge({
      name: m.name,
      help: m.help,
      labelNames: m.label ? [m.label] : [],
      registers: [registry],
      collect() {
        setFrom(this, m);
      },
    });
  }
}

/**
 * Registers counters on `registry` whose values are read at each scrape:
 * for totals a component already counts (its `stats()`), so that the hot
 * path keeps its own plain counter. Each reading must never decrease while
 * the process runs.
 */
export function readCounters(registry: Registry, metrics: readonly ReadMetric[]): void {
  for (const m of metrics) {
    new client.Counter({
      name: m.name,
      help: m.help,
      labelNames: m.label ? [m.label] : [],
      registers: [registry],
      collect() {
        // prom-client counters only go up: replace the value by a reset.
        this.reset();
        const v = m.read();
        if (typeof v === "number") this.inc(v);
        else for (const [lv, n] of v) this.inc({ [m.label!]: lv }, n);
      },
    });
  }
}

function setFrom(g: client.Gauge, m: ReadMetric): void {
  const v = m.read();
  if (typeof v === "number") {
    g.set(v);
    return;
  }
  g.reset();
  for (const [lv, n] of v) g.set({ [m.label!]: lv }, n);
}

/** The body of `GET /metrics`: `registry` in the Prometheus text format. */
export async function metricsResponse(registry: Registry): Promise<Response> {
  return new Response(await registry.metrics(), {
    headers: { "Content-Type": registry.contentType, "Cache-Control": "no-store" },
  });
}
