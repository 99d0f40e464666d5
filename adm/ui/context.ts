/**
 * The Hono environment of the dashboard's routes: adm's own variables
 * (deps, request id) plus the logged-in page session.
 *
 * @module
 */

import type { Context } from "hono";
import type { AdmVariables } from "../http/context.ts";
import type { ApiFetch, UiApi } from "./api.ts";

/** Who is looking at a page, and how the page reaches the API for them. */
export interface UiSession {
  /** The API as this user (their token, this request's id). */
  readonly api: UiApi;
  /** The account logged in. */
  readonly account: string;
  /** Whether the account is a global admin. */
  readonly admin: boolean;
  /** The CSRF token every form of the page carries. */
  readonly csrf: string;
  /** A message left by the previous request (after a redirect). */
  readonly flash: string | undefined;
}

/** Context variables of the dashboard's routes. */
export interface UiVariables extends AdmVariables {
  /** The adm app's fetch (set for every dashboard route). */
  apiFetch: ApiFetch;
  /** The page session (set by `requireLogin` on every page but the login page). */
  ui: UiSession;
}

/** The Hono `Env` of the dashboard's routes. */
export interface UiEnv {
  /** See {@linkcode UiVariables}. */
  Variables: UiVariables;
}

/** A dashboard route's context. */
export type UiContext = Context<UiEnv>;

/** The page session of `c` (set by `requireLogin`). */
export function sessionOf(c: UiContext): UiSession {
  return c.get("ui");
}
