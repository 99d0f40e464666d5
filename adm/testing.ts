/**
 * A test harness for adm: the app on an in-memory cassemdb (`MemoryDb`), or
 * on any `KvClient` given as `db` (a real cassemdb's `DbClient`), with a
 * controllable clock, a logged-in admin, and helpers to make users with
 * roles and API tokens without going through PBKDF2 for each. Route tests
 * call `t.request(...)`; no sockets between the test and adm.
 *
 * ```ts
 * const t = await createTestAdm();
 * await t.createTestApp("shop");
 * const dev = await t.userWithRoles("dev", { shop: ["developer"] });
 * const r = await t.request("GET", "/api/apps/shop", { token: dev });
 * assert.equal(r.status, 200);
 * ```
 *
 * @module
 */

import {
  bootstrapKey,
  BootstrapRecord,
  encodeRecord,
  hashSecret,
  newId,
  type PasswordHash,
  type Role,
  RoleBindingRecord,
  roleKey,
  sessionKey,
  SessionRecord,
  userKey,
  UserRecord,
} from "../shared/config/mod.ts";
import { type KvClient, MemoryDb } from "../shared/db/mod.ts";
import { createLogger, type Level, type Logger } from "../shared/log.ts";
import { type AdmApp, createApp } from "./app.ts";
import { BOOTSTRAP_ACCOUNT } from "./auth/bootstrap.ts";
import { hashPassword } from "./auth/passwords.ts";
import { newApiToken, newSessionToken } from "./auth/tokens.ts";
import { ApiTokenRecord, tokenKey } from "../shared/config/mod.ts";
import { type AdmConfig, type AdmDeps, DEFAULT_CONFIG } from "./deps.ts";
import type { Keyring } from "../shared/config/mod.ts";

/** The password of every user the harness makes (and of its admin). */
export const TEST_PASSWORD = "test-password-1";

let cachedHash: Promise<PasswordHash> | undefined;

/** One PBKDF2 hash of {@linkcode TEST_PASSWORD} per process (each costs ~0.2 s). */
export function testPasswordHash(): Promise<PasswordHash> {
  return (cachedHash ??= hashPassword(TEST_PASSWORD));
}

function userRecord(account: string, hash: PasswordHash, admin: boolean, time: string): UserRecord {
  return {
    account,
    nickname: account,
    password: hash,
    status: "normal",
    admin,
    createdBy: BOOTSTRAP_ACCOUNT,
    createdAt: time,
    updatedBy: BOOTSTRAP_ACCOUNT,
    updatedAt: time,
    passwordChangedAt: time,
    lastLoginAt: null,
  };
}

/** What a response of {@linkcode TestAdm.request} holds. */
export interface TestResponse {
  /** HTTP status. */
  readonly status: number;
  /** The body parsed as JSON, or the text when it is not JSON. */
  // deno-lint-ignore no-explicit-any
  readonly body: any;
  /** Response headers. */
  readonly headers: Headers;
}

/** Options of {@linkcode TestAdm.request}. */
export interface TestRequestOptions {
  /** Bearer token (default: none). */
  token?: string;
  /** A JSON body (serialized), or a string sent as is. */
  body?: unknown;
  /** More headers. */
  headers?: Record<string, string>;
}

/**
 * The harness {@linkcode createTestAdm} returns; `D` is the type of its
 * cassemdb (`MemoryDb` unless the options gave another `KvClient`).
 */
export interface TestAdm<D extends KvClient = MemoryDb> {
  /** The app under test. */
  readonly app: AdmApp;
  /** Its cassemdb: the harness's own `MemoryDb` (inspect raw values, `failNext`, ...) or the one given. */
  readonly db: D;
  /** The deps the app was built with. */
  readonly deps: AdmDeps;
  /** A session of the bootstrap `admin` (a global admin). */
  readonly adminToken: string;
  /** The harness clock, ms since the epoch. */
  now(): number;
  /**
   * Moves adm's clock forward by `ms`. On the harness's own `MemoryDb` the
   * TTLs that ran out by then expire too. A real cassemdb expires TTLs on its
   * own wall clock, which this does not move: there a key with a TTL outlives
   * an `advance` past it, so tests of expiry stay on `MemoryDb`.
   */
  advance(ms: number): void;
  /**
   * The store's revision now (a linearizable read): equal before and after
   * something means nothing was written in between, on any `KvClient`.
   */
  revision(): Promise<number>;
  /** Sends one request to the app. */
  request(method: string, path: string, options?: TestRequestOptions): Promise<TestResponse>;
  /** Creates app `app` as the admin (owner: the admin unless given). */
  createTestApp(app: string, owner?: string): Promise<void>;
  /**
   * Makes user `account` (password {@linkcode TEST_PASSWORD}) with `roles`
   * per app, and returns a session token of it.
   */
  userWithRoles(
    account: string,
    roles?: Record<string, Role[]>,
    options?: { admin?: boolean },
  ): Promise<string>;
  /** Makes an API token of `role` on `app` and returns it. */
  apiToken(app: string, role: Role): Promise<string>;
}

