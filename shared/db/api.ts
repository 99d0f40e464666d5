/**
 * The cassemdb client interface, {@linkcode KvClient}, and every type it
 * speaks. Two implementations: `DbClient` (gRPC to a real cluster) and
 * `MemoryDb` (in memory, on the real store and watch hub, no sockets).
 * cassemadm, cassemagent and outside projects depend on this interface only.
 *
 * Conventions of every method:
 *
 * - Reads answer with the revision they were served at; a missing key is
 *   `entity: undefined` (not an error) with that revision.
 * - Failures reject with a `DbError` (`errors.ts`): test them with the
 *   predicates there (`isNotFound`, `isCompareFailed`, `mayHaveApplied`, ...).
 * - Every call takes `timeoutMs` (its whole deadline, retries included) and
 *   an `AbortSignal`.
 * - Numbers that are int64 on the wire are JS numbers (safe integers).
 *
 * @module
 */

import type { WireChangeReason, WireEntity, WireEntityType } from "../store/mod.ts";

// ---- entities and changes ------------------------------------------------------

/** What an entity is: an element holds a value, a directory holds other entities. */
export type EntityType = WireEntityType;

/**
 * One entity (proto `Entity`): an element or a directory at a
 * slash-separated key, with its revisions and timestamps.
 *
 * In the answers to writes (`set`, `txn`) `val` is empty: the caller has it,
 * and `size` and `fingerprint` say which value it is.
 */
export type Entity = WireEntity;

/** Whether a change set (created or replaced) or unset (removed) its entity. */
export type ChangeOp = "SET" | "UNSET";

/**
 * Why a change happened: `""` for a set; for an unset `"unset"` (asked
 * for), `"expired"` (its ttl ran out) or `"parent"` (a directory above it
 * was unset).
 */
export type ChangeReason = WireChangeReason;

/** One change of one entity at one revision (proto `Change`). */
export interface Change {
  /** Set or unset. */
  readonly op: ChangeOp;
  /** The key of the entity. */
  readonly key: string;
  /** The entity before the change; absent when the change created it. */
  readonly last?: Entity;
  /** The entity after the change; absent for an unset. */
  readonly current?: Entity;
  /** The revision of the change; every change of one write shares it. */
  readonly revision: number;
  /** Why: `""` for a set, `"unset"`, `"expired"` or `"parent"` for an unset. */
  readonly reason: ChangeReason;
}

/** The matching changes of one revision, as a watch delivers them. */
export interface WatchEvent {
  /** The revision every change belongs to; strictly increasing along a watch. */
  readonly revision: number;
  /** In the order the store applied them; never empty. */
  readonly changes: readonly Change[];
}

// ---- call options ----------------------------------------------------------------

/** Options every call takes. */
export interface CallOptions {
  /**
   * The whole deadline of the call, retries included, in ms (default: the
   * client's `timeoutMs`, 5,000 for `DbClient`). When it passes the call
   * rejects with DEADLINE_EXCEEDED.
   */
  timeoutMs?: number;
  /** Aborting rejects the call with CANCELLED (and cancels it on the wire). */
  signal?: AbortSignal;
  /**
   * The id of the request this call is made for (1 to 128 printable ASCII
   * characters): `DbClient` sends it as `x-request-id` metadata on every
   * attempt, and the node logs it with whatever it logs about the call.
   * `MemoryDb` ignores it.
   */
  requestId?: string;
}

/** Options of reads. */
export interface ReadOptions extends CallOptions {
  /**
   * Answer from the contacted node's own state without confirming with the
   * leader that it is current: faster, possibly stale (default false:
   * linearizable).
   */
  serializable?: boolean;
}

/**
 * A compare-and-swap condition on one key (proto `Condition`); exactly one
 * member is set.
 *
 * - `{ modRevision: n }`: the key exists and its `modRevision` is `n` (≥ 1);
 * - `{ mustNotExist: true }`: the key does not exist;
 * - `{ mustExist: true }`: the key exists (any revision).
 *
 * A failed condition rejects with ABORTED (`isCompareFailed`); in a
 * transaction's compares it makes the transaction not succeed.
 */
