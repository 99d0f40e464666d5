/**
 * The binary codec of a store snapshot. A JSON header holds the metadata in
 * columns (one array per entity field, which parses much faster than one
 * object per entity); the values follow as raw bytes.
 *
 * Layout, little-endian:
 *
 * | offset | bytes | field                                                    |
 * | ------ | ----- | -------------------------------------------------------- |
 * | 0      | 4     | magic `SNP1`                                             |
 * | 4      | 4     | header length `h` (uint32)                               |
 * | 8      | h     | header: {@linkcode SnapshotHeader} as UTF-8 JSON         |
 * | 8 + h  | …     | the values of the elements in key order, concatenated    |
 *
 * @module
 */

import { EMPTY_VAL, makeEntity } from "./_entity.ts";
import { keyProblem } from "./keys.ts";
import type { RequestTableJson } from "./request_table.ts";
import type { Entity, Member } from "./types.ts";
import { isCount } from "./_numbers.ts";

/** The state a snapshot holds. */
export interface SnapshotState {
  revision: number;
  appliedIndex: number;
  /** Sorted by id. */
  members: Member[];
  /** Strictly ascending by key. */
  entities: Entity[];
  /**
   * The request table, unchecked (`RequestTable.fromJson` checks it);
   * absent in a version 1 snapshot.
   */
  requests?: RequestTableJson;
}

/**
 * The JSON header; entity `i` is column `[i]` of each array.
 *
 * Version 2 added `requests`; version 1 snapshots (written before request
 * ids existed) are still read, without a request table.
 */
interface SnapshotHeader {
  version: 1 | 2;
  /** Version 2 only. */
  requests?: RequestTableJson;
  revision: number;
  appliedIndex: number;
  /** `[id, peerAddr, clientAddr, learner]`. */
  members: [number, string, string, boolean][];
  keys: string[];
  /** One character per entity: `e` element, `d` directory. */
  types: string;
  /** The fingerprints of the elements (16 hex digits each), concatenated in key order. */
  fingerprints: string;
  createdAt: number[];
  updatedAt: number[];
  ttl: number[];
  expireAt: number[];
  createRevision: number[];
  modRevision: number[];
  /** Value sizes; 0 for directories. */
  size: number[];
}

/** `SNP1` read as a little-endian uint32. */
const MAGIC = 0x31504e53;
const PREFIX_BYTES = 8;
const FP_LENGTH = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Encodes `state`; `state.entities` MUST be in key order. */
export function encodeSnapshot(state: SnapshotState): Uint8Array {
  const n = state.entities.length;
  const h: SnapshotHeader = {
    version: 2,
    requests: state.requests,
    revision: state.revision,
    appliedIndex: state.appliedIndex,
    members: state.members.map((m) => [m.id, m.peerAddr, m.clientAddr, m.learner]),
    keys: new Array(n),
    types: "",
    fingerprints: "",
    createdAt: new Array(n),
    updatedAt: new Array(n),
    ttl: new Array(n),
    expireAt: new Array(n),
    createRevision: new Array(n),
    modRevision: new Array(n),
    size: new Array(n),
  };
  const types: string[] = new Array(n);
  const fps: string[] = [];
  let valBytes = 0;
  for (let i = 0; i < n; i++) {
    const e = state.entities[i]!;
    h.keys[i] = e.key;
    types[i] = e.type === "element" ? "e" : "d";
    if (e.type === "element") fps.push(e.fingerprint);
    h.createdAt[i] = e.createdAt;
    h.updatedAt[i] = e.updatedAt;
    h.ttl[i] = e.ttl;
    h.expireAt[i] = e.expireAt;
    h.createRevision[i] = e.createRevision;
    h.modRevision[i] = e.modRevision;
    h.size[i] = e.val.byteLength;
    valBytes += e.val.byteLength;
  }
  h.types = types.join("");
  h.fingerprints = fps.join("");
  const json = encoder.encode(JSON.stringify(h));
  const out = new Uint8Array(PREFIX_BYTES + json.byteLength + valBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, json.byteLength, true);
  out.set(json, PREFIX_BYTES);
  let at = PREFIX_BYTES + json.byteLength;
  for (const e of state.entities) {
    if (e.val.byteLength === 0) continue;
    out.set(e.val, at);
    at += e.val.byteLength;
  }
  return out;
}

function bad(problem: string): TypeError {
  return new TypeError(`Cannot restore the snapshot as ${problem}`);
}

const COLUMNS = [
  "createdAt",
  "updatedAt",
  "ttl",
  "expireAt",
  "createRevision",
  "modRevision",
  "size",
] as const;

