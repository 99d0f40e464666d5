/**
 * The commands that cassemdb replicates through raft (the data of a normal
 * log entry) and their binary codec.
 *
 * SetKV, UnsetKV and Txn all become a {@linkcode TxnCommand} (SetKV and
 * UnsetKV are one op whose condition applies to its key); the leader's expiry
 * scan and the Expire RPC become an {@linkcode ExpireCommand}.
 *
 * Layout of an encoded command, little-endian:
 *
 * | offset | bytes | field                                                       |
 * | ------ | ----- | ----------------------------------------------------------- |
 * | 0      | 4     | magic `CMD1`                                                |
 * | 4      | 4     | header length `h` (uint32)                                  |
 * | 8      | h     | header: the command as UTF-8 JSON, each set op's `val`      |
 * |        |       | replaced by its length `size`                               |
 * | 8 + h  | …     | the values of the set ops, in op order, concatenated        |
 *
 * Values are copied once when encoding and never when decoding.
 *
 * @module
 */

import { requestIdProblem } from "./request_table.ts";
import type { Condition } from "./types.ts";

/** Sets an element or creates a directory (proto `SetKVReq`). */
export interface SetOp {
  /** Discriminates the op kind. */
  readonly op: "set";
  /** The key to set; its missing ancestors are created as directories. */
  readonly key: string;
  /** Create a directory (no value, no ttl) instead of setting an element. */
  readonly isDir: boolean;
  /** Seconds to live; 0 = forever. Elements only. */
  readonly ttl: number;
  /** At most 256 KiB; empty for directories. */
  readonly val: Uint8Array;
  /** Replace an existing element; false fails with ALREADY_EXISTS when it exists. */
  readonly overwrite: boolean;
  /** Checked against `key` before the op applies. */
  readonly condition?: Condition;
}

/** Unsets an element, or (with `isDir`) an entity and everything below it (proto `UnsetKVReq`). */
export interface UnsetOp {
  /** Discriminates the op kind. */
  readonly op: "unset";
  /** The key to unset. */
  readonly key: string;
  /** Required to unset a directory: removes it and everything below it. */
  readonly isDir: boolean;
  /** Checked against `key` before the op applies. */
  readonly condition?: Condition;
}

/** One op of a txn. */
export type TxnOp = SetOp | UnsetOp;

/** A compare of a txn (proto `Compare`); without a condition it always holds. */
export interface Compare {
  /** The key the condition is checked against. */
  readonly key: string;
  /** What must hold; none: always holds. */
  readonly condition?: Condition;
}

/** What every command may carry besides its own fields. */
export interface CommandBase {
  /**
   * The proposer's request id, unique per proposal (1 to 128 characters).
   * The store records it with the command's result in its request table, so
   * that a proposer that lost track of its entry can find out what happened.
   */
  readonly id?: string;
}

/**
 * Applies `ops` in order, atomically, at one revision when every compare
 * holds. `time` is the leader's clock (ms since the epoch) when it proposed.
 */
export interface TxnCommand extends CommandBase {
  /** Discriminates the command kind. */
  readonly kind: "txn";
  /** The leader's clock when it proposed (ms since the epoch): sets timestamps and decides expiry. */
  readonly time: number;
  /** At most 64; all must hold for the ops to apply. */
  readonly compares: readonly Compare[];
  /** At most 64; applied in order, each seeing the effects of the ones before. */
  readonly ops: readonly TxnOp[];
}

/** One key of an {@linkcode ExpireCommand}. */
export interface ExpireKey {
  /** The element to expire. */
  readonly key: string;
  /** Expire only while the key's `modRevision` is still this. */
  readonly modRevision?: number;
  /** Expire now whatever the ttl (the Expire RPC); only alone in its command. */
  readonly force?: boolean;
}

/**
 * The leader's expiry batch (keys whose `expireAt ≤ time`, skipped when they
 * changed since) or, with `force`, the Expire RPC for one key.
 */
export interface ExpireCommand extends CommandBase {
  /** Discriminates the command kind. */
  readonly kind: "expire";
  /** The leader's clock when it proposed (ms since the epoch). */
  readonly time: number;
  /** The keys to expire, as `Store.expired` listed them; one forced key for the Expire RPC. */
  readonly keys: readonly ExpireKey[];
}

/** The addresses of one member. */
export interface MemberAddress {
  /** The raft node id (positive). */
  readonly id: number;
  /** Where peers reach its raft transport. */
  readonly peerAddr: string;
  /** Where clients reach its KV service. */
  readonly clientAddr: string;
}