export type Condition =
  | { readonly modRevision: number; readonly mustNotExist?: never; readonly mustExist?: never }
  | { readonly mustNotExist: true; readonly modRevision?: never; readonly mustExist?: never }
  | { readonly mustExist: true; readonly modRevision?: never; readonly mustNotExist?: never };

// ---- reads -------------------------------------------------------------------------

/** The answer of {@linkcode KvClient.get}. */
export interface GetResult {
  /** The entity, or `undefined` when the key does not exist. */
  readonly entity: Entity | undefined;
  /** The store's revision when the read was served. */
  readonly revision: number;
}

/** The answer of {@linkcode KvClient.getMany}. */
export interface GetManyResult {
  /** The entities found, in the order asked; missing keys are left out. */
  readonly entities: Entity[];
  /** The store's revision when the read was served. */
  readonly revision: number;
}

/** Options of {@linkcode KvClient.range}. */
export interface RangeOptions extends ReadOptions {
  /** Start strictly after this key (a page's `nextSeekKey`); default: the first key. */
  seek?: string;
  /** Page size, 1..100 (default 100). */
  limit?: number;
}

/** One page of {@linkcode KvClient.range}. */
export interface RangePage {
  /** In key order. */
  readonly entities: Entity[];
  /** Whether more entities with the prefix follow. */
  readonly hasMore: boolean;
  /** Pass as `seek` for the next page (`""` when `hasMore` is false). */
  readonly nextSeekKey: string;
  /** The revision this page was read at (each page has its own). */
  readonly revision: number;
}

/** The answer of {@linkcode KvClient.list}: everything under a prefix at one revision. */
export interface ListResult {
  /** In key order. */
  readonly entities: Entity[];
  /** The one revision the whole listing is the state of. */
  readonly revision: number;
}

/** The answer of {@linkcode KvClient.ttl}. */
export interface TtlResult {
  /**
   * Seconds left, rounded up; -1 when the key never expires (no ttl, or a
   * directory); 0 when it is due; `undefined` when the key does not exist.
   */
  readonly ttl: number | undefined;
  /** The store's revision when the read was served. */
  readonly revision: number;
}

// ---- writes -------------------------------------------------------------------------

/** A value: bytes, or a string stored as its UTF-8 bytes. */
export type Value = Uint8Array | string;

/** Options of {@linkcode KvClient.set} and of a transaction's set. */
export interface SetOptions {
  /** Seconds to live, 0 = forever (elements only). */
  ttl?: number;
  /**
   * Replace an existing element (default false: ALREADY_EXISTS when it
   * exists, unless `condition` requires it to exist).
   */
  overwrite?: boolean;
  /** Create a directory instead (the value must be empty, no ttl). */
  isDir?: boolean;
  /** Compare-and-swap on the key; a condition that it exists implies `overwrite`. */
  condition?: Condition;
}

/** The answer of {@linkcode KvClient.set}. */
export interface SetResult {
  /** The entity as set, without its value (`val` is empty). */
  readonly entity: Entity;
  /** The revision of the change. */
  readonly revision: number;
}

/** Options of {@linkcode KvClient.unset} and of a transaction's unset. */
export interface UnsetOptions {
  /** Required to unset a directory: removes it and everything below it. */
  isDir?: boolean;
  /** Compare-and-swap on the key. */
  condition?: Condition;
}

/** The answer of {@linkcode KvClient.unset}. */
export interface UnsetResult {
  /** How many entities were removed (the key and, for a directory, all below it). */
  readonly removed: number;
  /** The revision of the change. */
  readonly revision: number;
}

/** The answer of {@linkcode KvClient.expire}. */
export interface ExpireResult {
  /** The revision of the change. */
  readonly revision: number;
}

// ---- transactions ----------------------------------------------------------------------

/** One op of a transaction. */
export type TxnOp =
  | ({ readonly op: "set"; readonly key: string; readonly val: Value } & Readonly<SetOptions>)
  | ({ readonly op: "unset"; readonly key: string } & Readonly<UnsetOptions>);

