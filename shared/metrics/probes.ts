/**
 * Health endpoints, the same on every cassem service:
 *
 * - `GET /healthz`: the process is alive and its event loop answers: 200
 *   `{"ok":true}` (a supervisor restarts a process that stops answering).
 * - `GET /readyz`: the service can do its job now: 200 `{"ready":true,
 *   "checks":{...}}`, else 503 with `ready: false` and, in `checks`, each
 *   check's reason (a load balancer sends traffic only to ready copies).
 * - `GET /metrics`: the registry in the Prometheus text format.
 *
 * {@linkcode CachedCheck} runs a readiness check at most once per
 * `maxAgeMs`, however many probes arrive, and lets concurrent probes share
 * one run. {@linkcode probeRoutes} serves the three endpoints from a Hono
 * app; the plain-`Deno.serve` cassemdb debug server uses the response
 * functions directly.
 *
 * @module
 */

import { Hono } from "hono";
import { metricsResponse, type Registry } from "./registry.ts";

/** The answer of a readiness check. */
export interface ReadinessReport {
  /** Whether every check passed. */
  readonly ready: boolean;
  /** Each check's outcome: `"ok"`, or why it failed (one sentence naming what is missing). */
  readonly checks: Readonly<Record<string, string>>;
  /** Facts shown beside the checks that do not decide readiness (absent when none). */
  readonly info?: Readonly<Record<string, string>>;
}

/** A report from `checks` (and `info`): ready when each check says `"ok"`. */
export function reportOf(
  checks: Record<string, string>,
  info?: Record<string, string>,
): ReadinessReport {
  const ready = Object.values(checks).every((v) => v === "ok");
  return info ? { ready, checks, info } : { ready, checks };
}

/** Options of {@linkcode CachedCheck}. */
export interface CachedCheckOptions {
  /** How long a report is reused, in ms (default 1,000). */
  maxAgeMs?: number;
  /** Milliseconds, monotonic (default `performance.now`). */
  clock?: () => number;
}

/**
 * A readiness check run at most once per `maxAgeMs` (see the module doc). A
 * check that throws is a report naming the error under `check`.
 */
export class CachedCheck {
  readonly #check: () => Promise<ReadinessReport>;
  readonly #maxAgeMs: number;
  readonly #clock: () => number;
  #last: { at: number; report: ReadinessReport } | undefined;
  #running: Promise<ReadinessReport> | undefined;

  /** Wraps `check`. */
  constructor(check: () => Promise<ReadinessReport>, options: CachedCheckOptions = {}) {
    this.#check = check;
    this.#maxAgeMs = options.maxAgeMs ?? 1_000;
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** The last report if younger than `maxAgeMs`, else a new one (shared by concurrent callers). */
  get(): Promise<ReadinessReport> {
    const last = this.#last;
    if (last && this.#clock() - last.at < this.#maxAgeMs) return Promise.resolve(last.report);
    if (this.#running) return this.#running;
    const run = this.#check().catch((e): ReadinessReport =>
      reportOf({ check: `the check failed: ${e instanceof Error ? e.message : String(e)}` })
    ).then((report) => {
      // Aged from when the check ended: a slow check is not run back to back.
      this.#last = { at: this.#clock(), report };
      this.#running = undefined;
      return report;
    });
    this.#running = run;
    return run;
  }
}

/** `GET /healthz`: 200 `{"ok":true}`. */
export function healthResponse(): Response {
  return Response.json({ ok: true }, { headers: { "Cache-Control": "no-store" } });
}

/** `GET /readyz`: the report, 200 when ready, else 503. */
export function readinessResponse(report: ReadinessReport): Response {
  return Response.json(report, {
    status: report.ready ? 200 : 503,
    headers: { "Cache-Control": "no-store" },
  });
}

/** What {@linkcode probeRoutes} serves. */
export interface ProbeRoutesOptions {
  /** Rendered by `/metrics`; omit to serve no `/metrics`. */
  registry?: Registry;
  /** Answers `/readyz`. */
  readiness: CachedCheck;
}

/** A Hono app with `GET /healthz`, `GET /readyz` and (with a registry) `GET /metrics`. */
export function probeRoutes(options: ProbeRoutesOptions): Hono {
  const app = new Hono();
  app.get("/healthz", () => healthResponse());
  app.get("/readyz", async () => readinessResponse(await options.readiness.get()));
  const registry = options.registry;
  if (registry) app.get("/metrics", () => metricsResponse(registry));
  return app;
}