/** Sets the addresses of members in the store's member table. */
export interface MembersCommand extends CommandBase {
  /** Discriminates the command kind. */
  readonly kind: "members";
  /** Members whose addresses to set; unknown ids are added as voters, others keep their role. */
  readonly members: readonly MemberAddress[];
}

/** A command replicated through raft and applied by `Store.applyCommand`. */
export type Command = TxnCommand | ExpireCommand | MembersCommand;

/** `CMD1` read as a little-endian uint32. */
const MAGIC = 0x31444d43;
const PREFIX_BYTES = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes `cmd` as entry data (see the module doc for the layout).
 * @throws {TypeError} when `cmd` is not a well-formed command (wrong kinds or
 * types, non-finite numbers); {@linkcode decodeCommand} accepts everything
 * this returns.
 */
export function encodeCommand(cmd: Command): Uint8Array {
  const vals: Uint8Array[] = [];
  let header: unknown = cmd;
  if (cmd?.kind === "txn" && Array.isArray(cmd.ops)) {
    header = {
      ...cmd,
      ops: cmd.ops.map((op) => {
        if (op?.op !== "set") return op;
        if (!(op.val instanceof Uint8Array)) {
          throw new TypeError(
            `Cannot encode the command as a set op's val must be a Uint8Array: current type is ${typeof op
              .val}`,
          );
        }
        vals.push(op.val);
        const { val, ...rest } = op;
        return { ...rest, size: val.byteLength };
      }),
    };
  }
  const problem = headerProblem(header);
  if (problem) throw new TypeError(`Cannot encode the command as ${problem}`);
  const json = encoder.encode(JSON.stringify(header));
  let size = PREFIX_BYTES + json.byteLength;
  for (const v of vals) size += v.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, json.byteLength, true);
  out.set(json, PREFIX_BYTES);
  let at = PREFIX_BYTES + json.byteLength;
  for (const v of vals) {
    out.set(v, at);
    at += v.byteLength;
  }
  return out;
}

/**
 * Decodes entry data written by {@linkcode encodeCommand}. The `val` of each
 * set op is a view into `bytes` (no copy): do not modify `bytes` while the
 * command is in use.
 * @throws {TypeError} when `bytes` is not an encoded command: wrong magic,
 * truncated or trailing bytes, malformed UTF-8 or JSON, or a header that is
 * not a well-formed command; the message says which.
 */