/** One compare of a transaction: `condition` must hold on `key`. */
export interface TxnCompare {
  /** The key the condition is checked against. */
  readonly key: string;
  /** What must hold. */
  readonly condition: Condition;
}

/**
 * A transaction (proto `TxnReq`): when every compare holds, the ops apply in
 * order, atomically, at one revision. At most 64 compares and 1 to 64 ops,
 * each key in one op, at most 2 MiB of values.
 */
export interface TxnRequest {
  /** All must hold for the ops to apply. */
  readonly compares: readonly TxnCompare[];
  /** Applied in order, each seeing the effects of the ones before. */
  readonly ops: readonly TxnOp[];
}

/** Which compare of a transaction failed. */
export interface FailedCompare {
  /** Its index in the request's compares (the first that failed). */
  readonly index: number;
  /** Its key. */
  readonly key: string;
  /** That key's mod_revision when the compares were evaluated; 0 when it did not exist. */
  readonly modRevision: number;
}

/**
 * The answer of a transaction. A failed compare is no error: it is
 * `succeeded: false` naming the compare. An op that fails (its own
 * condition, its key's shape) rejects the whole transaction with that op's
 * error; nothing applies.
 */
export type TxnResult =
  | {
    /** Every compare held and the ops applied. */
    readonly succeeded: true;
    /** The revision of the change. */
    readonly revision: number;
    /** The entity as set by each set op, in op order, without values. */
    readonly entities: Entity[];
    /** Absent when succeeded. */
    readonly failed?: undefined;
  }
  | {
    /** A compare did not hold: nothing applied. */
    readonly succeeded: false;
    /** The revision the compares were evaluated at. */
    readonly revision: number;
    /** Empty. */
    readonly entities: Entity[];
    /** The first compare that failed. */
    readonly failed: FailedCompare;
  };

/**
 * Builds a transaction: `db.txn().if(key, cond).set(key, val).unset(key).commit()`.
 * `if` adds a compare, `set`/`unset`/`ops` add ops (in call order); nothing
 * is sent before {@linkcode commit}. (No `then` method: a builder with one
 * would be a thenable, and `await builder` would hang.)
 */
export interface TxnBuilder {
  /** Adds a compare: `condition` must hold on `key`. */
  if(key: string, condition: Condition): TxnBuilder;
  /** Adds a set op. */
  set(key: string, val: Value, options?: SetOptions): TxnBuilder;
  /** Adds an unset op. */
  unset(key: string, options?: UnsetOptions): TxnBuilder;
  /** Adds ops built elsewhere. */
  ops(...ops: TxnOp[]): TxnBuilder;
  /** The request built so far. */
  request(): TxnRequest;
  /** Sends the transaction (see {@linkcode KvClient.commitTxn}). */
  commit(options?: CallOptions): Promise<TxnResult>;
}

// ---- watches ----------------------------------------------------------------------------

/** What to watch (proto `WatchReq`). */
export interface WatchRequest {
  /**
   * 1..20 keys. A key watches itself and, when it is a directory, everything
   * below it; a key ending in "/" watches everything below that path. With
   * `prefix`, every key that starts with it (`""`: everything).
   */
  keys: readonly string[];
  /** Match by raw string prefix. */
  prefix?: boolean;
  /**
   * The first revision to deliver (inclusive): to resume after revision R,
   * pass R + 1. 0 or absent: only changes after the current revision.
   */
  startRevision?: number;
}

/**
 * What a watch calls back. Handlers run synchronously, one at a time, in
 * revision order. An exception thrown by a handler is caught: it ends the
 * watch, which reports it to `onError` as a `WatchHandlerError` (a consumer
 * that failed on an event has not applied it, so going on would skip it).
 */
export interface WatchHandlers {
  /** The changes of one revision: every matching revision once, in increasing order. */
  onChanges(event: WatchEvent): void;
  /**
   * A transient failure (a node stopped, the connection dropped, the leader
   * changed, the watcher fell behind): the watch resumes by itself from the
   * revision after the last one delivered, on any node.
   */
  onRetry?(error: Error): void;
  /**
   * The watch ended for good: its history was compacted (`isCompacted`:
   * re-list, then watch again), the request was invalid
   * (`isInvalidArgument`), or a handler threw (`WatchHandlerError`). Called
   * once; `done` then rejects with the same error. Not called on `close()`.
   */
  onError?(error: Error): void;
}

