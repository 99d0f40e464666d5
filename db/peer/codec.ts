/**
 * Conversion between the raft types of `shared/raft/types.ts` and the
 * `cassemraft` proto objects of `proto/raft.proto`, as `@grpc/proto-loader`
 * produces and accepts them (camelCase fields, 64-bit integers as numbers,
 * enums as numbers, defaults filled in).
 *
 * The conversion loses nothing: `decodeMessage(encodeMessage(m))` deep-equals
 * `m` for every message whose numbers are integers in [0, 2^53).
 *
 * Ownership of bytes:
 * - {@linkcode encodeMessage} does not copy: the proto object shares the
 *   message's `Uint8Array`s until the serializer has written them, so the
 *   caller must not mutate them in between (raft never mutates sent data).
 * - {@linkcode decodeMessage} gives plain `Uint8Array`s. A `bytes` field that
 *   is already a plain `Uint8Array` is taken over as it is: the transport
 *   deserializes each received frame from its own copy
 *   ({@linkcode deserializeOwned}), so such fields are views into memory that
 *   the receiver alone holds. Anything else, such as the Node `Buffer`s that
 *   grpc-js's default deserializer returns (views into a frame grpc-js owns,
 *   possibly into its shared pool), is copied into a new array.
 *
 *   One copy of the frame instead of one per field is the faster choice: an
 *   allocation per 256-byte entry costs ~2.5 µs, most of the decoding time.
 *   The views keep their frame (at most one batch, see `maxBatchBytes`) alive
 *   while raft holds any of its entries; the entries of a batch are mostly
 *   contiguous log that raft keeps or drops together, so little is held in vain.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import {
  type ConfState,
  type Entry,
  isLocalMessage,
  type Message,
  MessageType,
  type SnapshotChunk,
  type SnapshotMetadata,
} from "../../shared/raft/mod.ts";

/** `cassemraft.Entry` as a proto object. */
export interface EntryProto {
  term: number;
  index: number;
  type: number;
  data: Uint8Array;
}

/** `cassemraft.ConfState` as a proto object. */
export interface ConfStateProto {
  voters: number[];
  learners: number[];
}

/** `cassemraft.SnapshotMetadata` as a proto object (`confState` is null when absent). */
export interface SnapshotMetadataProto {
  index: number;
  term: number;
  confState: ConfStateProto | null;
}

/** `cassemraft.SnapshotChunk` as a proto object (`metadata` is null when absent). */
export interface SnapshotChunkProto {
  metadata: SnapshotMetadataProto | null;
  offset: number;
  total: number;
  data: Uint8Array;
}

/** `cassemraft.Message` as a proto object (`snapshot` is null or missing when absent). */
export interface MessageProto {
  type: number;
  from: number;
  to: number;
  term: number;
  logTerm: number;
  index: number;
  entries: EntryProto[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  context: string;
  snapshot?: SnapshotChunkProto | null;
}

/** `cassemraft.Batch`: messages from one node, in the order sent. */
export interface BatchProto {
  from: number;
  messages: MessageProto[];
}

/** `cassemraft.BatchAck`: who received a batch, how many messages raft was handed and how many were dropped. */
export interface BatchAckProto {
  id: number;
  rejected: number;
}

/** `cassemraft.AnnounceReq`: a node tells another where it serves. */
export interface AnnounceRequest {
  /** The announcing node. */
  id: number;
  /** host:port of its RaftPeer service. */
  peerAddr: string;
  /** host:port of its client-facing service. */
  clientAddr: string;
}

/** `cassemraft.AnnounceResp`. */
export interface AnnounceResponse {
  /** Whether the receiver accepted the announcement. */
  ok: boolean;
  /** The leader as the receiver knows it; 0 when unknown. */
  leader: number;
}

/** `cassemraft.IdentifyResp`: who answers at a peer address. */
export interface IdentifyResponse {
  /** Its node id. */
  id: number;
  /** Its cluster id; "" while it does not know it yet. */
  clusterId: string;
  /** The leader as it knows it; 0 when unknown. */
  leader: number;
  /** Its raft term; 0 when unknown (an older node). */
  term: number;
}

/**
 * Copies `bytes` (a Node Buffer, any Uint8Array, or nothing) into a new plain
 * `Uint8Array` that shares no memory with it.
 */
export function copyBytes(bytes: Uint8Array | null | undefined): Uint8Array {
  if (bytes == null || bytes.byteLength === 0) return new Uint8Array(0);
  return new Uint8Array(bytes);
}

/**
 * `bytes` as the receiver's own plain `Uint8Array`: a plain, non-empty
 * `Uint8Array` as it is (see the module doc on ownership), anything else
 * copied. Empty values always come back as a new empty array, never as a view.
 */
export function ownBytes(bytes: Uint8Array | null | undefined): Uint8Array {
  if (bytes == null || bytes.byteLength === 0) return new Uint8Array(0);
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes);
}

/**
 * Wraps a grpc-js deserializer so that it decodes from a fresh plain copy of
 * each frame: every `bytes` field it returns is then a plain `Uint8Array` view
 * into memory no one else holds, which {@linkcode decodeMessage} keeps without
 * copying again.
 */
export function deserializeOwned<T>(deserialize: (frame: Buffer) => T): (frame: Buffer) => T {
  // The proto-loader deserializer takes any Uint8Array; given one that is not
  // a Buffer, protobufjs returns `bytes` as plain subarrays of it.
  return (frame) => deserialize(new Uint8Array(frame) as Buffer);
}