export function decodeCommand(bytes: Uint8Array): Command {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError("Cannot decode the command as the data must be a Uint8Array");
  }
  if (bytes.byteLength < PREFIX_BYTES) {
    throw new TypeError(
      `Cannot decode the command as it must be at least ${PREFIX_BYTES} bytes: current length is ${bytes.byteLength}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== MAGIC) {
    throw new TypeError(
      `Cannot decode the command as its magic must be 0x${MAGIC.toString(16)}: current value is 0x${
        magic.toString(16)
      }`,
    );
  }
  const headerLength = view.getUint32(4, true);
  if (headerLength > bytes.byteLength - PREFIX_BYTES) {
    throw new TypeError(
      `Cannot decode the command as its header of ${headerLength} bytes is truncated: ${
        bytes.byteLength - PREFIX_BYTES
      } bytes follow`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength)));
  } catch (e) {
    throw new TypeError(
      `Cannot decode the command as its header is not UTF-8 JSON: ${(e as Error).message}`,
    );
  }
  const problem = headerProblem(header);
  if (problem) throw new TypeError(`Cannot decode the command as ${problem}`);
  const cmd = header as Command;
  if (cmd.kind !== "txn") {
    expectEnd(PREFIX_BYTES + headerLength, bytes.byteLength);
    return cmd;
  }
  let at = PREFIX_BYTES + headerLength;
  const ops = (cmd.ops as readonly (TxnOp & { size?: number })[]).map((op) => {
    if (op.op !== "set") return op;
    const { size, ...rest } = op as SetOp & { size: number };
    if (size > bytes.byteLength - at) {
      throw new TypeError(
        `Cannot decode the command as a value of ${size} bytes is truncated: ${
          bytes.byteLength - at
        } bytes follow`,
      );
    }
    const val = bytes.subarray(at, at + size);
    at += size;
    return { ...rest, val };
  });
  expectEnd(at, bytes.byteLength);
  return { ...cmd, ops };
}

function expectEnd(at: number, length: number): void {
  if (at !== length) {
    throw new TypeError(
      `Cannot decode the command as it must end after ${at} bytes: current length is ${length}`,
    );
  }
}

// ---- header validation -------------------------------------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (v === undefined || typeof v === "number") return String(v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function wrong(path: string, what: string, v: unknown): string {
  return `${path} must be ${what}: current value is ${show(v)}`;
}

function numberProblem(o: Obj, field: string, path: string): string | undefined {
  const v = o[field];
  return typeof v === "number" && Number.isFinite(v)
    ? undefined
    : wrong(`${path}.${field}`, "a finite number", v);
}

function stringProblem(o: Obj, field: string, path: string): string | undefined {
  const v = o[field];
  return typeof v === "string" ? undefined : wrong(`${path}.${field}`, "a string", v);
}

function booleanProblem(o: Obj, field: string, path: string, optional = false): string | undefined {
  const v = o[field];
  if (optional && v === undefined) return undefined;
  return typeof v === "boolean" ? undefined : wrong(`${path}.${field}`, "a boolean", v);
}

function conditionProblem(v: unknown, path: string): string | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) return wrong(path, "an object", v);
  const fields = Object.keys(v);
  if (fields.length !== 1) {
    return wrong(path, "exactly one of modRevision, mustNotExist, mustExist", v);
  }
  if ("modRevision" in v) return numberProblem(v, "modRevision", path);
  if (v.mustNotExist === true || v.mustExist === true) return undefined;
  return wrong(path, "{modRevision: n}, {mustNotExist: true} or {mustExist: true}", v);
}

function arrayProblem(o: Obj, field: string, path: string): string | undefined {
  return Array.isArray(o[field]) ? undefined : wrong(`${path}.${field}`, "an array", o[field]);
}

/** What is wrong with a command header, or `undefined` when it is well-formed. */
function headerProblem(h: unknown): string | undefined {
  if (!isObj(h)) return wrong("the header", "an object", h);
  if (h.id !== undefined) {
    const problem = requestIdProblem(h.id);
    if (problem) return problem;
  }
  switch (h.kind) {
    case "txn":
      return numberProblem(h, "time", "txn") ?? arrayProblem(h, "compares", "txn") ??
        arrayProblem(h, "ops", "txn") ??
        firstProblem(h.compares as unknown[], (c, path) => {
          if (!isObj(c)) return wrong(path, "an object", c);
          return stringProblem(c, "key", path) ??
            conditionProblem(c.condition, `${path}.condition`);
        }, "compares") ??
        firstProblem(h.ops as unknown[], opProblem, "ops");
    case "expire":
      return numberProblem(h, "time", "expire") ?? arrayProblem(h, "keys", "expire") ??
        firstProblem(h.keys as unknown[], (k, path) => {
          if (!isObj(k)) return wrong(path, "an object", k);
          return stringProblem(k, "key", path) ??
            (k.modRevision === undefined ? undefined : numberProblem(k, "modRevision", path)) ??
            booleanProblem(k, "force", path, true);
        }, "keys");
    case "members":
      return arrayProblem(h, "members", "members") ??
        firstProblem(h.members as unknown[], (m, path) => {
          if (!isObj(m)) return wrong(path, "an object", m);
          return numberProblem(m, "id", path) ?? stringProblem(m, "peerAddr", path) ??
            stringProblem(m, "clientAddr", path);
        }, "members");
    default:
      return wrong("kind", `"txn", "expire" or "members"`, h.kind);
  }
}

function opProblem(op: unknown, path: string): string | undefined {
  if (!isObj(op)) return wrong(path, "an object", op);
  const common = stringProblem(op, "key", path) ?? booleanProblem(op, "isDir", path) ??
    conditionProblem(op.condition, `${path}.condition`);
  if (common) return common;
  if (op.op === "unset") return undefined;
  if (op.op !== "set") return wrong(`${path}.op`, `"set" or "unset"`, op.op);
  const size = op.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    return wrong(`${path}.size`, "a byte count", size);
  }
  return numberProblem(op, "ttl", path) ?? booleanProblem(op, "overwrite", path);
}

function firstProblem(
  items: unknown[],
  check: (item: unknown, path: string) => string | undefined,
  name: string,
): string | undefined {
  for (let i = 0; i < items.length; i++) {
    const p = check(items[i], `${name}[${i}]`);
    if (p) return p;
  }
  return undefined;
}
