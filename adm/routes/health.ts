/**
 * `GET /api/health`: whether this copy can reach cassemdb (200) or not
 * (503), without credentials, for load balancers and start scripts.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import { bootstrapKey } from "../../shared/config/mod.ts";
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
