/**
 * `createApp(deps)`: the cassemadm REST API as a Hono app. It holds no
 * state beyond `deps`; tests call `app.request(...)`, `main.ts` serves it
 * with `Deno.serve`.
 *
 * Every request goes through, in order: its metrics (by route pattern and
 * status), the request id (the current one for everything the request
 * does: log lines, cassemdb calls), the access log, the body limit, then
 * the route's own permission check (declared with `defineRoute`) and
 * validation, then its handler. Errors of every kind are answered once, by
 * `http/error_handler.ts`.
 *
 * Beside `/api`, the root serves `/healthz`, `/readyz` and `/metrics`
 * without credentials (`routes/health.ts`): scrapers and load balancers do
 * not log in. `main.ts` moves `/metrics` to a port of its own with
 * `--metrics-listen`.
 *
 * @module
 */

import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import type { AdmDeps } from "./deps.ts";
import type { RouteGroup } from "./routes/route_group.ts";
import { PayloadTooLargeError } from "./errors.ts";
import { accessLog } from "./http/access_log.ts";
import { AdmMetrics, loginFailures } from "./http/metrics.ts";
import type { AdmEnv } from "./http/context.ts";
import { onError, onNotFound } from "./http/error_handler.ts";
import { requestId } from "./http/request_id.ts";
import { validationHook } from "./http/validation.ts";
import { accountRoutes } from "./routes/account.ts";
import { appsRoutes } from "./routes/apps.ts";
import { clusterRoutes } from "./routes/cluster.ts";
import { docsRoutes, openApiDocument } from "./routes/docs.ts";
import { ELEMENT_ROUTE_GROUPS } from "./routes/element_groups.ts";
import { envsRoutes } from "./routes/envs.ts";
import { healthRoutes, probeApp } from "./routes/health.ts";
import { httpMetrics } from "../shared/metrics/mod.ts";
import { membersRoutes } from "./routes/members.ts";
import { oplogRoutes } from "./routes/oplog.ts";
import { tokensRoutes } from "./routes/tokens.ts";
import { usersRoutes } from "./routes/users.ts";
import { dashboardRoutes } from "./ui/mod.ts";

export type { RouteGroup } from "./routes/route_group.ts";

/** The adm app: an OpenAPIHono whose routes all live under `/api`. */
export type AdmApp = OpenAPIHono<AdmEnv>;

/**
 * Every route group, in mounting order. Groups with fixed paths come before
 * groups whose paths have parameters at the same depth.
 */
export const ROUTE_GROUPS: readonly RouteGroup[] = [
  { base: "/account", build: accountRoutes },
  { base: "/users", build: usersRoutes },
  { base: "/apps", build: appsRoutes },
  { base: "/apps/:app/envs", build: envsRoutes },
  { base: "/apps/:app/members", build: membersRoutes },
  { base: "/apps/:app/tokens", build: tokensRoutes },
  { base: "/oplog", build: oplogRoutes },
  { base: "/cluster", build: clusterRoutes },
  { base: "/health", build: healthRoutes },
];

/** Options of {@linkcode createApp}. */
export interface AppOptions {
  /** Serve `GET /metrics` (default true; false when it has a port of its own). */
  serveMetrics?: boolean;
}

/**
 * Builds the adm app on `deps` (see the module doc). Sets `deps.metrics`
 * to a new {@linkcode AdmMetrics} when it is not set.
 */
export function createApp(deps: AdmDeps, options: AppOptions = {}): AdmApp {
  const metrics = deps.metrics ??= new AdmMetrics();
  const app = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });
  app.use("*", async function provideDeps(c, next) {
    c.set("deps", deps);
    await next();
  });
  app.use("*", httpMetrics(metrics.http));
  app.use("*", requestId());
  app.use("*", accessLog());
  app.use("/api/account/login", loginFailures(metrics));
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: deps.config.maxBodyBytes,
      onError: () => {
        throw new PayloadTooLargeError(
          `Cannot read the body as it must be at most ${deps.config.maxBodyBytes} bytes`,
          { field: "body" },
        );
      },
    }),
  );
  const api = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });
  for (const g of [...ROUTE_GROUPS, ...ELEMENT_ROUTE_GROUPS]) api.route(g.base, g.build(deps));
  api.route("/", docsRoutes(() => openApiDocument(app)));
  app.route("/api", api);
  // Before the dashboard, whose pages are also at the root.
  app.route("/", probeApp(deps, options.serveMetrics === false ? undefined : metrics));
  app.route("/", dashboardRoutes((request) => app.fetch(request))); // the web dashboard (ui/)
  app.onError(onError);
  app.notFound(onNotFound);
  return app;
}
