/**
 * How a route declares the permission it needs: {@linkcode defineRoute}
 * wraps `createRoute` of @hono/zod-openapi with a `permission`, which
 *
 * - installs the permission middleware as the route's first middleware
 *   (before its request validation, so a caller without access learns
 *   nothing from validation errors), and
 * - records the permission in the OpenAPI operation as
 *   `x-cassem-permission`, which the route × role test reads to cover
 *   every route, including ones added later.
 *
 * @module
 */

import { createRoute } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { isName, nameProblem } from "../../shared/config/mod.ts";
import { BadRequestError, ForbiddenError } from "../errors.ts";
import type { AdmEnv } from "../http/context.ts";
import { authenticate, bearerToken } from "./authenticate.ts";
import { isAppPermission, type Permission, rolesGrant } from "./permissions.ts";
import type { Principal } from "./principal.ts";

/** The OpenAPI extension field that carries a route's permission. */
export const PERMISSION_FIELD = "x-cassem-permission";

type RouteConfig = Parameters<typeof createRoute>[0];

/**
 * `createRoute(config)` plus the permission check: every adm route is
 * defined with this, never with `createRoute` directly.
 */
export function defineRoute<const R extends Omit<RouteConfig, "middleware">>(
  config: R & { permission: Permission },
): R & { getRoutingPath(): string } {
  const { permission, ...rest } = config;
  return createRoute({
    ...rest,
    [PERMISSION_FIELD]: permission,
    security: permission === "public" ? [] : [{ bearer: [] }],
    middleware: requirePermission(permission),
  } as RouteConfig) as unknown as R & { getRoutingPath(): string };
}

/** The app a request concerns: its `:app` path parameter, else its `app` query parameter. */
export function appOfRequest(c: Context<AdmEnv>): string | undefined {
  const app = c.req.param("app") ?? c.req.query("app");
  return app === undefined || app === "" ? undefined : app;
}

/** The middleware that authenticates the caller and checks `permission` (see `permissions.ts`). */
export function requirePermission(permission: Permission): MiddlewareHandler<AdmEnv> {
  return async function permissionCheck(c, next) {
    if (permission === "public") {
      c.set("principal", undefined);
      return await next();
    }
    const deps = c.get("deps");
    const token = bearerToken(c.req.header("Authorization"));
    const app = isAppPermission(permission) ? appOfRequest(c) : undefined;
    if (app !== undefined && !isName("app", app)) {
      // Said before authenticating: a malformed name cannot exist, so this reveals nothing.
      const field = c.req.param("app") !== undefined ? "path.app" : "query.app";
      throw new BadRequestError(`Cannot accept ${field} as ${nameProblem("app", app)}`, { field });
    }
    const principal = await authenticate(deps, token, app);
    check(principal, permission, app, c.req.method, c.req.path);
    c.set("principal", principal);
    await next();
  };
}

/**
 * Whether `principal` holds `permission` (on `app` for app permissions).
 * @throws {ForbiddenError} naming what is missing when it does not.
 */
export function check(
  principal: Principal,
  permission: Permission,
  app: string | undefined,
  method: string,
  path: string,
): void {
  const what = `${method} ${path}`;
  const who = principal.kind === "user"
    ? `account ${principal.account}`
    : `API token ${principal.name} (${principal.role} on ${principal.app})`;
  switch (permission) {
    case "public":
    case "authenticated":
      return;
    case "user":
      if (principal.kind === "user") return;
      throw new ForbiddenError(`Cannot ${what} as an API token: log in as a user`);
    case "admin":
      if (principal.kind === "user" && principal.admin) return;
      throw new ForbiddenError(`Cannot ${what} as ${who} is not an admin`);
  }
  if (principal.kind === "user" && principal.admin) return;
  if (app === undefined) {
    throw new ForbiddenError(
      `Cannot ${what} as ${who} is not an admin and no app was named: pass ?app=`,
      { field: "query.app" },
    );
  }
  const roles = principal.kind === "user"
    ? principal.roles
    : principal.app === app
    ? [principal.role]
    : [];
  if (rolesGrant(roles, permission)) return;
  throw new ForbiddenError(
    `Cannot ${what} as ${who} lacks ${permission} on app ${app}: current roles are ${
      roles.length > 0 ? roles.join(", ") : "none"
    }`,
  );
}

/**
 * Whether `principal` holds `permission` (on `app`): for what a handler
 * shows, not for access (e.g. unmasking a secret for `secret.read`).
 */
export function can(
  principal: Principal,
  permission: Permission,
  app: string | undefined,
): boolean {
  try {
    check(principal, permission, app, "", "");
    return true;
  } catch (e) {
    if (e instanceof ForbiddenError) return false;
    throw e;
  }
}
