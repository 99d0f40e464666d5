/**
 * cassemadm's metrics (docs/metrics.md lists them all): HTTP requests by
 * route pattern and status, the calls it makes to cassemdb, transactions
 * (attempts that lost a compare-and-swap race, and how each ended) and
 * failed logins. {@linkcode createApp} serves them at `/metrics`.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import {
  type Counter,
  createRegistry,
  HttpMetrics,
  KvClientMetrics,
  prom,
  type Registry,
} from "../../shared/metrics/mod.ts";

/** Why a login failed, as `cassemadm_login_failures_total` labels it. */
export type LoginFailure = "unauthorized" | "rate_limited" | "invalid";

/** The metrics of one adm process. */
export class AdmMetrics {
  /** What `/metrics` renders. */
  readonly registry: Registry;
  /** Requests by method, route pattern and status. */
  readonly http: HttpMetrics;
  /** Calls to cassemdb (see `instrumentKvClient`). */
  readonly db: KvClientMetrics;
  /** Transaction attempts that lost a compare-and-swap race (then retried, up to the limit). */
  readonly txnConflicts: Counter;
  /** Transactions by how they ended. */
  readonly txns: Counter<"outcome">;
  /** Failed `POST /api/account/login` requests, by reason. */
  readonly loginFailures: Counter<"reason">;

  /** Registers adm's metrics on a new registry (`processMetrics`: see `createRegistry`). */
  constructor(options: { processMetrics?: boolean } = {}) {
    this.registry = createRegistry(options);
    const registers = [this.registry];
    this.http = new HttpMetrics(this.registry);
    this.db = new KvClientMetrics(this.registry);
    this.txnConflicts = new prom.Counter({
      name: "cassemadm_txn_conflicts_total",
      help:
        "Transaction attempts that lost a compare-and-swap race to another writer (each runs again from fresh reads, up to the attempt limit).",
      registers,
    });
    this.txns = new prom.Counter({
      name: "cassemadm_txns_total",
      help:
        "Mutations committed as one cassemdb transaction, by outcome: committed; conflict (every attempt lost, 409); unknown (cassemdb did not answer and the change was not found, 503).",
      labelNames: ["outcome"],
      registers,
    });
    this.loginFailures = new prom.Counter({
      name: "cassemadm_login_failures_total",
      help:
        "Failed logins, by reason: unauthorized (wrong account or password, or a disabled account), rate_limited, invalid (a malformed request).",
      labelNames: ["reason"],
      registers,
    });
  }
}

/** The login failure a response status stands for, if any. */
function loginFailureOf(status: number): LoginFailure | undefined {
  if (status === 401) return "unauthorized";
  if (status === 429) return "rate_limited";
  if (status === 400 || status === 413 || status === 415) return "invalid";
  return undefined;
}

/** Middleware for `POST /api/account/login`: counts its failures by reason. */
export function loginFailures(metrics: AdmMetrics): MiddlewareHandler {
  return async function loginFailuresMiddleware(c, next) {
    await next();
    const reason = c.req.method === "POST" ? loginFailureOf(c.res.status) : undefined;
    if (reason) metrics.loginFailures.inc({ reason });
  };
}