/** A running watch. */
export interface Watch {
  /**
   * The last revision delivered, or the one the watch started after (0
   * until the first message when it started from the current revision).
   */
  readonly revision: number;
  /** Stops the watch (no handler is called after it returns). Idempotent. */
  close(): void;
  /**
   * Resolves when the watch was closed; rejects with the terminal error
   * (the one `onError` got). Never an unhandled rejection: awaiting it is
   * optional.
   */
  readonly done: Promise<void>;
}

/** A consistent listing of a prefix, as {@linkcode KvClient.listAndWatch} delivers it. */
export interface Snapshot {
  /** Every entity under the prefix at `revision`, in key order. */
  readonly entities: Entity[];
  /** The one revision the snapshot is the state of; changes follow from `revision + 1`. */
  readonly revision: number;
  /**
   * False for the first snapshot. True for one that replaces the consumer's
   * state after the watch's history was compacted: replace, do not merge.
   */
  readonly reset: boolean;
}

/** What {@linkcode KvClient.listAndWatch} calls back; handlers as in {@linkcode WatchHandlers}. */
export interface ListWatchHandlers {
  /**
   * The state under the prefix at one revision: first once the listing is
   * done, then again (`reset: true`) each time the watch had to re-list.
   */
  onSnapshot(snapshot: Snapshot): void;
  /** The changes under the prefix of one revision after the last snapshot, each once, in order. */
  onChanges(event: WatchEvent): void;
  /** A transient failure, recovered from by itself (including a re-list after compaction). */
  onRetry?(error: Error): void;
  /** The listing or watch ended for good (invalid prefix, a handler threw, retries exhausted). */
  onError?(error: Error): void;
}

/** Options of {@linkcode KvClient.listAndWatch} and {@linkcode KvClient.list}. */
export interface ListOptions {
  /** Entities per Range page, 1..100 (default 100). */
  pageSize?: number;
  /** Deadline of each page read, in ms (default: the client's). */
  timeoutMs?: number;
  /** Aborting stops the listing (and the watch) as `close()` does. */
  signal?: AbortSignal;
  /**
   * Applied to each listed entity as soon as its page arrives; the snapshot
   * then holds what it returned (entities changed while the listing ran are
   * as the watch delivered them). So a caller that keeps less than every
   * value (decodes it and drops it) does not hold the values of every page
   * until the listing completes. Must keep `key`; a throw ends the listing
   * (`onError`).
   */
  mapEntity?: (entity: Entity) => Entity;
}

/** A running {@linkcode KvClient.listAndWatch}. */
export interface ListWatch extends Watch {
  /**
   * Resolves with the first snapshot's revision once `onSnapshot` returned;
   * rejects when the listing ends before (with the terminal error). Never an
   * unhandled rejection.
   */
  readonly ready: Promise<number>;
}

// ---- the interface -------------------------------------------------------------------------

/**
 * A cassemdb client: reads, writes, transactions, watches and consistent
 * list-then-watch. Implemented by `DbClient` (a real cluster) and
 * `MemoryDb` (in memory); the contract suite (`_contract.ts`) holds both to
 * the same behaviour.
 */
export interface KvClient {
  /** The entity at `key` (`undefined` when absent) and the revision it was read at. */
  get(key: string, options?: ReadOptions): Promise<GetResult>;

  /** The entities found among `keys` (1..100 unique keys), in the order asked. */
  getMany(keys: readonly string[], options?: ReadOptions): Promise<GetManyResult>;

  /**
   * One page of the entities whose key starts with `prefix` (raw string
   * prefix; `""` for everything), in key order, read at one revision. Pages
   * are read each at its own revision: for a consistent listing use
   * {@linkcode list} or {@linkcode listAndWatch}.
   */
  range(prefix: string, options?: RangeOptions): Promise<RangePage>;

