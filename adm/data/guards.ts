/**
 * Reads that mutations start with, guarded in their Txn: the app (which
 * must exist and, for changes below it, be active: `deprecated` apps are
 * read-only), the env, the user.
 *
 * @module
 */

import {
  appKey,
  AppRecord,
  envKey,
  EnvRecord,
  userKey,
  UserRecord,
} from "../../shared/config/mod.ts";
import { ConflictError } from "../errors.ts";
import type { Stored } from "./read.ts";
import type { AdmTxn, ReadOptions } from "./txn.ts";

/** The app `app` (404 when absent). */
export function requireApp(
  tx: AdmTxn,
  app: string,
  options: ReadOptions = {},
): Promise<Stored<AppRecord>> {
  return tx.require(AppRecord, appKey(app), () => `app ${app} does not exist`, options);
}

/**
 * The app `app`, which must be active: every change below an app (envs,
 * elements, members, tokens) goes through this, so a deprecated app is
 * read-only, and a concurrent deprecation makes the change retry and fail.
 * @throws {NotFoundError} when it does not exist.
 * @throws {ConflictError} when it is deprecated.
 */
export async function requireActiveApp(
  tx: AdmTxn,
  app: string,
  doing: string,
): Promise<Stored<AppRecord>> {
  const stored = await requireApp(tx, app);
  if (stored.record.status !== "active") {
    throw new ConflictError(
      `Cannot ${doing} as app ${app} is read-only: current status is ${stored.record.status}`,
    );
  }
  return stored;
}

/** The env `env` of `app` (404 when absent). */
export function requireEnv(
  tx: AdmTxn,
  app: string,
  env: string,
  options: ReadOptions = {},
): Promise<Stored<EnvRecord>> {
  return tx.require(
    EnvRecord,
    envKey(app, env),
    () => `env ${env} of app ${app} does not exist`,
    options,
  );
}

/** The user `account` (404 when absent). */
export function requireUser(
  tx: AdmTxn,
  account: string,
  options: ReadOptions = {},
): Promise<Stored<UserRecord>> {
  return tx.require(UserRecord, userKey(account), () => `user ${account} does not exist`, options);
}
