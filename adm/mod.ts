/**
 * cassemadm: the stateless configuration manager. The import surface for
 * the service's parts:
 *
 * - {@linkcode createApp} (`app.ts`): the REST API as a Hono app, and
 *   {@linkcode ROUTE_GROUPS}, the route files it mounts;
 * - {@linkcode AdmDeps}, {@linkcode AdmConfig}, {@linkcode DEFAULT_CONFIG}
 *   (`deps.ts`);
 * - the error classes and their HTTP statuses (`errors.ts`);
 * - {@linkcode defineRoute} and the permission table (`auth/`);
 * - {@linkcode runTxn} / {@linkcode AdmTxn}: every mutation as one Txn with
 *   its oplog entry (`data/txn.ts`);
 * - `testing.ts` (imported directly by tests): {@linkcode createTestAdm}.
 *
 * @module
 */

export { type AdmApp, createApp, ROUTE_GROUPS, type RouteGroup } from "./app.ts";
export { type AdmConfig, type AdmDeps, DEFAULT_CONFIG } from "./deps.ts";
export * from "./errors.ts";
export { can, defineRoute, PERMISSION_FIELD, requirePermission } from "./auth/route.ts";
export * from "./auth/permissions.ts";
export { operatorOf, type Principal } from "./auth/principal.ts";
export { BOOTSTRAP_ACCOUNT, bootstrapAdmin } from "./auth/bootstrap.ts";
export { type Actor, AdmTxn, type Committed, type OplogInput, runTxn } from "./data/txn.ts";
export { readAll, readPage, readRecord, type RecordPage, type Stored } from "./data/read.ts";
export { requireActiveApp, requireApp, requireEnv, requireUser } from "./data/guards.ts";
export type { AdmEnv, AdmVariables } from "./http/context.ts";
export { actorOf, principalOf } from "./http/actor.ts";
export { etagOf, parseIfMatch } from "./http/etag.ts";
export { validationHook } from "./http/validation.ts";
