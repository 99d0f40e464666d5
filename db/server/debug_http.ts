/**
 * The debug HTTP server of a node (`--http`):
 *
 * - `GET /status`: JSON: role, term, indexes, members, replication
 *   progress, raft and transport counters, process memory;
 * - `GET /metrics`: the node's metrics in the Prometheus text format
 *   (metrics.ts; docs/metrics.md);
 * - `GET /healthz`: 200 while the process answers (liveness);
 * - `GET /readyz`: 200 when the node can serve writes and linearizable
 *   reads (it knows a leader, is not recovering from a lost disk, and was
 *   not removed), else 503 saying which check failed and why.
 *
 * No authentication: bind it to an address only operators and the
 * Prometheus scraper reach.
 *
 * @module
 */

import {
  healthResponse,
  metricsResponse,
  type ReadinessReport,
  readinessResponse,
  reportOf,
} from "../../shared/metrics/mod.ts";
import type { DbNode } from "./db_node.ts";
import { BindError } from "./errors.ts";
import { listenHostPort } from "./listen_check.ts";

/**
 * Serves the routes of the module doc on `addr`.
 * @throws {BindError} naming `--http` and the address when it cannot be bound.
 */
export function serveDebugHttp(node: DbNode, addr: string): Deno.HttpServer {
  const { hostname, port } = listenHostPort("--http", addr);
  try {
    return Deno.serve({
      hostname,
      port,
      onListen: () => {},
    }, (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/status") {
        const s = node.raft.status();
        return Response.json({
          ...node.statusReport(s),
          lastIndex: s.lastIndex,
          recovering: s.recovering,
          watchers: node.hub.watcherCount,
          progress: s.progress,
          raft: node.raft.stats(),
          transport: node.transport.stats(),
          memory: Deno.memoryUsage(),
        });
      }
      if (path === "/metrics") return metricsResponse(node.metrics.registry);
      if (path === "/healthz") return healthResponse();
      if (path === "/readyz") return readinessResponse(readiness(node));
      return Response.json({
        error: `no route ${path}: try /status, /metrics, /healthz or /readyz`,
      }, { status: 404 });
    });
  } catch (e) {
    throw new BindError("--http", addr, e);
  }
}

/** Whether `node` can serve writes and linearizable reads now, check by check. */
export function readiness(node: DbNode): ReadinessReport {
  const removed = node.sm.removed;
  let leader = "ok";
  if (!removed && node.raft.leader === 0) {
    try {
      node.checkServing(false);
      leader = "this node knows no leader";
    } catch (e) {
      // The refusal names the term and the peers it cannot reach.
      leader = (e as Error).message;
    }
  }
  return reportOf({
    member: removed ? "this node was removed from the cluster" : "ok",
    leader,
    disk: node.recovering
      ? "this node is recovering from a lost disk and has not caught up with the leader yet"
      : "ok",
  });
}
