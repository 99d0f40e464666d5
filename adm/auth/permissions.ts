/**
 * The permission model, as one table: what each role may do. Every route
 * declares one {@linkcode Permission} (`auth/route.ts`); the permission
 * middleware checks it against the caller, so no handler checks access
 * itself.
 *
 * - `public`: anyone, no credentials (login, the OpenAPI document, docs).
 * - `authenticated`: any valid session or API token.
 * - `user`: a logged-in user (not an API token): logout, own password.
 * - `admin`: a global admin only (users, creating apps).
 * - app permissions (`app.read`, `element.write`, ...): a global admin, or a
 *   caller holding a role on the route's app (the `:app` path parameter, or
 *   the `app` query parameter where the path has none) that grants it.
 *
 * @module
 */

import type { Role } from "../../shared/config/mod.ts";

/** The permissions scoped to one app, granted by roles. */
export const APP_PERMISSIONS = [
  "app.read",
  "app.write",
  "app.delete",
  "app.members",
  "env.write",
  "element.read",
  "element.write",
  "element.publish",
  "element.approve",
  "secret.read",
  "oplog.read",
] as const;

/** A permission scoped to one app. */
export type AppPermission = typeof APP_PERMISSIONS[number];

/** What a route requires. */
export type Permission = "public" | "authenticated" | "user" | "admin" | AppPermission;

const VIEWER: readonly AppPermission[] = ["app.read", "element.read", "oplog.read"];

/**
 * The one table: the app permissions each role grants. A global admin holds
 * every permission on every app.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly AppPermission[]>> = {
  viewer: VIEWER,
  developer: [...VIEWER, "element.write", "secret.read"],
  releaser: [...VIEWER, "element.publish", "element.approve", "secret.read"],
  owner: APP_PERMISSIONS,
};

/** Whether `permission` is scoped to an app. */
export function isAppPermission(permission: Permission): permission is AppPermission {
  return (APP_PERMISSIONS as readonly string[]).includes(permission);
}

/** Whether any of `roles` grants `permission`. */
export function rolesGrant(roles: readonly Role[], permission: AppPermission): boolean {
  return roles.some((r) => ROLE_PERMISSIONS[r].includes(permission));
}
