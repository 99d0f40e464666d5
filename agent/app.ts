/**
 * `createAgent(deps)`: the whole agent without its sockets — the core (state,
 * cache, push), the instance registry and the Hono app with every HTTP
 * route. `main.ts` serves the app with `Deno.serve` and the gRPC service
 * beside it; tests call `agent.app.request(...)` on a `MemoryDb`.
 *
 * @module
 */

import { Hono } from "hono";
import type { Logger } from "../shared/log.ts";
import { createLogger } from "../shared/log.ts";
import {
  CachedCheck,
  httpMetrics,
  probeRoutes,
  reportOf,
  type Series,
} from "../shared/metrics/mod.ts";
import { AgentCore, type CoreOptions } from "./core.ts";
import { type AgentBindings, type AgentEnv, installErrors, json } from "./http_common.ts";
import { corsMiddleware } from "./http_cors.ts";
import { fastReader } from "./http_fast.ts";
import { instanceRoutes } from "./http_instances.ts";
import { readRoutes } from "./http_reads.ts";
import { watchRoutes } from "./http_watch.ts";
import { InstanceRegistry } from "./instances.ts";
import { AgentMetrics } from "./metrics.ts";

/** What {@linkcode createAgent} needs. */
export interface AgentDeps extends Omit<CoreOptions, "log"> {
  /** Logger (default: info level to stderr). */
  log?: Logger;
  /** TTL of instance records, in seconds (default 30). */
  instanceTtlSeconds?: number;
  /** Wall clock in ms for instance record times (default `Date.now`). */
  wallClock?: () => number;
  /** Bytes an SSE client may leave unread before it is cut off (default 4 MiB). */
  maxQueuedBytes?: number;
  /** Longest long poll, in ms (default 60,000). */
  maxPollMs?: number;
  /** Origins allowed to call `/v1/*` from a browser (`*`: any; absent or empty: CORS off). */
  corsOrigins?: readonly string[];
  /** Most SSE events enqueued in one turn of the event loop, over every stream (default 128). */
  writesPerTurn?: number;
  /** Where the agent counts what it does (default: a new registry without process metrics). */
  metrics?: AgentMetrics;
}

/** A running agent without sockets. */
export interface Agent {
  /** Every HTTP route (`app.fetch`, `app.request`), without the fast path. */
  readonly app: Hono<AgentEnv>;
  /**
   * Answers an HTTP request: the fast path of cached reads (`http_fast.ts`),
   * else the Hono app. What `main.ts` serves.
   */
  fetch(req: Request, env?: AgentBindings): Response | Promise<Response>;
  /** {@linkcode fetch} of a path (`"/v1/…"`) on `http://localhost`, for tests. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** State, cache and push. */
  readonly core: AgentCore;
  /** Instance records. */
  readonly instances: InstanceRegistry;
  /** What `/metrics` serves. */
  readonly metrics: AgentMetrics;
  /** Resolves with the first snapshot's revision once loaded. */
  readonly ready: Promise<number>;
  /**
   * Ends every stream (with a `close` event or an UNAVAILABLE status) and
   * the watch; with `unregister`, removes the streaming clients' records.
   */
  close(options?: { unregister?: boolean }): Promise<void>;
}

/** Builds and starts an agent on `deps.db` (see the module doc). */
export function createAgent(deps: AgentDeps): Agent {
  const log = deps.log ?? createLogger(`cassemagent[${deps.agentId}]`);
  const core = new AgentCore({ ...deps, log });
  const instances = new InstanceRegistry({
    db: deps.db,
    agentId: deps.agentId,
    ttlSeconds: deps.instanceTtlSeconds,
    log,
    clock: deps.wallClock,
    authorize: (client, app, env) => core.authorize(app, env, client),
  });
  const metrics = deps.metrics ?? new AgentMetrics();
  metrics.observeCore(core);
  core.hooks = {
    attached: (s) => instances.attached(s),
    detached: (s) => instances.detached(s),
    pushed: (n, ms) => metrics.pushed(n, ms),
  };
  const app = new Hono<AgentEnv>();
  app.use("*", httpMetrics(metrics.http));
  installErrors(app, log);
  const corsOn = (deps.corsOrigins?.length ?? 0) > 0;
  if (corsOn) app.use("/v1/*", corsMiddleware(deps.corsOrigins!));
  // Ready once loaded: an agent that lost cassemdb keeps serving its (stale) copy.
  const readiness = new CachedCheck(() =>
    Promise.resolve(reportOf(
      {
        loaded: core.state.loaded
          ? "ok"
          : `the first listing of cassemdb is not loaded yet${
            core.health.lastError ? `: ${core.health.lastError}` : ""
          }`,
      },
      {
        revision: String(core.state.revision),
        cassemdb: core.health.stale
          ? `stale: answers may be out of date (${
            core.health.lastError || "the watch is resuming"
          })`
          : "current",
      },
    )), { maxAgeMs: 0 });
  app.route("/", probeRoutes({ registry: metrics.registry, readiness }));
  app.get("/v1/status", () => {
    const mem = Deno.memoryUsage();
    return json({
      agentId: deps.agentId,
      loaded: core.state.loaded,
      stale: core.health.stale,
      ...core.stats(),
      memory: {
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        heapTotal: mem.heapTotal,
        external: mem.external,
      },
    });
  });
  app.route("/", readRoutes(core));
  app.route(
    "/",
    watchRoutes(core, {
      maxQueuedBytes: deps.maxQueuedBytes,
      maxPollMs: deps.maxPollMs,
      writesPerTurn: deps.writesPerTurn,
    }),
  );
  app.route("/", instanceRoutes(instances));
  core.start();
  const fastSeries = fastReadSeries(metrics);
  const fastRead = fastReader(core);
  const fetch = (req: Request, env: AgentBindings = {}) => {
    const t0 = performance.now();
    // A browser's request needs the CORS headers of the routed path.
    const fast = corsOn && req.headers.has("origin") ? undefined : fastRead(req);
    if (!fast) return app.fetch(req, env);
    fastSeries(req.url, fast.status).observe((performance.now() - t0) / 1000);
    return fast;
  };
  return {
    app,
    fetch,
    request: (path, init) => Promise.resolve(fetch(new Request(`http://localhost${path}`, init))),
    core,
    instances,
    metrics,
    ready: core.ready,
    async close(options = {}) {
      core.close();
      await instances.close(options);
    },
  };
}

/** The two routes the fast path answers, as the router names them. */
const ELEMENTS_ROUTE = "/v1/apps/:app/envs/:env/elements";
const RAW_ROUTE = "/v1/apps/:app/envs/:env/elements/:key/raw";

/**
 * The HTTP series of a request the fast path answered, by its URL and
 * status, kept at hand: the read itself takes a few µs.
 */
function fastReadSeries(metrics: AgentMetrics): (url: string, status: number) => Series {
  const elements = new Map<number, Series>();
  const raw = new Map<number, Series>();
  return (url, status) => {
    const isRaw = url.endsWith("/raw");
    const byStatus = isRaw ? raw : elements;
    let s = byStatus.get(status);
    if (!s) {
      s = metrics.http.series("GET", isRaw ? RAW_ROUTE : ELEMENTS_ROUTE, status);
      byStatus.set(status, s);
    }
    return s;
  };
}
