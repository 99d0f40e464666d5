/**
 * The caller of a request, as handlers need it.
 *
 * @module
 */

import type { Context } from "hono";
import { operatorOf, type Principal } from "../auth/principal.ts";
import type { Actor } from "../data/txn.ts";
import type { AdmEnv } from "./context.ts";

/**
 * The authenticated principal of `c`.
 * @throws {Error} on a public route (a bug: such routes have none).
 */
export function principalOf(c: Context<AdmEnv>): Principal {
  const p = c.get("principal");
  if (!p) throw new Error("Cannot name the caller of a public route: it is not authenticated");
  return p;
}

/** The actor of `c` for the oplog: its operator and request id. */
export function actorOf(c: Context<AdmEnv>): Actor {
  return { operator: operatorOf(principalOf(c)), requestId: c.get("requestId") };
}