/**
 * Decodes a snapshot written by {@linkcode encodeSnapshot}. Values are views
 * into `bytes` (no copy), which must not be modified afterwards.
 * @throws {TypeError} when `bytes` is not a well-formed snapshot.
 */
export function decodeSnapshot(bytes: Uint8Array): SnapshotState {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < PREFIX_BYTES) {
    throw bad(`it must be at least ${PREFIX_BYTES} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== MAGIC) {
    throw bad(
      `its magic must be 0x${MAGIC.toString(16)}: current value is 0x${magic.toString(16)}`,
    );
  }
  const headerLength = view.getUint32(4, true);
  if (headerLength > bytes.byteLength - PREFIX_BYTES) {
    throw bad(`its header of ${headerLength} bytes is truncated`);
  }
  let h: SnapshotHeader;
  try {
    h = JSON.parse(decoder.decode(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength)));
  } catch (e) {
    throw bad(`its header is not UTF-8 JSON: ${(e as Error).message}`);
  }
  if (typeof h !== "object" || h === null || (h.version !== 1 && h.version !== 2)) {
    throw bad(
      `its version must be 1 or 2: current value is ${(h as { version?: unknown })?.version}`,
    );
  }
  if (h.version === 2 && (typeof h.requests !== "object" || h.requests === null)) {
    throw bad("its request table must be an object");
  }
  if (!isCount(h.revision) || !isCount(h.appliedIndex)) {
    throw bad("its revision and applied index must be non-negative integers");
  }
  if (!Array.isArray(h.members)) throw bad("its members must be an array");
  const members: Member[] = [];
  for (const m of h.members) {
    if (
      !Array.isArray(m) || !isCount(m[0]) || typeof m[1] !== "string" ||
      typeof m[2] !== "string" || typeof m[3] !== "boolean"
    ) {
      throw bad(`a member is malformed: current value is ${JSON.stringify(m)}`);
    }
    members.push(Object.freeze({ id: m[0], peerAddr: m[1], clientAddr: m[2], learner: m[3] }));
  }
  if (!Array.isArray(h.keys)) throw bad("its keys must be an array");
  const n = h.keys.length;
  if (typeof h.types !== "string" || h.types.length !== n) {
    throw bad(`its types must be a string of ${n} characters`);
  }
  for (const c of COLUMNS) {
    const col = h[c];
    if (!Array.isArray(col) || col.length !== n) {
      throw bad(`its ${c} column must be an array of ${n} numbers`);
    }
    for (const v of col) if (!isCount(v)) throw bad(`its ${c} column holds ${v}`);
  }
  if (typeof h.fingerprints !== "string") throw bad("its fingerprints must be a string");
  const entities: Entity[] = new Array(n);
  let at = PREFIX_BYTES + headerLength;
  let fp = 0;
  let prev = "";
  for (let i = 0; i < n; i++) {
    const key = h.keys[i]!;
    const kp = keyProblem(key);
    if (kp) throw bad(`entity ${i} has a bad key: ${kp}`);
    if (i > 0 && !(prev < key)) {
      throw bad(`its keys must be strictly ascending: ${key} follows ${prev}`);
    }
    prev = key;
    const size = h.size[i]!;
    let val = EMPTY_VAL;
    let fingerprint = "";
    const element = h.types[i] === "e";
    if (element) {
      if (size > bytes.byteLength - at) throw bad(`the value of ${key} is truncated`);
      val = bytes.subarray(at, at + size);
      at += size;
      fingerprint = h.fingerprints.slice(fp, fp + FP_LENGTH);
      fp += FP_LENGTH;
      if (fingerprint.length !== FP_LENGTH) throw bad(`the fingerprint of ${key} is missing`);
    } else if (h.types[i] !== "d" || size !== 0) {
      throw bad(`entity ${key} must be an element or an empty directory`);
    }
    entities[i] = makeEntity({
      key,
      type: element ? "element" : "directory",
      val,
      fingerprint,
      createdAt: h.createdAt[i]!,
      updatedAt: h.updatedAt[i]!,
      ttl: h.ttl[i]!,
      expireAt: h.expireAt[i]!,
      size,
      createRevision: h.createRevision[i]!,
      modRevision: h.modRevision[i]!,
    });
  }
  if (at !== bytes.byteLength) {
    throw bad(`it must end after ${at} bytes: current length is ${bytes.byteLength}`);
  }
  if (fp !== h.fingerprints.length) throw bad("it has more fingerprints than elements");
  const state: SnapshotState = {
    revision: h.revision,
    appliedIndex: h.appliedIndex,
    members,
    entities,
  };
  if (h.version === 2) state.requests = h.requests;
  return state;
}