/** Options of {@linkcode createTestAdm}. */
export interface TestAdmOptions<D extends KvClient = MemoryDb> {
  /**
   * The cassemdb to use (default: a new `MemoryDb` on the harness clock). It
   * must hold no cassem keys yet (a fresh store): the harness writes what the
   * bootstrap writes, refused if an admin already exists. Not closed by the
   * harness.
   */
  db?: D;
  /** Config overrides. */
  config?: Partial<AdmConfig>;
  /** The secret keyring (default none). */
  keyring?: Keyring;
  /** Log level (default "error": quiet). */
  logLevel?: Level;
  /** A logger instead of stderr. */
  logger?: Logger;
}

/**
 * Builds the harness (see the module doc) on `options.db`, or on a new
 * `MemoryDb` that shares the harness clock.
 * @throws {Error} when `options.db` already holds a bootstrap record (not a fresh store).
 */
export async function createTestAdm<D extends KvClient = MemoryDb>(
  options: TestAdmOptions<D> = {},
): Promise<TestAdm<D>> {
  let now = Date.UTC(2025, 0, 1);
  const clock = () => now;
  const own = options.db === undefined ? new MemoryDb({ clock }) : undefined;
  const db = (options.db ?? own) as D;
  const deps: AdmDeps = {
    db,
    clock,
    logger: options.logger ?? createLogger("adm-test", options.logLevel ?? "error"),
    keyring: options.keyring,
    config: { ...DEFAULT_CONFIG, ...options.config },
  };
  const app = createApp(deps);
  const hash = await testPasswordHash();
  // What bootstrapAdmin writes, with the cached hash (a PBKDF2 hash per harness would cost 0.2 s).
  const time0 = new Date(now).toISOString();
  const boot = await db.txn()
    .if(bootstrapKey(), { mustNotExist: true })
    .set(
      bootstrapKey(),
      encodeRecord(BootstrapRecord, {
        account: BOOTSTRAP_ACCOUNT,
        createdAt: time0,
        nonce: newId(),
      }),
    )
    .set(
      userKey(BOOTSTRAP_ACCOUNT),
      encodeRecord(UserRecord, userRecord(BOOTSTRAP_ACCOUNT, hash, true, time0)),
    )
    .commit();
  if (!boot.succeeded) {
    throw new Error(
      `Cannot create the test harness as its db is not fresh: current ${bootstrapKey()} exists`,
    );
  }

  async function session(account: string): Promise<string> {
    const { token, id, secret } = newSessionToken(account);
    const ttl = deps.config.sessionTtlSeconds;
    await db.set(
      sessionKey(account, id),
      encodeRecord(SessionRecord, {
        id,
        account,
        secretHash: await hashSecret(secret),
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + ttl * 1000).toISOString(),
      }),
      { ttl },
    );
    return token;
  }

  const t: TestAdm<D> = {
    app,
    db,
    deps,
    adminToken: await session(BOOTSTRAP_ACCOUNT),
    now: clock,
    advance(ms) {
      now += ms;
      own?.expireDue();
    },
    async revision() {
      return (await db.get(bootstrapKey())).revision;
    },
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token !== undefined) headers["Authorization"] = `Bearer ${opts.token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
        headers["Content-Type"] ??= "application/json";
      }
      const res = await app.request(path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch { /* not JSON: keep the text */ }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async createTestApp(id, owner) {
      const r = await t.request("POST", `/api/apps/${id}`, {
        token: t.adminToken,
        body: owner === undefined ? {} : { owner },
      });
      if (r.status !== 201) throw new Error(`Cannot create app ${id}: ${JSON.stringify(r.body)}`);
    },
    async userWithRoles(account, roles = {}, opts = {}) {
      const time = new Date(now).toISOString();
      await db.set(
        userKey(account),
        encodeRecord(UserRecord, userRecord(account, hash, opts.admin ?? false, time)),
        { overwrite: true },
      );
      for (const [appId, rs] of Object.entries(roles)) {
        await db.set(
          roleKey(appId, account),
          encodeRecord(RoleBindingRecord, {
            app: appId,
            account,
            roles: rs,
            grantedBy: BOOTSTRAP_ACCOUNT,
            grantedAt: time,
          }),
          { overwrite: true },
        );
      }
      return await session(account);
    },
    async apiToken(appId, role) {
      const { token, id, secret } = newApiToken(appId);
      await db.set(
        tokenKey(appId, id),
        encodeRecord(ApiTokenRecord, {
          id,
          app: appId,
          role,
          name: `test-${role}`,
          secretHash: await hashSecret(secret),
          createdBy: BOOTSTRAP_ACCOUNT,
          createdAt: new Date(now).toISOString(),
          expiresAt: null,
        }),
      );
      return token;
    },
  };
  return t;
}
