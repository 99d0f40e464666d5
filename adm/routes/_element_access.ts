/**
 * What a caller may see or additionally do on the element routes, beyond
 * the permission each route declares: reading secrets (unmasked raws,
 * diffs and exports need `secret.read`) and the request options that also
 * publish (`publish: true` on a create or update, an import that publishes)
 * and so also need `element.publish`.
 *
 * @module
 */

import type { Context } from "hono";
import { can, check } from "../auth/route.ts";
import type { AppPermission } from "../auth/permissions.ts";
import { principalOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";

/** Whether the caller may read the secrets of `app`. */
export function maySeeSecrets(c: Context<AdmEnv>, app: string): boolean {
  return can(principalOf(c), "secret.read", app);
}

/**
 * Requires `permission` on `app` too, for a request option that needs more
 * than the route's own permission.
 * @throws {ForbiddenError} naming the permission when the caller lacks it.
 */
export function demand(c: Context<AdmEnv>, permission: AppPermission, app: string): void {
  check(principalOf(c), permission, app, c.req.method, c.req.path);
}
