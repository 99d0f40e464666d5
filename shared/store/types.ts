/**
 * The data types of the cassemdb store, mirroring `proto/cassemdb.proto` with
 * the camelCase field names that `@grpc/proto-loader` produces. Numbers that
 * are `int64` on the wire are JS numbers here (safe integers).
 *
 * @module
 */

/** What an entity is: an element holds a value, a directory holds other entities. */
export type EntityType = "element" | "directory";

/**
 * One entity of the store (proto `Entity`).
 *
 * Entities handed out by the store are frozen and never change afterwards: a
 * write replaces the object rather than mutating it, so callers and watchers
 * may keep and share them. The bytes of `val` are shared too and MUST NOT be
 * written to.
 */
export interface Entity {
  /** Slash-separated path, for example `"app/env/key"`. */
  readonly key: string;
  /** Element or directory. */
  readonly type: EntityType;
  /** The value; empty for directories. */
  readonly val: Uint8Array;
  /** 64-bit FNV-1a of `val` as 16 lowercase hex digits; empty for directories. */
  readonly fingerprint: string;
  /** Milliseconds since the epoch, as decided by the leader, when the entity was created. */
  readonly createdAt: number;
  /** Milliseconds since the epoch of the last set. */
  readonly updatedAt: number;
  /** Seconds to live given at the last set; 0 = forever. */
  readonly ttl: number;
  /** When the leader expires it (ms since the epoch): `updatedAt + ttl * 1000`; 0 = never. */
  readonly expireAt: number;
  /** `val.byteLength`. */
  readonly size: number;
  /** The revision that created the entity. */
  readonly createRevision: number;
  /** The revision that last set the entity. */
  readonly modRevision: number;
}

/** Why an entity was unset (proto `Change.reason`); `""` for sets. */
export type ChangeReason = "" | "unset" | "expired" | "parent";

/**
 * One change of one entity at one revision (proto `Change`). Frozen and
 * shared between the store's listener, the watch history and every watcher.
 */
export interface Change {
  /** Whether the entity was set (created or replaced) or unset (removed). */
  readonly op: "set" | "unset";
  /** The key of the entity. */
  readonly key: string;
  /** The entity before the change; absent when the change created it. */
  readonly last?: Entity;
  /** The entity after the change; absent for an unset. */
  readonly current?: Entity;
  /** The revision of the change; every change of one command shares it. */
  readonly revision: number;
  /**
   * `""` for a set; for an unset: `"unset"` (asked for), `"expired"` (its ttl
   * ran out) or `"parent"` (a directory above it was unset).
   */
  readonly reason: ChangeReason;
}

/**
 * A compare-and-swap condition (proto `Condition`); `undefined` means none.
 *
 * - `{ modRevision }`: the key exists and its `modRevision` equals this;
 * - `{ mustNotExist: true }`: the key does not exist;
 * - `{ mustExist: true }`: the key exists (any revision).
 *
 * An entity whose ttl has run out counts as absent.
 */
export type Condition =
  | { readonly modRevision: number; readonly mustNotExist?: never; readonly mustExist?: never }
  | { readonly mustNotExist: true; readonly modRevision?: never; readonly mustExist?: never }
  | { readonly mustExist: true; readonly modRevision?: never; readonly mustNotExist?: never };

/** One member of the cluster as the store records it (proto `Member`). */
export interface Member {
  /** The raft node id (positive). */
  readonly id: number;
  /** Where peers reach its raft transport. */
  readonly peerAddr: string;
  /** Where clients reach its KV service. */
  readonly clientAddr: string;
  /** A non-voting member. */
  readonly learner: boolean;
}

/** The gRPC status an apply error maps to. */
export type ErrorCode =
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "INVALID_ARGUMENT";

/** A command that applied (possibly changing nothing). */
export interface ApplyOk {
  /** Discriminates success. */
  readonly ok: true;
  /** The store's revision after the command: new when it changed anything, else unchanged. */
  readonly revision: number;
  /** Txn: the entity as set by each set op, in op order (empty when not `succeeded`). */
  readonly entities?: readonly Entity[];
  /**
   * Txn: entities removed by the unset ops (a key and everything below it);
   * expire: entities expired. Entities whose ttl had already run out are not
   * counted by unset ops (they were absent), though their removal is a change.
   */
  readonly removed?: number;
  /** Txn: whether every compare held (false: nothing applied, no revision consumed). */
  readonly succeeded?: boolean;
  /** Txn that did not succeed: the index of the first compare that failed. */
  readonly failedCompare?: number;
  /** Txn that did not succeed: that compare's key's mod_revision now (0 when absent). */
  readonly failedModRevision?: number;
}

/** A command that was refused; the store is unchanged. */
export interface ApplyError {
  /** Discriminates failure. */
  readonly ok: false;
  /** The gRPC status to answer with. */
  readonly code: ErrorCode;
  /**
   * The proto path of the offending field of the command, for example
   * `"ops[0].set.key"` or `"compares[1].condition.mod_revision"` (SetKV and
   * UnsetKV are op 0 of a txn).
   */
  readonly field?: string;
  /** Sentence-case, no final period: "Cannot X as Y: current value is Z". */
  readonly message: string;
}

/** The outcome of `Store.applyCommand`: data, never an exception, for user errors. */
export type ApplyResult = ApplyOk | ApplyError;
