/**
 * Who is calling: a logged-in user or an API token.
 *
 * @module
 */

import type { Role } from "../../shared/config/mod.ts";

/** A user with a session. */
export interface UserPrincipal {
  /** Discriminant. */
  readonly kind: "user";
  /** The account. */
  readonly account: string;
  /** Whether the user is a global admin. */
  readonly admin: boolean;
  /** The session id (logout ends it). */
  readonly sessionId: string;
  /** The roles on the app the route concerns (empty when none or no app). */
  readonly roles: readonly Role[];
}

/** An API token, scoped to one app and one role. */
export interface TokenPrincipal {
  /** Discriminant. */
  readonly kind: "token";
  /** The token's id. */
  readonly id: string;
  /** The app it is scoped to. */
  readonly app: string;
  /** Its one role on that app. */
  readonly role: Role;
  /** Its name, for logs. */
  readonly name: string;
}

/** A caller. */
export type Principal = UserPrincipal | TokenPrincipal;

/** How a principal is named in the oplog and logs: the account, or `token:{app}/{id}`. */
export function operatorOf(p: Principal): string {
  return p.kind === "user" ? p.account : `token:${p.app}/${p.id}`;
}