  /** Every entity under `prefix`, as the state of one revision (all pages reconciled). */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;

  /** Seconds until `key` expires (see {@linkcode TtlResult}). */
  ttl(key: string, options?: ReadOptions): Promise<TtlResult>;

  /**
   * Sets the element at `key` to `val` (or, with `isDir`, creates a
   * directory); missing parent directories are created.
   * Rejects with ALREADY_EXISTS (exists, no overwrite), ABORTED (condition),
   * FAILED_PRECONDITION (an element where a directory is needed or the
   * reverse), INVALID_ARGUMENT (naming the field).
   */
  set(key: string, val: Value, options?: SetOptions & CallOptions): Promise<SetResult>;

  /**
   * Removes `key` (with `isDir`, a directory and everything below it).
   * Rejects with NOT_FOUND when absent, ABORTED when the condition fails,
   * FAILED_PRECONDITION for a directory without `isDir`.
   */
  unset(key: string, options?: UnsetOptions & CallOptions): Promise<UnsetResult>;

  /** Expires the element at `key` now (watchers see an UNSET "expired"). */
  expire(key: string, options?: CallOptions): Promise<ExpireResult>;

  /** A transaction builder bound to this client. */
  txn(): TxnBuilder;

  /**
   * Runs a transaction (see {@linkcode TxnRequest}); a failed compare is
   * `succeeded: false` with `failed`, not an error.
   */
  commitTxn(request: TxnRequest, options?: CallOptions): Promise<TxnResult>;

  /**
   * Watches `request.keys`: every matching revision from `startRevision`
   * (or after the current one) exactly once, in order, across reconnects and
   * leader changes, until `close()` or a terminal error.
   * @throws {RangeError} when `startRevision` is not a non-negative integer.
   */
  watch(request: WatchRequest, handlers: WatchHandlers): Watch;

  /**
   * Delivers a consistent snapshot of everything under `prefix` (raw string
   * prefix), then every change under it after the snapshot's revision,
   * exactly once and in order, across pages, reconnects, leader changes and
   * compaction (a compacted history makes it re-list and deliver a new
   * snapshot with `reset: true`). The backbone of caches.
   */
  listAndWatch(prefix: string, handlers: ListWatchHandlers, options?: ListOptions): ListWatch;

  /** Closes every watch and connection; later calls reject with CANCELLED. Idempotent. */
  close(): void;
}

// ---- the cluster (DbClient only) ---------------------------------------------------------

/** Every role a node reports in `Status` (proto `StatusResp.role`). */
export const ROLES = ["leader", "follower", "candidate", "pre-candidate", "removed"] as const;

/**
 * A node's role: `"removed"` once it applied its own removal from the
 * cluster (it no longer takes part).
 */
export type Role = typeof ROLES[number];

/** One member of the cluster (proto `Member`). */
export interface Member {
  /** The raft node id (positive). */
  readonly id: number;
  /** Where peers reach its raft transport (host:port). */
  readonly peerAddr: string;
  /** Where clients reach it (host:port); empty until the node announced it. */
  readonly clientAddr: string;
  /** A non-voting member (a learner catching up). */
  readonly learner: boolean;
}

/** The answer of `DbClient.members`. */
export interface MembersResult {
  /** Sorted by id. */
  readonly members: Member[];
  /** The leader's id as the answering node knows it; 0 when none. */
  readonly leader: number;
}

/** One node's status (proto `StatusResp`). */
export interface NodeStatus {
  /** Its raft id. */
  readonly id: number;
  /** The leader it follows; 0 when none. */
  readonly leader: number;
  /** Its role. */
  readonly role: Role;
  /** Its raft term. */
  readonly term: number;
  /** Its commit index. */
  readonly commit: number;
  /** Its applied index. */
  readonly applied: number;
  /** Its store's revision. */
  readonly revision: number;
  /** Entities in its store. */
  readonly keys: number;
  /** The members as its store records them. */
  readonly members: Member[];
  /** The oldest revision a watch on this node can start from; `revision + 1` when it keeps none. */
  readonly watchOldestRevision: number;
}
