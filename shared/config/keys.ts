/**
 * Every cassemdb key cassem uses, built and parsed here and nowhere else
 * (`layout.md` describes each one and its record). Builders take names that
 * were already validated (`names.ts`) and check them again: a key built from
 * a bad name would land somewhere else in the tree, so they throw
 * {@linkcode InvalidNameError} instead.
 *
 * Prefixes end with "/" so that a range over one never catches a sibling
 * whose name merely starts the same way (`apps/a/` is not `apps/ab/`).
 *
 * @module
 */

import { checkName, isName } from "./names.ts";

/** The root of everything cassem stores in cassemdb. */
export const ROOT = "cassem";

/** Digits of a version number in its key, so that key order is version order. */
export const VERSION_DIGITS = 10;
/** The largest version number a key can hold. */
export const MAX_VERSION = 10 ** VERSION_DIGITS - 1;
/** Digits of the inverted time in an oplog key. */
const OPLOG_TIME_DIGITS = 13;
/** Oplog keys count down from this many ms (year 2286), so that key order is newest first. */
export const OPLOG_TIME_MAX = 10 ** OPLOG_TIME_DIGITS - 1;

/** The record of the one-time `admin` bootstrap. */
export function bootstrapKey(): string {
  return `${ROOT}/system/bootstrap`;
}

// ---- apps and envs --------------------------------------------------------------

/** Prefix of every app record (range it, with a name prefix appended, to list apps). */
export function appsPrefix(): string {
  return `${ROOT}/apps/`;
}

/** The record of app `app`. */
export function appKey(app: string): string {
  return `${appsPrefix()}${checkName("app", app)}`;
}

/** Prefix of the env records of `app`. */
export function envsPrefix(app: string): string {
  return `${ROOT}/envs/${checkName("app", app)}/`;
}

/** The record of env `env` of `app`. */
export function envKey(app: string, env: string): string {
  return `${envsPrefix(app)}${checkName("env", env)}`;
}

// ---- elements --------------------------------------------------------------------

/** Prefix of the element metadata of one env (range it to list elements). */
export function elementsPrefix(app: string, env: string): string {
  return `${ROOT}/meta/${checkName("app", app)}/${checkName("env", env)}/`;
}

/** The metadata record of element `key`. */
export function elementKey(app: string, env: string, key: string): string {
  return `${elementsPrefix(app, env)}${checkName("element", key)}`;
}

/** Prefix of the version records of one element (range it to list versions, oldest first). */
export function versionsPrefix(app: string, env: string, key: string): string {
  return `${ROOT}/versions/${checkName("app", app)}/${checkName("env", env)}/${
    checkName("element", key)
  }/`;
}

/**
 * The record of version `version` (1..{@linkcode MAX_VERSION}) of element
 * `key`; the number is zero-padded so that key order is version order.
 * @throws {RangeError} for a version out of range.
 */
export function versionKey(app: string, env: string, key: string, version: number): string {
  if (!Number.isInteger(version) || version < 1 || version > MAX_VERSION) {
    throw new RangeError(
      `Cannot build a version key as the version must be an integer in [1, ${MAX_VERSION}]: current value is ${version}`,
    );
  }
  return `${versionsPrefix(app, env, key)}${String(version).padStart(VERSION_DIGITS, "0")}`;
}

/** The version number of a key from {@linkcode versionKey}, or `undefined` for another key. */
export function parseVersionKey(key: string): number | undefined {
  const last = key.slice(key.lastIndexOf("/") + 1);
  if (!key.startsWith(`${ROOT}/versions/`) || !/^\d+$/.test(last)) return undefined;
  if (last.length !== VERSION_DIGITS) return undefined;
  const n = Number(last);
  return n >= 1 ? n : undefined;
}

/** Prefix of the pending publish requests of one env. */
export function approvalsPrefix(app: string, env: string): string {
  return `${ROOT}/approvals/${checkName("app", app)}/${checkName("env", env)}/`;
}

/** The pending publish request of element `key` (at most one per element). */
export function approvalKey(app: string, env: string, key: string): string {
  return `${approvalsPrefix(app, env)}${checkName("element", key)}`;
}

// ---- serve records: what agents watch --------------------------------------------------

/** The one prefix agents list and watch: everything they need to answer clients. */
export function servePrefix(): string {
  return `${ROOT}/serve/`;
}

/** Prefix of everything served for `app`. */
export function serveAppPrefix(app: string): string {
  return `${servePrefix()}${checkName("app", app)}/`;
}

