/**
 * Who a bearer token belongs to, read from cassemdb on every request (one
 * linearizable read), so that a logout, a revoked token or a disabled user
 * is refused at once by every adm copy.
 *
 * @module
 */

import {
  ApiTokenRecord,
  decodeRecord,
  RoleBindingRecord,
  roleKey,
  sessionKey,
  SessionRecord,
  tokenKey,
  userKey,
  UserRecord,
  verifySecret,
} from "../../shared/config/mod.ts";
import type { AdmDeps } from "../deps.ts";
import { UnauthorizedError } from "../errors.ts";
import type { Principal } from "./principal.ts";
import { parseToken } from "./tokens.ts";

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The token of an `Authorization: Bearer <token>` header. @throws {UnauthorizedError} otherwise. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header === "") {
    throw new UnauthorizedError(
      "Cannot authenticate as the Authorization header is missing: send Authorization: Bearer <token>",
      { field: "header.Authorization" },
    );
  }
  const m = BEARER.exec(header);
  if (!m) {
    throw new UnauthorizedError(
      "Cannot authenticate as the Authorization header must be Bearer <token>",
      { field: "header.Authorization" },
    );
  }
  return m[1]!;
}

function ended(): UnauthorizedError {
  return new UnauthorizedError(
    "Cannot authenticate as the token is unknown, expired or revoked: log in again",
    { field: "header.Authorization" },
  );
}

/**
 * The principal of bearer `token`. `app`, when the route concerns one, is
 * the app whose role binding is read with the session (one round trip).
 * @throws {UnauthorizedError} for a malformed, unknown, expired or revoked
 * token, or a disabled or removed user.
 */
export async function authenticate(
  deps: AdmDeps,
  token: string,
  app: string | undefined,
): Promise<Principal> {
  const parsed = parseToken(token);
  if (!parsed) throw ended();
  const now = deps.clock();
  if (parsed.kind === "api") {
    const key = tokenKey(parsed.app, parsed.id);
    const { entity } = await deps.db.get(key);
    if (!entity) throw ended();
    const rec = decodeRecord(ApiTokenRecord, key, entity.val);
    if (!(await verifySecret(parsed.secret, rec.secretHash))) throw ended();
    if (rec.expiresAt !== null && Date.parse(rec.expiresAt) <= now) throw ended();
    return { kind: "token", id: rec.id, app: rec.app, role: rec.role, name: rec.name };
  }
  const sKey = sessionKey(parsed.account, parsed.id);
  const uKey = userKey(parsed.account);
  const rKey = app === undefined ? undefined : roleKey(app, parsed.account);
  const { entities } = await deps.db.getMany(rKey ? [sKey, uKey, rKey] : [sKey, uKey]);
  const byKey = new Map(entities.map((e) => [e.key, e]));
  const s = byKey.get(sKey);
  if (!s) throw ended();
  const session = decodeRecord(SessionRecord, sKey, s.val);
  if (!(await verifySecret(parsed.secret, session.secretHash))) throw ended();
  // The TTL removes it within moments of expiry; until then the time decides.
  if (Date.parse(session.expiresAt) <= now) throw ended();
  const u = byKey.get(uKey);
  const user = u ? decodeRecord(UserRecord, uKey, u.val) : undefined;
  if (!user || user.status !== "normal") {
    throw new UnauthorizedError(
      `Cannot authenticate as account ${parsed.account} is disabled: current status is ${
        user?.status ?? "removed"
      }`,
      { field: "header.Authorization" },
    );
  }
  const r = rKey ? byKey.get(rKey) : undefined;
  const roles = r && rKey ? decodeRecord(RoleBindingRecord, rKey, r.val).roles : [];
  return { kind: "user", account: user.account, admin: user.admin, sessionId: session.id, roles };
}
