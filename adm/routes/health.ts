/**
 * Health routes, without credentials:
 *
 * - `GET /api/health`: whether this copy can reach cassemdb (200) or not
 *   (503), in the API and its OpenAPI document;
 * - `GET /healthz` (the process answers) and `GET /readyz` (cassemdb answers
 *   a linearizable read within a second: it is reachable and has a leader;
 *   checked at most once a second) at the root, for load balancers and
 *   orchestrators, beside `GET /metrics` ({@linkcode probeApp}).
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Hono } from "hono";
import { bootstrapKey } from "../../shared/config/mod.ts";
import { CachedCheck, probeRoutes, reportOf } from "../../shared/metrics/mod.ts";
import type { AdmMetrics } from "../http/metrics.ts";
import { defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import type { AdmEnv } from "../http/context.ts";
import { validationHook } from "../http/validation.ts";
import { errorResponses, jsonResponse } from "./_schemas.ts";

const HealthSchema = z.object({
  status: z.literal("ok"),
  revision: z.number().openapi({ description: "cassemdb's revision when it answered" }),
});

const health = defineRoute({
  method: "get",
  path: "/",
  tags: ["health"],
  summary: "Whether cassemdb answers a linearizable read",
  permission: "public",
  responses: { 200: jsonResponse(HealthSchema, "cassemdb answers"), ...errorResponses() },
});

/** The health route, mounted at `/api/health`. */
export function healthRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });
  r.openapi(health, async (c) => {
    const { revision } = await deps.db.get(bootstrapKey(), { timeoutMs: 2_000 });
    return c.json({ status: "ok" as const, revision }, 200);
  });
  return r;
}

/** How long `/readyz` waits for cassemdb, in ms. */
const READY_TIMEOUT_MS = 1_000;

/**
 * Whether cassemdb answers a linearizable read (of the bootstrap record)
 * within {@linkcode READY_TIMEOUT_MS}: it is reachable and has a leader.
 * Runs at most once a second, however many probes arrive.
 */
export function admReadiness(deps: AdmDeps): CachedCheck {
  return new CachedCheck(async () => {
    try {
      await deps.db.get(bootstrapKey(), { timeoutMs: READY_TIMEOUT_MS });
      return reportOf({ cassemdb: "ok" });
    } catch (e) {
      return reportOf({
        cassemdb: `cassemdb did not answer a linearizable read within ${READY_TIMEOUT_MS} ms: ${
          e instanceof Error ? e.message : String(e)
        }`,
      });
    }
  }, { clock: deps.clock });
}

/**
 * `GET /healthz`, `GET /readyz` and, unless `metrics` is undefined,
 * `GET /metrics`, to mount at the root of an app.
 */
export function probeApp(deps: AdmDeps, metrics: AdmMetrics | undefined): Hono {
  return probeRoutes({ registry: metrics?.registry, readiness: admReadiness(deps) });
}
