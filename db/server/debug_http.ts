/**
 * The debug HTTP server of a node (`--http`): `GET /status` (JSON: role,
 * term, indexes, members, replication progress, raft and transport counters,
 * process memory) and `GET /healthz` (200 once a leader is known).
 *
 * @module
 */

import type { DbNode } from "./db_node.ts";
import { BindError } from "./errors.ts";

/**
 * Serves GET /status (JSON) and GET /healthz on `addr`.
 * @throws {BindError} naming `--http` and the address when it cannot be bound.
 */
export function serveDebugHttp(node: DbNode, addr: string): Deno.HttpServer {
  const i = addr.lastIndexOf(":");
  try {
    return Deno.serve({
      hostname: addr.slice(0, i),
      port: Number(addr.slice(i + 1)),
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
      if (path === "/healthz") {
        // A removed node keeps the last leader it knew but takes no part.
        const ok = node.raft.leader !== 0 && !node.sm.removed;
        return Response.json({ ok, leader: node.raft.leader }, { status: ok ? 200 : 503 });
      }
      return Response.json({ error: `no route ${path}: try /status or /healthz` }, {
        status: 404,
      });
    });
  } catch (e) {
    throw new BindError("--http", addr, e);
  }
}
