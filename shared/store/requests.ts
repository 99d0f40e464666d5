/**
 * The translation between cassemdb's API messages (`wire.ts`) and the store:
 * request → validated store op or command, store result → answer. The gRPC
 * server and the shared client's in-memory implementation both use it, so
 * that they validate and answer identically.
 *
 * Pure: the leader's clock arrives as an argument.
 *
 * @module
 */

import type { SetOp, TxnCommand, TxnOp, UnsetOp } from "./command.ts";
import { EMPTY_VAL } from "./_entity.ts";
import type { ApplyOk, ApplyResult, ErrorCode } from "./types.ts";
import type { Change, Condition, Entity } from "./types.ts";
import {
  checkKey,
  checkRevision,
  checkTtl,
  checkValue,
  InvalidArgumentError,
  LIMITS,
} from "./validate.ts";
import type {
  WireChange,
  WireCondition,
  WireEntity,
  WireSetKV,
  WireTxn,
  WireTxnResp,
  WireUnsetKV,
} from "./wire.ts";

/**
 * Store entity → proto entity; without its value for answers to writes
 * (`withVal` false): the caller has it. `val` is the store's own (shared,
 * never to be written to).
 */
export function toProtoEntity(e: Entity, withVal = true): WireEntity {
  const type = e.type === "directory" ? "DIRECTORY" : "ELEMENT";
  return withVal ? { ...e, type } : { ...e, val: EMPTY_VAL, type };
}

/** An entity as a write's answer carries it: without its value. */
export function writtenEntity(e: Entity): WireEntity {
  return toProtoEntity(e, false);
}

/** Store change → proto change (`last`/`current` left out when absent). */
export function toProtoChange(c: Change): WireChange {
  const out: WireChange = {
    op: c.op === "set" ? "SET" : "UNSET",
    key: c.key,
    revision: c.revision,
    reason: c.reason,
  };
  if (c.last) out.last = toProtoEntity(c.last);
  if (c.current) out.current = toProtoEntity(c.current);
  return out;
}

/** Which member of a Condition's oneof is set: grpc-js names it in `check`. */
function checkOf(c: WireCondition): WireCondition["check"] {
  if (c.check) return c.check;
  if (c.modRevision !== undefined) return "modRevision";
  if (c.mustNotExist !== undefined) return "mustNotExist";
  if (c.mustExist !== undefined) return "mustExist";
  return undefined;
}

/**
 * Validates and converts a Condition message; `field` is its proto path.
 * @throws {InvalidArgumentError} when `mod_revision` is not an integer ≥ 1.
 */
export function condition(
  field: string,
  c: WireCondition | null | undefined,
): Condition | undefined {
  if (!c) return undefined;
  switch (checkOf(c)) {
    case "modRevision": {
      const rev = checkRevision(`${field}.mod_revision`, c.modRevision);
      if (rev < 1) throw new InvalidArgumentError(`${field}.mod_revision`, "it must be at least 1");
      return { modRevision: rev };
    }
    case "mustNotExist":
      return c.mustNotExist ? { mustNotExist: true } : undefined;
    case "mustExist":
      return c.mustExist ? { mustExist: true } : undefined;
  }
  return undefined;
}

/**
 * Validates a SetKV request (or a Txn's set op, whose fields start with
 * `prefix`, e.g. `"ops[0].set."`) and converts it to a store op.
 * @throws {InvalidArgumentError} naming the field.
 */
export function setOp(prefix: string, req: WireSetKV): SetOp {
  const isDir = Boolean(req.isDir);
  const val = checkValue(`${prefix}val`, req.val);
  if (isDir && val.byteLength > 0) {
    throw new InvalidArgumentError(`${prefix}val`, "a directory holds no value");
  }
  const ttl = checkTtl(`${prefix}ttl`, req.ttl);
  if (isDir && ttl > 0) throw new InvalidArgumentError(`${prefix}ttl`, "a directory cannot expire");
  return {
    op: "set",
    key: checkKey(`${prefix}key`, req.key),
    isDir,
    ttl,
    // encodeCommand copies it into the entry; the store copies it again.
    val,
    overwrite: Boolean(req.overwrite),
    condition: condition(`${prefix}condition`, req.condition),
  };
}