/** The served app record (status). */
export function serveAppKey(app: string): string {
  return `${serveAppPrefix(app)}_app`;
}

/** Prefix of everything served for one env. */
export function serveEnvPrefix(app: string, env: string): string {
  return `${serveAppPrefix(app)}${checkName("env", env)}/`;
}

/** The served env record (client secret hash). */
export function serveEnvKey(app: string, env: string): string {
  return `${serveEnvPrefix(app, env)}_env`;
}

/** The directory holding the served records of one element (`live`, `gray`). */
export function serveElementDir(app: string, env: string, key: string): string {
  return `${serveEnvPrefix(app, env)}${checkName("element", key)}`;
}

/** The published (live) version of one element, as agents serve it. */
export function serveLiveKey(app: string, env: string, key: string): string {
  return `${serveElementDir(app, env, key)}/live`;
}

/** The gray version of one element and its rule, as agents serve it. */
export function serveGrayKey(app: string, env: string, key: string): string {
  return `${serveElementDir(app, env, key)}/gray`;
}

/** What a key under {@linkcode servePrefix} is. */
export type ServeKey =
  | { readonly kind: "app"; readonly app: string }
  | { readonly kind: "env"; readonly app: string; readonly env: string }
  | {
    readonly kind: "live" | "gray";
    readonly app: string;
    readonly env: string;
    readonly key: string;
  };

/**
 * What the key of a served record is, or `undefined` for any other key
 * (the directories above the records included: agents skip those).
 */
export function parseServeKey(key: string): ServeKey | undefined {
  const prefix = servePrefix();
  if (!key.startsWith(prefix)) return undefined;
  const parts = key.slice(prefix.length).split("/");
  const [app, second, third, fourth] = parts;
  if (!isName("app", app)) return undefined;
  if (parts.length === 2 && second === "_app") return { kind: "app", app };
  if (!isName("env", second)) return undefined;
  if (parts.length === 3 && third === "_env") return { kind: "env", app, env: second };
  if (parts.length === 4 && isName("element", third) && (fourth === "live" || fourth === "gray")) {
    return { kind: fourth, app, env: second, key: third };
  }
  return undefined;
}

// ---- cluster: written by cassemagent ----------------------------------------------------

/** Prefix of the agent records. */
export function agentsPrefix(): string {
  return `${ROOT}/agents/`;
}

/** The record of agent `agentId` (with a TTL, renewed by the agent). */
export function agentKey(agentId: string): string {
  return `${agentsPrefix()}${checkName("agent", agentId)}`;
}

/** Prefix of the instance records. */
export function instancesPrefix(): string {
  return `${ROOT}/instances/`;
}

/** The record of client instance `clientId` (with a TTL, renewed through an agent). */
export function instanceKey(clientId: string): string {
  return `${instancesPrefix()}${checkName("client", clientId)}`;
}

/** The last segment of a key under `prefix` when it is a valid name of `kind`. */
function leafName(key: string, prefix: string, kind: "agent" | "client"): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  return isName(kind, rest) ? rest : undefined;
}

/** The agent id of a key from {@linkcode agentKey}, or `undefined`. */
export function parseAgentKey(key: string): string | undefined {
  return leafName(key, agentsPrefix(), "agent");
}

/** The client id of a key from {@linkcode instanceKey}, or `undefined`. */
export function parseInstanceKey(key: string): string | undefined {
  return leafName(key, instancesPrefix(), "client");
}

// ---- accounts and access ------------------------------------------------------------------

/** Prefix of the user records. */
export function usersPrefix(): string {
  return `${ROOT}/users/`;
}

/** The record of user `account`. */
export function userKey(account: string): string {
  return `${usersPrefix()}${checkName("account", account)}`;
}

/** Prefix of the role bindings of `app`. */
export function rolesPrefix(app: string): string {
  return `${ROOT}/roles/${checkName("app", app)}/`;
}

/** The role binding of `account` on `app`. */
export function roleKey(app: string, account: string): string {
  return `${rolesPrefix(app)}${checkName("account", account)}`;
}

/** Session and token ids: 16 to 64 lowercase hex digits. */
const ID = /^[0-9a-f]{16,64}$/;

/** @throws {TypeError} when `id` is not 16 to 64 lowercase hex digits. */
function checkId(what: string, id: string): string {
  if (!ID.test(id)) {
    throw new TypeError(
      `Cannot build a ${what} key as the id must be 16 to 64 lowercase hex digits: current value is ${
        JSON.stringify(id)
      }`,
    );
  }
  return id;
}

