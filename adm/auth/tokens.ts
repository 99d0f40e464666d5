/**
 * The bearer tokens adm hands out, and how they are read back:
 *
 * - a session: `cs.{id}.{secret}.{account}`;
 * - an API token: `ct.{id}.{secret}.{app}`.
 *
 * `id` is 32 hex digits (the record's key), `secret` 43 base64url
 * characters (32 random bytes; only its SHA-256 is stored), and the last
 * part says where the record is (`sessionKey(account, id)`,
 * `tokenKey(app, id)`), so a token is checked with one read. Neither an
 * account nor an app holds "/", and the secret holds no ".", so the format
 * parses unambiguously.
 *
 * @module
 */

import { isName, newId, newSecret } from "../../shared/config/mod.ts";

/** A token split into its parts. */
export type ParsedToken =
  | {
    readonly kind: "session";
    readonly id: string;
    readonly secret: string;
    readonly account: string;
  }
  | { readonly kind: "api"; readonly id: string; readonly secret: string; readonly app: string };

const ID = /^[0-9a-f]{32}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** A new session token for `account`, with its id and secret. */
export function newSessionToken(account: string): { token: string; id: string; secret: string } {
  const id = newId();
  const secret = newSecret();
  return { token: `cs.${id}.${secret}.${account}`, id, secret };
}

/** A new API token for `app`, with its id and secret. */
export function newApiToken(app: string): { token: string; id: string; secret: string } {
  const id = newId();
  const secret = newSecret();
  return { token: `ct.${id}.${secret}.${app}`, id, secret };
}

/** The parts of `token`, or `undefined` when it is not a token adm could have made. */
export function parseToken(token: string): ParsedToken | undefined {
  const parts = token.split(".");
  if (parts.length < 4) return undefined;
  const [prefix, id, secret] = parts as [string, string, string];
  const owner = parts.slice(3).join(".");
  if (!ID.test(id) || !SECRET.test(secret)) return undefined;
  if (prefix === "cs" && isName("account", owner)) {
    return { kind: "session", id, secret, account: owner };
  }
  if (prefix === "ct" && isName("app", owner)) return { kind: "api", id, secret, app: owner };
  return undefined;
}
