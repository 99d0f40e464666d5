/**
 * What {@linkcode createApp} needs from outside: the cassemdb client, a
 * clock, a logger, the secret keyring and the configuration. adm keeps no
 * other state: any number of copies built on the same cassemdb behave as one.
 *
 * @module
 */

import { type Keyring, OPLOG_TTL_SECONDS } from "../shared/config/mod.ts";
import type { KvClient } from "../shared/db/mod.ts";
import type { Logger } from "../shared/log.ts";
import type { AdmMetrics } from "./http/metrics.ts";

/** Tunables of adm; {@linkcode DEFAULT_CONFIG} holds the defaults. */
export interface AdmConfig {
  /** How long a login session lasts, in seconds (its TTL in cassemdb). */
  sessionTtlSeconds: number;
  /** Failed or pending logins allowed per account per window before 429. */
  loginAttempts: number;
  /** The login rate-limit window, in seconds. */
  loginWindowSeconds: number;
  /** PBKDF2-SHA256 iterations for new password hashes (at least 600,000). */
  passwordIterations: number;
  /** Largest request body, in bytes. */
  maxBodyBytes: number;
  /** Most attempts of a transaction that keeps losing compare-and-swap races. */
  txnAttempts: number;
  /** Seconds an oplog entry is kept. */
  oplogTtlSeconds: number;
  /** Most oplog entries one `GET /api/oplog` reads while filtering, before it answers a cursor. */
  oplogScanLimit: number;
  /**
   * How long a commit whose outcome is unknown (cassemdb timed out) is
   * looked for, in ms, before the request fails 503.
   */
  unknownOutcomeWaitMs: number;
}

/** The defaults: 12-hour sessions, 5 logins a minute, 600,000 PBKDF2 iterations, 8 MiB bodies. */
export const DEFAULT_CONFIG: Readonly<AdmConfig> = {
  sessionTtlSeconds: 12 * 3600,
  loginAttempts: 5,
  loginWindowSeconds: 60,
  passwordIterations: 600_000,
  maxBodyBytes: 8 * 1024 * 1024,
  txnAttempts: 100,
  oplogTtlSeconds: OPLOG_TTL_SECONDS,
  oplogScanLimit: 2_000,
  unknownOutcomeWaitMs: 3_000,
};

/** Everything adm's routes use. */
export interface AdmDeps {
  /** The cassemdb client (a real cluster, or `MemoryDb` in tests). */
  db: KvClient;
  /** Milliseconds since the epoch (default `Date.now`); every timestamp and expiry uses it. */
  clock: () => number;
  /** Where request and error logs go. */
  logger: Logger;
  /** Keys for secret elements; `undefined` when none is configured (secret elements refused). */
  keyring: Keyring | undefined;
  /** Tunables. */
  config: AdmConfig;
  /** Where adm counts what it does (`createApp` sets a new one when absent). */
  metrics?: AdmMetrics;
}
