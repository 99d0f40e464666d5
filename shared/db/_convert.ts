/**
 * Conversions between the client's types (`api.ts`) and the API's wire
 * messages (`shared/store/wire.ts`), shared by `DbClient` and `MemoryDb` so
 * that both send the server the same requests and read its answers alike.
 *
 * @module
 */

import type {
  WireChange,
  WireCondition,
  WireEntity,
  WireSetKV,
  WireTxn,
  WireTxnResp,
  WireUnsetKV,
} from "../store/mod.ts";
import type {
  Change,
  Condition,
  Entity,
  SetOptions,
  TxnRequest,
  TxnResult,
  UnsetOptions,
  Value,
} from "./api.ts";

const encoder = new TextEncoder();

/** A value's bytes (a string as UTF-8). */
export function valueBytes(val: Value | undefined): Uint8Array {
  if (val === undefined) return new Uint8Array(0);
  return typeof val === "string" ? encoder.encode(val) : val;
}

/**
 * A condition as the wire carries it: the oneof member named in `check`, as
 * grpc-js hands it to the server. `undefined` stays `undefined`.
 */
export function wireCondition(c: Condition | undefined): WireCondition | undefined {
  if (c === undefined || c === null) return undefined;
  const raw = c as Record<string, unknown>;
  if (raw.modRevision !== undefined) return { check: "modRevision", modRevision: raw.modRevision };
  if (raw.mustNotExist !== undefined) {
    return { check: "mustNotExist", mustNotExist: raw.mustNotExist };
  }
  if (raw.mustExist !== undefined) return { check: "mustExist", mustExist: raw.mustExist };
  return undefined;
}

/** A SetKV request. */
export function wireSet(key: string, val: Value, o: SetOptions = {}): WireSetKV {
  const req: WireSetKV = { key, val: valueBytes(val) };
  if (o.isDir !== undefined) req.isDir = o.isDir;
  if (o.ttl !== undefined) req.ttl = o.ttl;
  if (o.overwrite !== undefined) req.overwrite = o.overwrite;
  const cond = wireCondition(o.condition);
  if (cond) req.condition = cond;
  return req;
}

/** An UnsetKV request. */
export function wireUnset(key: string, o: UnsetOptions = {}): WireUnsetKV {
  const req: WireUnsetKV = { key };
  if (o.isDir !== undefined) req.isDir = o.isDir;
  const cond = wireCondition(o.condition);
  if (cond) req.condition = cond;
  return req;
}

/** A Txn request; an op that is neither set nor unset is sent as an empty op (the server refuses it). */
export function wireTxn(req: TxnRequest): WireTxn {
  return {
    compares: (req.compares ?? []).map((c) => ({
      key: c.key,
      condition: wireCondition(c.condition) ?? null,
    })),
    ops: (req.ops ?? []).map((op) => {
      if (op?.op === "set") return { op: "set", set: wireSet(op.key, op.val, op) };
      if (op?.op === "unset") return { op: "unset", unset: wireUnset(op.key, op) };
      return {};
    }),
  };
}

/** A Txn answer as the client reports it, naming the failed compare's key. */
export function txnResult(resp: WireTxnResp, req: TxnRequest): TxnResult {
  if (resp.succeeded) {
    return { succeeded: true, revision: resp.revision, entities: resp.entities.map(entity) };
  }
  return {
    succeeded: false,
    revision: resp.revision,
    entities: [],
    failed: {
      index: resp.failedCompare,
      key: req.compares[resp.failedCompare]?.key ?? "",
      modRevision: resp.failedModRevision,
    },
  };
}

/** An entity as the client hands it out: a plain object of its own (val included). */
export function entity(e: WireEntity): Entity {
  return {
    key: e.key,
    type: e.type,
    val: e.val,
    fingerprint: e.fingerprint,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    ttl: e.ttl,
    expireAt: e.expireAt,
    size: e.size,
    createRevision: e.createRevision,
    modRevision: e.modRevision,
  };
}

/** A change as the client hands it out (`last`/`current` absent, never null). */
export function change(c: WireChange): Change {
  const out: { -readonly [K in keyof Change]: Change[K] } = {
    op: c.op,
    key: c.key,
    revision: c.revision,
    reason: c.reason,
  };
  if (c.last) out.last = entity(c.last);
  if (c.current) out.current = entity(c.current);
  return out;
}
