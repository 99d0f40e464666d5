/**
 * cassemagent's metrics (docs/metrics.md lists them all): HTTP requests by
 * route pattern and status (the fast read path included), gRPC calls, the
 * calls it makes to cassemdb, the body cache (hits, misses, evictions, size),
 * what it serves and to how many subscribers, and pushes with their latency
 * from a change's arrival from cassemdb to its fan-out.
 *
 * @module
 */

import {
  type Counter,
  createRegistry,
  GrpcServerMetrics,
  type Histogram,
  HttpMetrics,
  KvClientMetrics,
  LATENCY_BUCKETS,
  prom,
  readCounters,
  readGauges,
  type Registry,
} from "../shared/metrics/mod.ts";
import type { AgentCore } from "./core.ts";

/** The metrics of one agent process. */
export class AgentMetrics {
  /** What `/metrics` renders. */
  readonly registry: Registry;
  /** HTTP requests by method, route pattern and status. */
  readonly http: HttpMetrics;
  /** gRPC calls of the agent service. */
  readonly grpc: GrpcServerMetrics;
  /** Calls to cassemdb (see `instrumentKvClient`). */
  readonly db: KvClientMetrics;
  /** Pushes to subscribers (one per subscriber per revision that concerns it). */
  readonly pushes: Counter;
  /**
   * Time from a change's arrival from cassemdb to its push to every
   * subscriber it concerns: handed to each one's sink. The writes of a push
   * to more than 128 streams go on in the next turns (`spread_writes.ts`),
   * after this is observed.
   */
  readonly pushLatency: Histogram;

  /** Registers the agent's metrics on a new registry (`processMetrics`: see `createRegistry`). */
  constructor(options: { processMetrics?: boolean } = {}) {
    this.registry = createRegistry(options);
    const registers = [this.registry];
    this.http = new HttpMetrics(this.registry);
    this.grpc = new GrpcServerMetrics(this.registry);
    this.db = new KvClientMetrics(this.registry);
    this.pushes = new prom.Counter({
      name: "cassemagent_pushes_total",
      help:
        "Changes pushed to subscribers (SSE, gRPC, long poll): one per subscriber per revision.",
      registers,
    });
    this.pushLatency = new prom.Histogram({
      name: "cassemagent_push_latency_seconds",
      help:
        "Time from a change's arrival from cassemdb to its push to every subscriber it concerns (sealed bodies to open included).",
      buckets: [0.0001, 0.00025, ...LATENCY_BUCKETS],
      registers,
    });
  }

  /** Registers the metrics read from `core` at each scrape, and counts its pushes. */
  observeCore(core: AgentCore): void {
    const r = this.registry;
    const cache = () => core.cache.stats();
    readCounters(r, [
      {
        name: "cassemagent_cache_hits_total",
        help: "Body reads answered from the LRU-K cache.",
        read: () => cache().hits,
      },
      {
        name: "cassemagent_cache_misses_total",
        help: "Body reads the cache did not hold (fetched from cassemdb).",
        read: () => cache().misses,
      },
      {
        name: "cassemagent_cache_evictions_total",
        help: "Bodies evicted from the cache to stay within its entry and byte bounds.",
        read: () => cache().evictions,
      },
    ]);
    readGauges(r, [
      {
        name: "cassemagent_cache_entries",
        help: "Bodies in the cache.",
        read: () => cache().entries,
      },
      {
        name: "cassemagent_cache_bytes",
        help: "Bytes of the cached bodies as stored (deflated or not), with their entries.",
        read: () => cache().bytes,
      },
      {
        name: "cassemagent_cache_text_bytes",
        help: "UTF-8 bytes of the cached bodies before deflating.",
        read: () => core.bodies.stats().textBytes,
      },
      {
        name: "cassemagent_revision",
        help: "The cassemdb revision the agent serves.",
        read: () => core.state.revision,
      },
      {
        name: "cassemagent_elements",
        help: "Elements the agent serves.",
        read: () => core.state.elementCount,
      },
      {
        name: "cassemagent_subscribers",
        help: "Open watches of clients (SSE, gRPC and long-poll subscribers).",
        read: () => core.subscribers.size,
      },
      {
        name: "cassemagent_loaded",
        help: "1 once the first listing of cassemdb is loaded (the agent can serve).",
        read: () => (core.state.loaded ? 1 : 0),
      },
      {
        name: "cassemagent_stale",
        help: "1 while answers may be out of date (cassemdb out of reach, or the watch resuming).",
        read: () => (core.health.stale ? 1 : 0),
      },
    ]);
  }

  /** Records one revision pushed to `subscribers` subscribers, `ms` after it arrived. */
  pushed(subscribers: number, ms: number): void {
    this.pushes.inc(subscribers);
    this.pushLatency.observe(ms / 1000);
  }
}
