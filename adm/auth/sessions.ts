/**
 * Sessions: created at login (with the session's TTL, in the Txn that
 * stamps the user's `lastLoginAt`, so a login racing a password change or
 * a disable retries against the new state), ended by logout, and ended all
 * at once (`sessionsPrefix(account)` unset as a directory) when a password
 * changes or a user is disabled.
 *
 * @module
 */

import {
  hashSecret,
  sessionKey,
  SessionRecord,
  sessionsPrefix,
  type UserRecord,
  UserRecord as UserSchema,
} from "../../shared/config/mod.ts";
import type { AdmTxn } from "../data/txn.ts";
import type { Stored } from "../data/read.ts";
import { newSessionToken } from "./tokens.ts";

/** A new session, as the login answers it. */
export interface NewSession {
  /** The bearer token (shown once). */
  readonly token: string;
  /** When it expires, ISO 8601. */
  readonly expiresAt: string;
}

/**
 * Stages a new session of `user` lasting `ttlSeconds` in `tx`, and the
 * user's `lastLoginAt`.
 */
export async function stageSession(
  tx: AdmTxn,
  user: Stored<UserRecord>,
  ttlSeconds: number,
): Promise<NewSession> {
  const { token, id, secret } = newSessionToken(user.record.account);
  const expiresAt = new Date(tx.now + ttlSeconds * 1000).toISOString();
  tx.put(
    SessionRecord,
    sessionKey(user.record.account, id),
    {
      id,
      account: user.record.account,
      secretHash: await hashSecret(secret),
      createdAt: tx.time,
      expiresAt,
    },
    { ttl: ttlSeconds },
  );
  tx.put(UserSchema, user.key, { ...user.record, lastLoginAt: tx.time });
  return { token, expiresAt };
}

/** Stages ending every session of `account` (its sessions directory, if any). */
export async function stageEndSessions(tx: AdmTxn, account: string): Promise<void> {
  await tx.remove(sessionsPrefix(account).slice(0, -1), { isDir: true });
}
