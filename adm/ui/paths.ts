/**
 * The dashboard's own URLs, built in one place (names percent-encoded).
 *
 * @module
 */

import { type Query, withQuery } from "./api.ts";

const e = encodeURIComponent;

/** `/apps/{app}`: an app and its envs. */
export function appPage(app: string): string {
  return `/apps/${e(app)}`;
}

/** `/apps/{app}/envs/{env}`: an env and its elements. */
export function envPage(app: string, env: string): string {
  return `${appPage(app)}/envs/${e(env)}`;
}

/** `/apps/{app}/envs/{env}/elements/{key}` plus `rest` (`/edit`, `/diff`, ...) and a query. */
export function elementPage(
  app: string,
  env: string,
  key: string,
  rest = "",
  query?: Query,
): string {
  return withQuery(`${envPage(app, env)}/elements/${e(key)}${rest}`, query);
}

/** `/instances` with filters. */
export function instancesPage(query?: Query): string {
  return withQuery("/instances", query);
}

/** `/oplog` with filters. */
export function oplogPage(query?: Query): string {
  return withQuery("/oplog", query);
}

/** Whether `next` is a path of this site (not `//host` or a scheme): where a login may return to. */
export function isLocalPath(next: string | undefined): next is string {
  return next !== undefined && next.startsWith("/") && !next.startsWith("//") &&
    !next.startsWith("/\\");
}