/** Prefix of the sessions of `account` (a directory: unset it to end them all). */
export function sessionsPrefix(account: string): string {
  return `${ROOT}/sessions/${checkName("account", account)}/`;
}

/** The session `id` of `account` (with a TTL). */
export function sessionKey(account: string, id: string): string {
  return `${sessionsPrefix(account)}${checkId("session", id)}`;
}

/** Prefix of the API tokens of `app`. */
export function tokensPrefix(app: string): string {
  return `${ROOT}/tokens/${checkName("app", app)}/`;
}

/** The API token `id` of `app` (with a TTL when it expires). */
export function tokenKey(app: string, id: string): string {
  return `${tokensPrefix(app)}${checkId("token", id)}`;
}

/** The login failure counter of `account` (with a TTL: the rate-limit window). */
export function loginLimitKey(account: string): string {
  return `${ROOT}/ratelimit/login/${checkName("account", account)}`;
}

// ---- operation log -------------------------------------------------------------------------

/** Prefix of the operation log (key order: newest first). */
export function oplogPrefix(): string {
  return `${ROOT}/oplog/`;
}

/** Zero-padded `OPLOG_TIME_MAX - timeMs`. */
function invertedTime(timeMs: number): string {
  if (!Number.isInteger(timeMs) || timeMs < 0 || timeMs > OPLOG_TIME_MAX) {
    throw new RangeError(
      `Cannot build an oplog key as the time must be an integer in [0, ${OPLOG_TIME_MAX}] ms: current value is ${timeMs}`,
    );
  }
  return String(OPLOG_TIME_MAX - timeMs).padStart(OPLOG_TIME_DIGITS, "0");
}

/**
 * The key of the oplog entry made at `timeMs` (ms since the epoch) with a
 * unique `id` (lowercase hex, see {@linkcode newId}): entries sort newest
 * first, and entries of the same ms by id.
 */
export function oplogKey(timeMs: number, id: string): string {
  return `${oplogPrefix()}${invertedTime(timeMs)}-${checkId("oplog", id)}`;
}

/**
 * The `seek` for a range of the oplog that starts at entries made at or
 * before `timeMs` (range starts strictly after the seek key, and every
 * entry of `timeMs` sorts after it).
 */
export function oplogSeekAt(timeMs: number): string {
  return `${oplogPrefix()}${invertedTime(timeMs)}`;
}

/** The time (ms) and id of an oplog key, or `undefined` for another key. */
export function parseOplogKey(key: string): { timeMs: number; id: string } | undefined {
  if (!key.startsWith(oplogPrefix())) return undefined;
  const m = /^(\d{13})-([0-9a-f]{16,64})$/.exec(key.slice(oplogPrefix().length));
  if (!m) return undefined;
  return { timeMs: OPLOG_TIME_MAX - Number(m[1]), id: m[2]! };
}

// ---- what to remove with a resource ------------------------------------------------------------

/** A key to unset with a resource, and whether it is a directory (unset with `isDir`). */
export interface Tree {
  /** The key of the directory or record. */
  readonly key: string;
  /** Whether it is a directory: everything below it goes too. */
  readonly isDir: boolean;
}

function dirs(prefixes: string[]): Tree[] {
  return prefixes.map((p) => ({ key: p.slice(0, -1), isDir: true }));
}

/**
 * The directories that hold everything of `app` besides its own record:
 * unset each that exists (with `isDir`) in the Txn that removes the app.
 */
export function appTrees(app: string): Tree[] {
  checkName("app", app);
  return dirs([
    envsPrefix(app),
    `${ROOT}/meta/${app}/`,
    `${ROOT}/versions/${app}/`,
    `${ROOT}/approvals/${app}/`,
    serveAppPrefix(app),
    rolesPrefix(app),
    tokensPrefix(app),
  ]);
}

/**
 * The directories that hold everything of one env besides its own record:
 * unset each that exists in the Txn that removes the env.
 */
export function envTrees(app: string, env: string): Tree[] {
  return dirs([
    elementsPrefix(app, env),
    `${ROOT}/versions/${app}/${env}/`,
    approvalsPrefix(app, env),
    serveEnvPrefix(app, env),
  ]);
}

/**
 * What holds one element besides its metadata: its versions, its served
 * records and its pending publish request. Unset each that exists in the
 * Txn that removes the element.
 */
export function elementTrees(app: string, env: string, key: string): Tree[] {
  return [
    ...dirs([versionsPrefix(app, env, key), `${serveElementDir(app, env, key)}/`]),
    { key: approvalKey(app, env, key), isDir: false },
  ];
}
