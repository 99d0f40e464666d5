/**
 * The cassemdb client: the one way cassemadm, cassemagent and outside
 * projects talk to cassemdb.
 *
 * - {@linkcode KvClient} (`api.ts`): the interface, with every type it speaks.
 * - {@linkcode DbClient}: the gRPC implementation for a real cluster (leader
 *   following, per-attempt timeouts, failover across endpoints).
 * - {@linkcode MemoryDb}: the same interface in memory, on the real store
 *   and watch hub, for tests (no sockets).
 * - `errors.ts`: {@linkcode DbError} and the predicates to test failures with
 *   ({@linkcode isNotFound}, {@linkcode isCompareFailed}, {@linkcode mayHaveApplied}, ...).
 *
 * ```ts
 * import { MemoryDb } from "./mod.ts";
 *
 * const db = new MemoryDb();
 * const { revision } = await db.set("app/prod/timeout", "30s");
 * const lw = db.listAndWatch("app/", {
 *   onSnapshot: (s) => console.log(s.entities.length, "at", s.revision),
 *   onChanges: (ev) => console.log(ev.revision, ev.changes.map((c) => c.key)),
 * });
 * await lw.ready;
 * ```
 *
 * @module
 */

export * from "./api.ts";
export * from "./errors.ts";
export { DbClient, type DbClientOptions } from "./client.ts";
export { Txn, type TxnCommitter } from "./txn.ts";
export { list, listAndWatch, type ListWatchSource } from "./list_watch.ts";
export {
  type FailNextOptions,
  type FailureKind,
  MemoryDb,
  type MemoryDbOptions,
  type MethodName,
} from "./memory_db.ts";
