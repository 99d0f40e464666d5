/**
 * The Hono environment of adm's routes: what middleware put on the context
 * for the handlers.
 *
 * @module
 */

import type { Principal } from "../auth/principal.ts";
import type { AdmDeps } from "../deps.ts";

/** Context variables set by adm's middleware. */
export interface AdmVariables {
  /** The request id: the caller's `X-Request-Id`, or a new one (echoed in the response). */
  requestId: string;
  /**
   * Who is calling, once the route's permission check authenticated them;
   * `undefined` on public routes.
   */
  principal: Principal | undefined;
  /** What the app was built with (set first, for middleware defined outside `createApp`). */
  deps: AdmDeps;
}

/** The Hono `Env` of every adm app and route group. */
export interface AdmEnv {
  /** See {@linkcode AdmVariables}. */
  Variables: AdmVariables;
}
