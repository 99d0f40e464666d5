/**
 * {@linkcode FastHistogram}: a labelled histogram whose series the caller
 * looks up once and then observes into with plain arithmetic, and a counter
 * of the same observations. prom-client's own histogram validates and hashes
 * the labels on every observation (also through `labels()`), ~1 µs: too much
 * for the agent's cached reads, which take a few µs in all. The registry
 * renders these as any other histogram and counter.
 *
 * @module
 */

import type { Registry } from "./registry.ts";

/** One series: the observations of one label set. */
export class Series {
  /** Its label values. */
  readonly labels: Readonly<Record<string, string>>;
  /** Observations so far. */
  count = 0;
  /** Their sum. */
  sum = 0;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly buckets: Float64Array;
  readonly #bounds: readonly number[];

  /** A series of `labels` over the upper `bounds`. */
  constructor(labels: Record<string, string>, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.buckets = new Float64Array(bounds.length + 1);
  }

  /** Records one observation of `value`. */
  observe(value: number): void {
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.buckets[i]!++;
    this.count++;
    this.sum += value;
  }
}

/** What prom-client's registry reads of a metric. */
interface MetricValue {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/** Options of {@linkcode FastHistogram}. */
export interface FastHistogramOptions {
  /** The histogram's name (`http_request_duration_seconds`). */
  name: string;
  /** Its `# HELP`. */
  help: string;
  /** Upper bounds of the buckets, increasing. */
  buckets: readonly number[];
  /** Also export the count of each series as a counter of this name and help. */
  counter?: { name: string; help: string };
}

/**
 * A labelled histogram (and optionally a counter of the same observations)
 * registered on a prom-client registry; see the module doc.
 */
export class FastHistogram {
  readonly #series = new Map<string, Series>();
  readonly #bounds: readonly number[];

  /** Registers the histogram (and the counter) on `registry`. */
  constructor(registry: Registry, options: FastHistogramOptions) {
    this.#bounds = [...options.buckets];
    const all = () => [...this.#series.values()];
    registry.registerMetric(
      exported(options.name, options.help, "histogram", () =>
        all().flatMap((s) => {
          const out: MetricValue[] = [];
          let cumulative = 0;
          this.#bounds.forEach((le, i) => {
            cumulative += s.buckets[i]!;
            out.push({
              metricName: `${options.name}_bucket`,
              labels: { ...s.labels, le },
              value: cumulative,
            });
          });
          out.push({
            metricName: `${options.name}_bucket`,
            labels: { ...s.labels, le: "+Inf" },
            value: s.count,
          });
          out.push({ metricName: `${options.name}_sum`, labels: { ...s.labels }, value: s.sum });
          out.push({
            metricName: `${options.name}_count`,
            labels: { ...s.labels },
            value: s.count,
          });
          return out;
        })),
    );
    const counter = options.counter;
    if (counter) {
      registry.registerMetric(
        exported(
          counter.name,
          counter.help,
          "counter",
          () => all().map((s) => ({ labels: { ...s.labels }, value: s.count })),
        ),
      );
    }
  }

  /**
   * The series of `labels`, made on first use; `key` identifies the label
   * set (the caller's cheap key, e.g. the values joined). Keep it: observing
   * into it costs no lookup.
   */
  series(key: string, labels: () => Record<string, string>): Series {
    let s = this.#series.get(key);
    if (!s) this.#series.set(key, s = new Series(labels(), this.#bounds));
    return s;
  }
}

/** A metric object as prom-client's registry reads it (`get()`, `reset()`). */
function exported(
  name: string,
  help: string,
  type: "histogram" | "counter",
  values: () => MetricValue[],
) {
  return {
    name,
    help,
    type,
    aggregator: "sum",
    get: () => Promise.resolve({ name, help, type, aggregator: "sum", values: values() }),
    reset: () => {},
  } as unknown as Parameters<Registry["registerMetric"]>[0];
}
