/**
 * Wire and state types of the raft core. Everything here is plain data so that
 * messages can be serialized by any transport and compared in tests.
 *
 * @module
 */

/** NONE is the node id that means "no node" (no leader, no vote). */
export const NONE = 0;

/** The kind of a log entry. */
export enum EntryType {
  /** Application data; an empty one is the leader's no-op at the start of its term. */
  Normal = 0,
  /** A membership change; its data is an encoded {@linkcode ConfChange}. */
  ConfChange = 1,
}

/** One log entry. Invariant: index ≥ 1, term ≥ 1. */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** The membership a snapshot or log prefix ends with. */
export interface ConfState {
  /** Voting members, sorted ascending. */
  voters: number[];
  /** Non-voting members that receive the log, sorted ascending. */
  learners: number[];
}

/** The kind of a membership change. */
export enum ConfChangeType {
  /** Adds a voter, or promotes a learner to voter. */
  AddNode = 0,
  /** Removes a voter or a learner. */
  RemoveNode = 1,
  /** Adds a learner (a voter cannot be demoted this way). */
  AddLearner = 2,
}

/** One membership change, proposed with `proposeConfChange`. */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: number;
  /** Opaque to raft, for example the new node's address. */
  context: string;
}

/** What must be on disk before any message of the same Ready is sent. */
export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

/** Metadata of a snapshot: the log prefix it replaces and the membership after it. */
export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

/** A state-machine snapshot. `data` is opaque to raft. */
export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

/** One piece of a snapshot in flight from a leader to a follower. */
export interface SnapshotChunk {
  metadata: SnapshotMetadata;
  /** Byte offset of `data` within the snapshot data. */
  offset: number;
  /** Total length of the snapshot data. */
  total: number;
  data: Uint8Array;
}

/** The role a node plays. */
export enum StateType {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

/** Message kinds. Local ones (`Hup`, `Beat`, ...) never cross the network. */
export enum MessageType {
  /** Local: start an election. */
  Hup = 0,
  /** Local: the leader sends heartbeats. */
  Beat = 1,
  /** A proposal, local or forwarded from a follower to the leader. */
  Prop = 2,
  App = 3,
  AppResp = 4,
  Vote = 5,
  VoteResp = 6,
  PreVote = 7,
  PreVoteResp = 8,
  /** One chunk of a snapshot. */
  Snap = 9,
  /** Acknowledges the snapshot chunks received so far. */
  SnapResp = 10,
  Heartbeat = 11,
  HeartbeatResp = 12,
  /** Local: the transport could not reach `from`. */
  Unreachable = 13,
  /** Local: the leader checks it still hears from a quorum. */
  CheckQuorum = 14,
  TransferLeader = 15,
  TimeoutNow = 16,
  ReadIndex = 17,
  ReadIndexResp = 18,
}

/**
 * A raft message. Fields a type does not use are left at their defaults
 * (0, false, "", [] or undefined).
 */
export interface Message {
  type: MessageType;
  from: number;
  to: number;
  term: number;
  /** App: term of the entry before `entries`. Vote: term of the candidate's last entry. */
  logTerm: number;
  /** App: index before `entries`. Vote: candidate's last index. AppResp: index acknowledged or rejected. */
  index: number;
  entries: Entry[];
  /** App/Heartbeat: the leader's commit index. SnapResp: snapshot bytes received so far. */
  commit: number;
  /** A refusal; on a HeartbeatResp: the follower recovers and asks for an append. */
  reject: boolean;
  /** AppResp with reject: the follower's guess of the last index that could match. */
  rejectHint: number;
  /** ReadIndex request id, heartbeat read context, or `campaignTransfer`. */
  context: string;
  snapshot?: SnapshotChunk;
}

/** A linearizable read point: once `index` is applied, the read `context` may be served. */
export interface ReadState {
  index: number;
  context: string;
}

/** State that is not persisted: who leads and what this node is. */
export interface SoftState {
  lead: number;
  raftState: StateType;
}

/** Builds a message with every unused field at its default. */
export function message(fields: Partial<Message> & Pick<Message, "type">): Message {
  return {
    from: NONE,
    to: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: "",
    ...fields,
  };
}

/** True for messages that are handled locally and never sent. */
export function isLocalMessage(type: MessageType): boolean {
  return type === MessageType.Hup || type === MessageType.Beat ||
    type === MessageType.Unreachable || type === MessageType.CheckQuorum;
}

/** True for responses, which never carry a newer term that should start an election. */
export function isResponseMessage(type: MessageType): boolean {
  return type === MessageType.AppResp || type === MessageType.VoteResp ||
    type === MessageType.PreVoteResp || type === MessageType.HeartbeatResp ||
    type === MessageType.SnapResp || type === MessageType.ReadIndexResp ||
    type === MessageType.Unreachable;
}

/** Equality of hard states. */
export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** The empty hard state of a node that has never run. */
export const EMPTY_HARD_STATE: Readonly<HardState> = Object.freeze({ term: 0, vote: 0, commit: 0 });

/** Size in bytes that an entry counts for in flow control. */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 24;
}

/** Total flow-control size of a run of entries. */
export function entriesSize(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += entrySize(e);
  return n;
}
