/**
 * A route group: one route file's routes and where they are mounted.
 *
 * @module
 */

import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AdmDeps } from "../deps.ts";
import type { AdmEnv } from "../http/context.ts";

/**
 * One route group: mounted at `base` (under `/api`). The element side's
 * groups are listed in `element_groups.ts`, the others in `app.ts`'s
 * `ROUTE_GROUPS`.
 */
export interface RouteGroup {
  /** Where it is mounted, below `/api`, in Hono's syntax (e.g. `/apps/:app/envs`). */
  readonly base: string;
  /** Builds the group's routes (an OpenAPIHono with `defaultHook: validationHook`). */
  readonly build: (deps: AdmDeps) => OpenAPIHono<AdmEnv>;
}