/**
 * Validates an UnsetKV request (or a Txn's unset op, fields under `prefix`).
 * @throws {InvalidArgumentError} naming the field.
 */
export function unsetOp(prefix: string, req: WireUnsetKV): UnsetOp {
  return {
    op: "unset",
    key: checkKey(`${prefix}key`, req.key),
    isDir: Boolean(req.isDir),
    condition: condition(`${prefix}condition`, req.condition),
  };
}

/**
 * Validates a Txn request and converts it to the command the leader
 * proposes at `time` (its clock, ms since the epoch): at most 64 compares,
 * 1 to 64 ops, each key in one op, at most 2 MiB of values.
 * @throws {InvalidArgumentError} naming the field.
 */
export function txnCommand(req: WireTxn, time: number): TxnCommand {
  const compares = req.compares ?? [];
  const ops = req.ops ?? [];
  if (compares.length > LIMITS.txnCompares) {
    throw new InvalidArgumentError(
      "compares",
      `at most ${LIMITS.txnCompares} are allowed: current count is ${compares.length}`,
    );
  }
  if (ops.length === 0 || ops.length > LIMITS.txnOps) {
    throw new InvalidArgumentError(
      "ops",
      `it must hold 1 to ${LIMITS.txnOps} ops: current count is ${ops.length}`,
    );
  }
  const seen = new Set<string>();
  let bytes = 0;
  const txnOps: TxnOp[] = ops.map((o, i) => {
    let op: TxnOp;
    if (o.op === "set" && o.set) op = setOp(`ops[${i}].set.`, o.set);
    else if (o.op === "unset" && o.unset) op = unsetOp(`ops[${i}].unset.`, o.unset);
    else throw new InvalidArgumentError(`ops[${i}]`, "it must be a set or an unset");
    if (seen.has(op.key)) {
      throw new InvalidArgumentError(
        `ops[${i}]`,
        `each key may appear in one op only: "${op.key}" repeats`,
      );
    }
    seen.add(op.key);
    if (op.op === "set") bytes += op.val.byteLength;
    return op;
  });
  if (bytes > LIMITS.txnValueBytes) {
    throw new InvalidArgumentError(
      "ops",
      `values must total at most ${LIMITS.txnValueBytes} bytes: current total is ${bytes}`,
    );
  }
  return {
    kind: "txn",
    time,
    compares: compares.map((c, i) => ({
      key: checkKey(`compares[${i}].key`, c.key),
      condition: condition(`compares[${i}].condition`, c.condition),
    })),
    ops: txnOps,
  };
}

/** A request the store refused, as the API reports it: a status name, a field, a message. */
export interface Refusal {
  /** The gRPC status name to answer with. */
  readonly code: ErrorCode;
  /** The proto path of the rejected field, if the store named one. */
  readonly field?: string;
  /** Sentence-case, no final period. */
  readonly message: string;
}

/**
 * The refusal in `r`, or `undefined` when it applied. For SetKV, UnsetKV and
 * Expire (op 0 of a command), pass the op's prefix as `stripPrefix`
 * (`"ops[0].set."`): their fields are named as in their own request.
 */
export function refusalOf(r: ApplyResult, stripPrefix: string): Refusal | undefined {
  if (r.ok) return undefined;
  const field = r.field && stripPrefix && r.field.startsWith(stripPrefix)
    ? r.field.slice(stripPrefix.length)
    : r.field;
  return field === undefined
    ? { code: r.code, message: r.message }
    : { code: r.code, field, message: r.message };
}

/** The SetKV answer of an applied set: the entity without its value, and the revision. */
export function setAnswer(r: ApplyOk): { entity: WireEntity; revision: number } {
  return { entity: writtenEntity(r.entities![0]!), revision: r.revision };
}

/** The UnsetKV answer of an applied unset. */
export function unsetAnswer(r: ApplyOk): { removed: number; revision: number } {
  return { removed: r.removed ?? 0, revision: r.revision };
}

/** The Txn answer of an applied txn (succeeded or with a failed compare). */
export function txnAnswer(r: ApplyOk): WireTxnResp {
  return {
    succeeded: r.succeeded ?? true,
    revision: r.revision,
    entities: (r.entities ?? []).map(writtenEntity),
    failedCompare: r.failedCompare ?? 0,
    failedModRevision: r.failedModRevision ?? 0,
  };
}