/**
 * The proto object of `m`. Shares `m`'s byte arrays (see the module doc);
 * `snapshot` is left out when `m` has none.
 */
export function encodeMessage(m: Message): MessageProto {
  const out: MessageProto = {
    type: m.type,
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map(encodeEntry),
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    context: m.context,
  };
  if (m.snapshot) out.snapshot = encodeSnapshotChunk(m.snapshot);
  return out;
}

/**
 * The message of a received proto object, whose byte arrays become the
 * message's own (taken over or copied, see the module doc). Missing scalars read as their proto defaults; a missing
 * snapshot leaves `snapshot` out, as `message()` in types.ts does. Enum values are
 * passed through as numbers, known or not: the caller decides what to accept.
 */
export function decodeMessage(p: MessageProto): Message {
  const m: Message = {
    type: num(p.type),
    from: num(p.from),
    to: num(p.to),
    term: num(p.term),
    logTerm: num(p.logTerm),
    index: num(p.index),
    entries: p.entries ? p.entries.map(decodeEntry) : [],
    commit: num(p.commit),
    reject: p.reject === true,
    rejectHint: num(p.rejectHint),
    context: p.context ?? "",
  };
  if (p.snapshot) m.snapshot = decodeSnapshotChunk(p.snapshot);
  return m;
}

/** The proto object of a log entry (shares `data`). */
export function encodeEntry(e: Entry): EntryProto {
  return { term: e.term, index: e.index, type: e.type, data: e.data };
}

/** The log entry of a proto object (`data` taken over or copied, see the module doc). */
export function decodeEntry(p: EntryProto): Entry {
  return { term: num(p.term), index: num(p.index), type: num(p.type), data: ownBytes(p.data) };
}

/** The proto object of a snapshot chunk (shares `data`). */
export function encodeSnapshotChunk(c: SnapshotChunk): SnapshotChunkProto {
  return {
    metadata: encodeMetadata(c.metadata),
    offset: c.offset,
    total: c.total,
    data: c.data,
  };
}

/**
 * The snapshot chunk of a proto object (`data` taken over or copied, see the
 * module doc; absent metadata reads as empty).
 */
export function decodeSnapshotChunk(p: SnapshotChunkProto): SnapshotChunk {
  return {
    metadata: decodeMetadata(p.metadata),
    offset: num(p.offset),
    total: num(p.total),
    data: ownBytes(p.data),
  };
}

function encodeMetadata(md: SnapshotMetadata): SnapshotMetadataProto {
  return {
    index: md.index,
    term: md.term,
    confState: { voters: [...md.confState.voters], learners: [...md.confState.learners] },
  };
}

function decodeMetadata(p: SnapshotMetadataProto | null | undefined): SnapshotMetadata {
  return {
    index: num(p?.index),
    term: num(p?.term),
    confState: decodeConfState(p?.confState),
  };
}

function decodeConfState(p: ConfStateProto | null | undefined): ConfState {
  return {
    voters: p?.voters ? p.voters.map(num) : [],
    learners: p?.learners ? p.learners.map(num) : [],
  };
}

/** The proto object of a batch of messages from `from` (shares byte arrays). */
export function encodeBatch(from: number, messages: readonly Message[]): BatchProto {
  return { from, messages: messages.map(encodeMessage) };
}

/** The messages of a received batch, in order (byte arrays as in {@linkcode decodeMessage}). */
export function decodeBatch(p: BatchProto): { from: number; messages: Message[] } {
  return { from: num(p.from), messages: p.messages ? p.messages.map(decodeMessage) : [] };
}

/** An announce request read from a proto object (missing fields read as defaults). */
export function decodeAnnounceRequest(p: Partial<AnnounceRequest>): AnnounceRequest {
  return { id: num(p.id), peerAddr: p.peerAddr ?? "", clientAddr: p.clientAddr ?? "" };
}

/** An announce response read from a proto object (missing fields read as defaults). */
export function decodeAnnounceResponse(p: Partial<AnnounceResponse>): AnnounceResponse {
  return { ok: p.ok === true, leader: num(p.leader) };
}

/** An identify response read from a proto object (missing fields read as defaults). */
export function decodeIdentifyResponse(p: Partial<IdentifyResponse>): IdentifyResponse {
  return {
    id: num(p.id),
    clusterId: p.clusterId ?? "",
    leader: num(p.leader),
    term: num(p.term),
  };
}

/** Fixed per-message overhead counted by {@linkcode messageBytes}. */
const MESSAGE_OVERHEAD = 64;
/** Per-entry overhead counted by {@linkcode messageBytes}. */
const ENTRY_OVERHEAD = 24;

/**
 * An estimate, in bytes, of the room `m` takes in a send queue and on the
 * wire: its payloads plus a fixed overhead per message and per entry. Used to
 * bound queues and batches, not to size buffers.
 */
export function messageBytes(m: Message): number {
  let n = MESSAGE_OVERHEAD + m.context.length;
  for (const e of m.entries) n += ENTRY_OVERHEAD + e.data.byteLength;
  if (m.snapshot) {
    const cs = m.snapshot.metadata.confState;
    n += m.snapshot.data.byteLength + 8 * (cs.voters.length + cs.learners.length);
  }
  return n;
}

/** Whether `type` is a message kind that crosses the network (known and not local). */
export function isNetworkMessageType(type: number): type is MessageType {
  return MessageType[type] !== undefined && !isLocalMessage(type);
}

function num(v: number | null | undefined): number {
  return v == null ? 0 : Number(v);
}
