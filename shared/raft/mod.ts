/**
 * The raft consensus module: a pure core ({@linkcode RawNode}), storages and
 * the async driver ({@linkcode RaftNode}) that cassemdb runs.
 *
 * @module
 */

export * from "./types.ts";
export * from "./errors.ts";
export {
  bootstrapEntries,
  bootstrapHardState,
  emptySnapshot,
  FOUNDING_TERM,
  type InitialState,
  MemoryStorage,
  type Storage,
} from "./storage.ts";
export { decodeConfChange, encodeConfChange } from "./conf_change.ts";
export { CAMPAIGN_TRANSFER, type Config, Raft, type Status } from "./raft.ts";
export { type RaftFactory, RawNode, type Ready } from "./raw_node.ts";
export { ProgressState } from "./progress.ts";
export type { RaftStorage, StorageUpdate } from "./raft_storage.ts";
export { type Clock, REAL_CLOCK, type TimerHandle } from "./clock.ts";
export { KvStorage, type KvStorageOptions } from "./kv_storage.ts";
export {
  RaftNode,
  type RaftNodeOptions,
  type RaftNodeStats,
  type RaftNodeStatus,
  type StateMachine,
} from "./node.ts";
export { LocalNetwork, type Transport, type TransportHandlers } from "./transport.ts";
