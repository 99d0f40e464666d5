/**
 * The messages of `proto/cassemdb.proto` that carry entities and requests, as
 * `@grpc/proto-loader` hands them out with cassem's loader options
 * (camelCase fields, int64 as numbers, enums as their names). The server,
 * the shared client and its in-memory implementation all speak these shapes.
 *
 * @module
 */

/** Proto `EntityType`. */
export type WireEntityType = "ELEMENT" | "DIRECTORY";

/** Every proto `EntityType` name, in enum order. */
export const WIRE_ENTITY_TYPES: readonly WireEntityType[] = ["ELEMENT", "DIRECTORY"];

/** Proto `ChangeOp`. */
export type WireChangeOp = "SET" | "UNSET";

/** Every proto `ChangeOp` name, in enum order. */
export const WIRE_CHANGE_OPS: readonly WireChangeOp[] = ["SET", "UNSET"];

/** Proto `Change.reason`: `""` for a set; why an unset happened otherwise. */
export type WireChangeReason = "" | "unset" | "expired" | "parent";

/** Proto `Entity`. */
export interface WireEntity {
  /** Slash-separated path. */
  key: string;
  /** Element or directory. */
  type: WireEntityType;
  /** The value; empty for directories and in the answers to writes. */
  val: Uint8Array;
  /** 64-bit FNV-1a of the value as 16 hex digits; empty for directories. */
  fingerprint: string;
  /** Milliseconds since the epoch (the leader's clock) when it was created. */
  createdAt: number;
  /** Milliseconds since the epoch of the last set. */
  updatedAt: number;
  /** Seconds to live given at the last set; 0 = forever. */
  ttl: number;
  /** When the leader expires it (ms since the epoch); 0 = never. */
  expireAt: number;
  /** Size of the value in bytes. */
  size: number;
  /** The revision that created it. */
  createRevision: number;
  /** The revision that last set it. */
  modRevision: number;
}

/** Proto `Change`; `last` and `current` are absent (not null) when the message has none. */
export interface WireChange {
  /** Set (created or replaced) or unset (removed). */
  op: WireChangeOp;
  /** The key of the entity. */
  key: string;
  /** The entity before the change; absent when the change created it. */
  last?: WireEntity;
  /** The entity after the change; absent for an unset. */
  current?: WireEntity;
  /** The revision of the change. */
  revision: number;
  /** `""` for a set; `"unset"`, `"expired"` or `"parent"` for an unset. */
  reason: WireChangeReason;
}

/**
 * Proto `Condition` as a request carries it: `check` names the oneof member
 * that is set (grpc-js fills it in on the server). Unchecked input: the
 * translation in `requests.ts` validates it.
 */
export interface WireCondition {
  /** Which member of the oneof is set. */
  check?: "modRevision" | "mustNotExist" | "mustExist";
  /** The key's mod_revision must equal this. */
  modRevision?: unknown;
  /** The key must not exist. */
  mustNotExist?: unknown;
  /** The key must exist. */
  mustExist?: unknown;
}

/** Proto `SetKVReq`, unchecked. */
export interface WireSetKV {
  /** The key to set. */
  key?: unknown;
  /** Create a directory. */
  isDir?: unknown;
  /** Seconds to live. */
  ttl?: unknown;
  /** The value. */
  val?: Uint8Array;
  /** Replace an existing element. */
  overwrite?: unknown;
  /** Compare-and-swap condition on `key`. */
  condition?: WireCondition | null;
}

/** Proto `UnsetKVReq`, unchecked. */
export interface WireUnsetKV {
  /** The key to unset. */
  key?: unknown;
  /** Required for a directory. */
  isDir?: unknown;
  /** Compare-and-swap condition on `key`. */
  condition?: WireCondition | null;
}

/** Proto `TxnOp`, unchecked: `op` names the oneof member that is set. */
export interface WireTxnOp {
  /** Which member of the oneof is set. */
  op?: "set" | "unset";
  /** A set. */
  set?: WireSetKV | null;
  /** An unset. */
  unset?: WireUnsetKV | null;
}

/** Proto `TxnReq`, unchecked. */
export interface WireTxn {
  /** All must hold for the ops to apply. */
  compares?: { key?: unknown; condition?: WireCondition | null }[];
  /** Applied in order, atomically. */
  ops?: WireTxnOp[];
}

/** Proto `TxnResp`. */
export interface WireTxnResp {
  /** Whether every compare held (and the ops applied). */
  succeeded: boolean;
  /** The revision of the change, or the one the compares were evaluated at. */
  revision: number;
  /** The entities as set by each set op (without values); empty when not succeeded. */
  entities: WireEntity[];
  /** When not succeeded: the index of the first compare that failed. */
  failedCompare: number;
  /** When not succeeded: that compare's key's mod_revision (0 when absent). */
  failedModRevision: number;
}
