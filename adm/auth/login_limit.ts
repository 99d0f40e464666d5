/**
 * The login rate limit: at most `config.loginAttempts` logins per account
 * per `config.loginWindowSeconds`, counted in cassemdb (one record per
 * account with the window as its TTL, updated with compare-and-swap) so
 * every adm copy counts into the same window. An attempt is counted BEFORE
 * its password is checked, so concurrent guesses through many copies cannot
 * slip past the limit; a successful login clears the count.
 *
 * @module
 */

import {
  decodeRecord,
  encodeRecord,
  loginLimitKey,
  LoginLimitRecord,
} from "../../shared/config/mod.ts";
import type { Condition } from "../../shared/db/mod.ts";
import { isCompareFailed, isNotFound } from "../../shared/db/mod.ts";
import type { AdmDeps } from "../deps.ts";
import { RateLimitedError } from "../errors.ts";

const MAX_RACES = 32;

function limited(account: string, deps: AdmDeps, retryAfterMs: number): RateLimitedError {
  const { loginAttempts, loginWindowSeconds } = deps.config;
  return new RateLimitedError(
    `Cannot log in as ${account} as it had ${loginAttempts} attempts in ${loginWindowSeconds} s: retry in ${
      Math.ceil(retryAfterMs / 1000)
    } s`,
    retryAfterMs / 1000,
  );
}

/**
 * Counts one login attempt of `account`.
 * @throws {RateLimitedError} when the window already holds the maximum.
 */
export async function countLoginAttempt(deps: AdmDeps, account: string): Promise<void> {
  const key = loginLimitKey(account);
  const { loginAttempts, loginWindowSeconds } = deps.config;
  for (let race = 0; race < MAX_RACES; race++) {
    const { entity } = await deps.db.get(key);
    const now = deps.clock();
    let record: LoginLimitRecord;
    let condition: Condition;
    let ttl: number;
    const rec = entity ? decodeRecord(LoginLimitRecord, key, entity.val) : undefined;
    const windowEnd = rec ? Date.parse(rec.windowStartedAt) + loginWindowSeconds * 1000 : 0;
    if (rec && entity && windowEnd > now) {
      if (rec.failures >= loginAttempts) throw limited(account, deps, windowEnd - now);
      record = { ...rec, failures: rec.failures + 1 };
      condition = { modRevision: entity.modRevision };
      ttl = Math.max(1, Math.ceil((windowEnd - now) / 1000));
    } else {
      record = { account, failures: 1, windowStartedAt: new Date(now).toISOString() };
      // A record past its window may already be expired in the store (absent to
      // conditions) but not yet removed: alternate the two conditions.
      condition = entity && race % 2 === 0
        ? { modRevision: entity.modRevision }
        : { mustNotExist: true };
      ttl = loginWindowSeconds;
    }
    try {
      await deps.db.set(key, encodeRecord(LoginLimitRecord, record), { condition, ttl });
      return;
    } catch (e) {
      if (!isCompareFailed(e)) throw e;
    }
  }
  throw limited(account, deps, 1000);
}

/** Clears the attempts of `account` after a successful login (best effort: the TTL ends them anyway). */
export async function clearLoginAttempts(deps: AdmDeps, account: string): Promise<void> {
  try {
    await deps.db.unset(loginLimitKey(account));
  } catch (e) {
    if (!isNotFound(e)) {
      deps.logger.warn("cannot clear login attempts", { account, error: String(e) });
    }
  }
}
