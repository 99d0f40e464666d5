/**
 * TypeScript shapes of proto/cassemdb.proto messages as grpc-js hands them
 * out (camelCase fields, int64 as numbers, enums as strings).
 *
 * @module
 */

/** An element (holds a value) or a directory. */
export type EntityType = "ELEMENT" | "DIRECTORY";

/** See `Entity` in proto/cassemdb.proto. */
export interface Entity {
  key: string;
  type: EntityType;
  val: Uint8Array;
  fingerprint: string;
  createdAt: number;
  updatedAt: number;
  ttl: number;
  expireAt: number;
  size: number;
  createRevision: number;
  modRevision: number;
}

/** See `Change` in proto/cassemdb.proto. */
export interface Change {
  op: "SET" | "UNSET";
  key: string;
  last?: Entity | null;
  current?: Entity | null;
  revision: number;
  reason: string;
}

/** A compare-and-swap condition; at most one field set. */
export interface Condition {
  modRevision?: number;
  mustNotExist?: boolean;
  mustExist?: boolean;
}

export interface ReadOptions {
  /** Answer from the contacted node's state, possibly stale. */
  serializable?: boolean;
}

export interface SetKVReq {
  key: string;
  isDir?: boolean;
  ttl?: number;
  val?: Uint8Array;
  overwrite?: boolean;
  condition?: Condition;
}

export interface SetKVResp {
  entity: Entity;
  revision: number;
}

export interface UnsetKVReq {
  key: string;
  isDir?: boolean;
  condition?: Condition;
}

export interface UnsetKVResp {
  removed: number;
  revision: number;
}

export interface RangeReq {
  key: string;
  seek?: string;
  limit: number;
  read?: ReadOptions;
}

export interface RangeResp {
  entities: Entity[];
  hasMore: boolean;
  nextSeekKey: string;
  revision: number;
}

export interface TxnOp {
  set?: SetKVReq;
  unset?: UnsetKVReq;
}

export interface TxnReq {
  compares: { key: string; condition: Condition }[];
  ops: TxnOp[];
}

export interface TxnResp {
  succeeded: boolean;
  revision: number;
  entities: Entity[];
  /** When not succeeded: the index of the first compare that failed. */
  failedCompare: number;
  /** When not succeeded: that compare's key's mod_revision (0 when absent). */
  failedModRevision: number;
}

export interface WatchReq {
  keys: string[];
  prefix?: boolean;
  /** The first revision to deliver (inclusive); 0 = only new changes. */
  startRevision?: number;
}

export interface WatchResp {
  changes: Change[];
  revision: number;
}

export interface Member {
  id: number;
  peerAddr: string;
  clientAddr: string;
  learner: boolean;
}

export interface StatusResp {
  id: number;
  leader: number;
  role: string;
  term: number;
  commit: number;
  applied: number;
  revision: number;
  keys: number;
  members: Member[];
  /** The oldest revision a watch on this node can start from. */
  watchOldestRevision: number;
}
