/**
 * The cassemdb state machine: the replicated key/value store behind raft.
 *
 * - {@linkcode Store}: elements and directories under slash-separated keys,
 *   one global revision, TTLs, conditional writes and atomic txns, a member
 *   table, and binary snapshots. Pure and deterministic: time arrives in
 *   commands, so every node applies the same log to the same state.
 * - {@linkcode encodeCommand} / {@linkcode decodeCommand}: the raft entry
 *   payload (txn, expire, members) as a JSON header followed by raw values.
 * - {@linkcode WatchHub} / {@linkcode Watcher}: a bounded history of recent
 *   revisions and pull-based watchers with back-pressure.
 * - The API's messages (`wire.ts`) and their translation to and from store
 *   ops and results (`requests.ts`: {@linkcode setOp}, {@linkcode txnCommand},
 *   {@linkcode refusalOf}, {@linkcode toProtoEntity}, ...), shared by the
 *   server and the client's in-memory implementation.
 * - {@linkcode RequestTable}: inside the store, the recent request ids with
 *   their results, so a proposer can learn what became of its command.
 *
 * ```ts
 * import { Store, WatchHub } from "./mod.ts";
 *
 * const hub = new WatchHub();
 * const store = new Store({ onChanges: (rev, changes) => hub.publish(rev, changes) });
 * const w = hub.watch({ keys: ["app"] });
 * store.applyCommand({
 *   kind: "txn",
 *   time: 1_700_000_000_000,
 *   compares: [],
 *   ops: [{ op: "set", key: "app/k", isDir: false, ttl: 0, val: new Uint8Array([1]), overwrite: true }],
 * }, 1);
 * w.poll(); // { revision: 1, changes: [set app, set app/k] }
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./command.ts";
export * from "./errors.ts";
export * from "./store.ts";
export * from "./watch.ts";
export * from "./request_table.ts";
export { fingerprint } from "./fingerprint.ts";
export { EMPTY_VAL } from "./_entity.ts";
export * from "./validate.ts";
export * from "./wire.ts";
export * from "./requests.ts";
export {
  ancestorsOf,
  keyCharsRuleBroken,
  keyProblem,
  keyRuleBroken,
  MAX_KEY_LENGTH,
  MAX_TXN_COMPARES,
  MAX_TXN_OPS,
  MAX_VALUE_BYTES,
} from "./keys.ts";
