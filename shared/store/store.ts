/**
 * The cassemdb state machine: a sorted map of entities (elements and
 * directories under slash-separated keys) with one global revision, TTLs, a
 * member table and binary snapshots. The semantics of every command are
 * listed on {@linkcode Store.applyCommand}.
 *
 * Pure and deterministic: no I/O, no clock, no randomness. Time arrives in
 * commands (`time`, the leader's clock) and in read arguments (`now`), so
 * every raft node that applies the same commands reaches the same state.
 *
 * @module
 */

import { type BTree, compareStrings, newBTree, newBTreeSorted } from "./_btree.ts";
import type {
  Command,
  Compare,
  ExpireCommand,
  MembersCommand,
  SetOp,
  TxnCommand,
  TxnOp,
  UnsetOp,
} from "./command.ts";
import { makeChange, makeDirectory, makeEntity } from "./_entity.ts";
import { fingerprint } from "./fingerprint.ts";
import { ancestorsOf, keyProblem, MAX_TXN_COMPARES, MAX_TXN_OPS, MAX_VALUE_BYTES } from "./keys.ts";
import { decodeSnapshot, encodeSnapshot } from "./_snapshot.ts";
import {
  requestIdProblem,
  type RequestOutcome,
  RequestTable,
  type RequestTableOptions,
} from "./request_table.ts";
import type {
  ApplyError,
  ApplyResult,
  Change,
  Condition,
  Entity,
  ErrorCode,
  Member,
} from "./types.ts";
import { isCount } from "./_numbers.ts";

/**
 * Receives the changes of each new revision, synchronously, in revision
 * order, once the revision is applied. `changes` is frozen and non-empty.
 * A listener MUST NOT throw or call back into the store's apply methods.
 */
export type ChangesListener = (revision: number, changes: readonly Change[]) => void;

/** Options of the {@linkcode Store} constructor and {@linkcode Store.restore}. */
export interface StoreOptions {
  /** Called after every applied revision, for example `WatchHub.publish`. */
  onChanges?: ChangesListener;
  /** Bounds of the request table (see {@linkcode RequestTable}); every replica MUST use the same. */
  requests?: RequestTableOptions;
}

/** Options of {@linkcode Store.range}. */
export interface RangeOptions {
  /** Start strictly after this key; `""` or absent starts at the first key of the prefix. */
  seek?: string;
  /** Most entities to return (≥ 1); absent means all. */
  limit?: number;
  /**
   * Leave out elements whose ttl has run out at this time (ms since the
   * epoch): `0 < expireAt ≤ liveAt`. Absent: list them too, as they stand
   * until an expire command removes them.
   */
  liveAt?: number;
}

/** One page of {@linkcode Store.range}. */
export interface RangeResult {
  /** In key order. */
  entities: Entity[];
  /** Whether more entities with the prefix follow the page. */
  hasMore: boolean;
  /** The last key of the page when `hasMore` (pass it as `seek`), else `""`. */
  nextSeekKey: string;
}

/** A key due for expiry, as {@linkcode Store.expired} lists it. */
export interface DueKey {
  /** The element due for expiry. */
  key: string;
  /** Pass back in the expire command so that a key set again since is left alone. */
  modRevision: number;
}

/** The request table of a snapshot; a malformed one is a malformed snapshot. */
function restoreRequests(json: unknown, options?: RequestTableOptions): RequestTable {
  try {
    return RequestTable.fromJson(json, options);
  } catch (e) {
    throw new TypeError(
      `Cannot restore the snapshot as its request table is malformed: ${(e as Error).message}`,
    );
  }
}

/** (expireAt, key): the order of the expiry index. */
type ExpiryKey = readonly [number, string];

function compareExpiry(a: ExpiryKey, b: ExpiryKey): number {
  return a[0] - b[0] || compareStrings(a[1], b[1]);
}

function q(key: string): string {
  return JSON.stringify(key);
}

function isDue(e: Entity, now: number): boolean {
  return e.expireAt > 0 && e.expireAt <= now;
}

function fail(code: ErrorCode, field: string | undefined, message: string): ApplyError {
  return field === undefined ? { ok: false, code, message } : { ok: false, code, field, message };
}

/** Why `cond` does not hold for `cur` (absent: `undefined`), or `undefined` when it holds. */
function conditionFailure(
  cond: Condition | undefined,
  cur: Entity | undefined,
  verb: string,
  key: string,
): string | undefined {
  if (cond === undefined) return undefined;
  if (cond.mustNotExist) {
    return cur
      ? `Cannot ${verb} ${q(key)} as it must not exist: current mod_revision is ${cur.modRevision}`
      : undefined;
  }
  if (cond.mustExist) {
    return cur ? undefined : `Cannot ${verb} ${q(key)} as it must exist: current value is absent`;
  }
  if (cur?.modRevision === cond.modRevision) return undefined;
  return `Cannot ${verb} ${
    q(key)
  } as its mod_revision must be ${cond.modRevision}: current mod_revision is ${
    cur ? cur.modRevision : "0 (absent)"
  }`;
}

/** Why a condition is malformed (as `[field suffix, message]`), or `undefined`. */
function conditionProblem(cond: Condition | undefined): [string, string] | undefined {
  if (cond === undefined) return undefined;
  if (typeof cond !== "object" || cond === null) {
    return ["", `Cannot use the condition as it must be an object: current value is ${cond}`];
  }
  const set = Number(cond.modRevision !== undefined) + Number(cond.mustNotExist !== undefined) +
    Number(cond.mustExist !== undefined);
  if (set !== 1) {
    return [
      "",
      "Cannot use the condition as exactly one of mod_revision, must_not_exist and must_exist must be set",
    ];
  }
  if (cond.modRevision !== undefined && !isCount(cond.modRevision)) {
    return [
      ".mod_revision",
      `Cannot use the condition as mod_revision must be a non-negative integer: current value is ${cond.modRevision}`,
    ];
  }
  if (cond.mustNotExist !== undefined && cond.mustNotExist !== true) {
    return [".must_not_exist", "Cannot use the condition as must_not_exist must be true"];
  }
  if (cond.mustExist !== undefined && cond.mustExist !== true) {
    return [".must_exist", "Cannot use the condition as must_exist must be true"];
  }
  return undefined;
}

/** The first INVALID_ARGUMENT of a txn, or `undefined` when it is well-formed. */
function txnProblem(cmd: TxnCommand): ApplyError | undefined {
  if (!isCount(cmd.time)) {
    return fail(
      "INVALID_ARGUMENT",
      undefined,
      `Cannot apply the txn as its time must be a non-negative integer: current value is ${cmd.time}`,
    );
  }
  if (!Array.isArray(cmd.compares) || cmd.compares.length > MAX_TXN_COMPARES) {
    return fail(
      "INVALID_ARGUMENT",
      "compares",
      `Cannot apply the txn as it must have at most ${MAX_TXN_COMPARES} compares: current count is ${cmd.compares?.length}`,
    );
  }
  if (!Array.isArray(cmd.ops) || cmd.ops.length > MAX_TXN_OPS) {
    return fail(
      "INVALID_ARGUMENT",
      "ops",
      `Cannot apply the txn as it must have at most ${MAX_TXN_OPS} ops: current count is ${cmd.ops?.length}`,
    );
  }
  for (let i = 0; i < cmd.compares.length; i++) {
    const c: Compare = cmd.compares[i]!;
    const kp = keyProblem(c.key);
    if (kp) return fail("INVALID_ARGUMENT", `compares[${i}].key`, kp);
    const cp = conditionProblem(c.condition);
    if (cp) return fail("INVALID_ARGUMENT", `compares[${i}].condition${cp[0]}`, cp[1]);
  }
  for (let i = 0; i < cmd.ops.length; i++) {
    const op: TxnOp = cmd.ops[i]!;
    if (op.op !== "set" && op.op !== "unset") {
      return fail(
        "INVALID_ARGUMENT",
        `ops[${i}]`,
        `Cannot apply the op as it must be "set" or "unset": current value is ${
          (op as { op: unknown }).op
        }`,
      );
    }
    const at = `ops[${i}].${op.op}`;
    const kp = keyProblem(op.key);
    if (kp) return fail("INVALID_ARGUMENT", `${at}.key`, kp);
    const cp = conditionProblem(op.condition);
    if (cp) return fail("INVALID_ARGUMENT", `${at}.condition${cp[0]}`, cp[1]);
    if (op.op === "unset") continue;
    if (!isCount(op.ttl)) {
      return fail(
        "INVALID_ARGUMENT",
        `${at}.ttl`,
        `Cannot set ${q(op.key)} as ttl must be a non-negative integer: current value is ${op.ttl}`,
      );
    }
    if (!Number.isSafeInteger(cmd.time + op.ttl * 1000)) {
      return fail(
        "INVALID_ARGUMENT",
        `${at}.ttl`,
        `Cannot set ${
          q(op.key)
        } as its expiry time must be a safe integer: current ttl is ${op.ttl}`,
      );
    }
    if (!(op.val instanceof Uint8Array)) {
      return fail("INVALID_ARGUMENT", `${at}.val`, `Cannot set ${q(op.key)} as val must be bytes`);
    }
    if (op.isDir && op.ttl !== 0) {
      return fail(
        "INVALID_ARGUMENT",
        `${at}.ttl`,
        `Cannot set directory ${
          q(op.key)
        } with a ttl as only elements expire: current value is ${op.ttl}`,
      );
    }
    if (op.isDir && op.val.byteLength !== 0) {
      return fail(
        "INVALID_ARGUMENT",
        `${at}.val`,
        `Cannot set directory ${
          q(op.key)
        } with a value as directories hold none: current size is ${op.val.byteLength}`,
      );
    }
    if (op.val.byteLength > MAX_VALUE_BYTES) {
      return fail(
        "INVALID_ARGUMENT",
        `${at}.val`,
        `Cannot set ${
          q(op.key)
        } as its value must be at most ${MAX_VALUE_BYTES} bytes: current size is ${op.val.byteLength}`,
      );
    }
  }
  return undefined;
}

/** The state of one txn being applied. */
interface Tx {
  readonly revision: number;
  readonly time: number;
  readonly changes: Change[];
  removed: number;
}

/** An op that failed, before the `ops[i].<op>` prefix is added to its field. */
interface OpError {
  readonly code: ErrorCode;
  readonly field: string;
  readonly message: string;
}

/**
 * The replicated key/value state machine of cassemdb.
 *
 * Invariants: every ancestor of an entity is a directory; directories never
 * expire; `revision` grows by exactly one for each applied command that
 * changed anything; the expiry index holds `(expireAt, key)` for exactly the
 * entities with `expireAt > 0`.
 *
 * Entities and changes it hands out are frozen and never mutated (see
 * {@linkcode Entity}); reads have no side effects and may return entities
 * whose ttl has run out but that no expire command has removed yet.
 */
export class Store {
  #entities: BTree<string, Entity> = newBTree(compareStrings);
  #expiry: BTree<ExpiryKey, true> = newBTree(compareExpiry);
  #revision = 0;
  #appliedIndex = 0;
  #members = new Map<number, Member>();
  #requests: RequestTable;
  #onChanges: ChangesListener | undefined;
  /** While a txn applies: the previous value of every written key, in write order. */
  #undo: [string, Entity | undefined][] | undefined;

  /** An empty store at revision 0, applied index 0. */
  constructor(options: StoreOptions = {}) {
    this.#onChanges = options.onChanges;
    this.#requests = new RequestTable(options.requests);
  }

  /** The revision of the last change; 0 before any. */
  get revision(): number {
    return this.#revision;
  }

  /** The log index of the last applied entry (see {@linkcode applyCommand}, {@linkcode markApplied}). */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  // ---- apply ------------------------------------------------------------------

  /**
   * Applies the command of log entry `index`. User errors come back as
   * `{ ok: false }` with the store unchanged. A command that changes anything
   * takes the next revision (all its changes share it) and passes the changes
   * to the `onChanges` listener before this returns; one that changes nothing
   * takes none. Deterministic: the result and the new state depend only on
   * the state and `cmd`.
   *
   * An element whose ttl ran out (`0 < expireAt ≤ cmd.time`) is absent to a
   * txn: to compares, conditions, `overwrite` and existence checks. When an
   * op touches one (its key or an ancestor), it is removed with an "expired"
   * unset change just before the op's own changes.
   *
   * txn: INVALID_ARGUMENT when malformed (keys, ttl, value size, conditions,
   * at most 64 compares and 64 ops). If a compare fails: `succeeded: false`
   * with `failedCompare` (its index) and `failedModRevision` (its key's
   * mod_revision now, 0 when absent), nothing applied. Otherwise the ops apply
   * in order, each seeing the effects of those before it; if one fails, none
   * applies and its error is returned with `field` `ops[i].set.*` or
   * `ops[i].unset.*`.
   *
   * - set element, checked in this order: the op's condition fails →
   *   ABORTED (naming the current mod_revision); an ancestor is an element →
   *   FAILED_PRECONDITION; the key is a directory → FAILED_PRECONDITION;
   *   exists and `!overwrite` → ALREADY_EXISTS, unless the condition asked
   *   for an existing key (`modRevision` or `mustExist`), which implies
   *   overwrite. Then missing
   *   ancestors are created as directories and the element is set:
   *   createRevision and createdAt kept on overwrite, modRevision = the new
   *   revision, updatedAt = time, expireAt = time + ttl·1000 (ttl > 0).
   * - set directory: the same checks (the key being an element fails); an
   *   existing directory is left as it is and returned (no change, whatever
   *   `overwrite`); ttl and val must be empty.
   * - unset: condition fails → ABORTED; absent → NOT_FOUND; a directory
   *   without `isDir` → FAILED_PRECONDITION. With
   *   `isDir`, removes the key and everything below it: one unset change per
   *   entity, in key order, reason "unset" for the key, "parent" below (or
   *   "expired" for due elements, which `removed` does not count).
   *
   * expire: each listed element that is due at `time` and still has the
   * listed modRevision is removed ("expired"); others are skipped. A forced
   * key (alone in the command) is removed whatever its ttl: NOT_FOUND when
   * absent, FAILED_PRECONDITION for a directory, ABORTED for a modRevision
   * mismatch.
   *
   * members: sets the addresses of the listed members (unknown ids are added
   * as voters); no revision.
   *
   * A command that carries a request id (`cmd.id`) has its result recorded
   * under it, whatever the result: see {@linkcode requestOutcome}. A
   * malformed id is INVALID_ARGUMENT (field `id`), with nothing applied.
   *
   * @throws {RangeError} when `index` is not greater than {@linkcode appliedIndex}
   * (entries must be applied once, in log order).
   */
  applyCommand(cmd: Command, index: number): ApplyResult {
    this.markApplied(index);
    const id = cmd?.id;
    if (id === undefined) return this.#applyKind(cmd);
    const problem = requestIdProblem(id);
    if (problem) return fail("INVALID_ARGUMENT", "id", `Cannot apply the command as ${problem}`);
    const result = this.#applyKind(cmd);
    this.#requests.record(id, index, result);
    return result;
  }

  #applyKind(cmd: Command): ApplyResult {
    switch (cmd?.kind) {
      case "txn":
        return this.#applyTxn(cmd);
      case "expire":
        return this.#applyExpire(cmd);
      case "members":
        return this.#applyMembers(cmd);
      default:
        return fail(
          "INVALID_ARGUMENT",
          "kind",
          `Cannot apply the command as its kind must be "txn", "expire" or "members": current value is ${
            (cmd as { kind?: unknown })?.kind
          }`,
        );
    }
  }

  /**
   * Records that log entry `index` was applied without a command (an empty
   * entry or a membership change), so that snapshots carry the right index.
   * @throws {RangeError} when `index` is not an integer greater than {@linkcode appliedIndex}.
   */
  markApplied(index: number): void {
    if (!Number.isSafeInteger(index) || index <= this.#appliedIndex) {
      throw new RangeError(
        `Cannot apply entry ${index} as it must be an integer after the applied index: current value is ${this.#appliedIndex}`,
      );
    }
    this.#appliedIndex = index;
  }

  // ---- request ids --------------------------------------------------------------

  /**
   * The result recorded for request id `id` (entities without their values),
   * or `undefined` when no command with that id applied recently enough for
   * the request table to remember it.
   */
  requestResult(id: string): ApplyResult | undefined {
    return this.#requests.result(id);
  }

  /**
   * What became of the command with request id `id` proposed at log `index`:
   * applied (with its result), certainly not applied, or unknown (see
   * {@linkcode RequestOutcome}).
   */
  requestOutcome(id: string, index: number): RequestOutcome {
    return this.#requests.outcome(id, index, this.#appliedIndex);
  }

  /** The request table's size and coverage, for status pages and tests. */
  requestStats(): { records: number; bytes: number; coversFrom: number } {
    const t = this.#requests;
    return { records: t.size, bytes: t.bytes, coversFrom: t.coversFrom };
  }

  #applyTxn(cmd: TxnCommand): ApplyResult {
    const problem = txnProblem(cmd);
    if (problem) return problem;
    for (let i = 0; i < cmd.compares.length; i++) {
      const c = cmd.compares[i]!;
      const cur = this.#live(c.key, cmd.time);
      if (conditionFailure(c.condition, cur, "compare", c.key)) {
        return {
          ok: true,
          revision: this.#revision,
          succeeded: false,
          entities: [],
          removed: 0,
          failedCompare: i,
          failedModRevision: cur?.modRevision ?? 0,
        };
      }
    }
    const tx: Tx = { revision: this.#revision + 1, time: cmd.time, changes: [], removed: 0 };
    const entities: Entity[] = [];
    this.#undo = [];
    try {
      for (let i = 0; i < cmd.ops.length; i++) {
        const op = cmd.ops[i]!;
        const r = op.op === "set" ? this.#set(op, tx) : this.#unset(op, tx);
        if (typeof r === "object" && "code" in r) {
          this.#rollback();
          return fail(r.code, `ops[${i}].${op.op}.${r.field}`, r.message);
        }
        if (r !== true) entities.push(r);
      }
    } catch (e) {
      this.#rollback();
      throw e;
    } finally {
      this.#undo = undefined;
    }
    this.#commit(tx);
    return {
      ok: true,
      revision: this.#revision,
      succeeded: true,
      entities,
      removed: tx.removed,
    };
  }

  #set(op: SetOp, tx: Tx): Entity | OpError {
    const { key } = op;
    const ancestors = ancestorsOf(key);
    const cur = this.#live(key, tx.time);
    // Check everything first, so that a failing op leaves nothing to undo.
    // A condition first: a lost compare-and-swap is ABORTED whatever else.
    const cf = conditionFailure(op.condition, cur, "set", key);
    if (cf) return { code: "ABORTED", field: "condition", message: cf };
    for (const a of ancestors) {
      if (this.#live(a, tx.time)?.type === "element") {
        return {
          code: "FAILED_PRECONDITION",
          field: "key",
          message: `Cannot set ${q(key)} as ${q(a)} is an element, not a directory`,
        };
      }
    }
    if (op.isDir && cur?.type === "element") {
      return {
        code: "FAILED_PRECONDITION",
        field: "is_dir",
        message: `Cannot set ${
          q(key)
        } as a directory as it is an element: current mod_revision is ${cur.modRevision}`,
      };
    }
    if (!op.isDir && cur?.type === "directory") {
      return {
        code: "FAILED_PRECONDITION",
        field: "is_dir",
        message: `Cannot set ${
          q(key)
        } as an element as it is a directory: current mod_revision is ${cur.modRevision}`,
      };
    }
    if (cur && op.isDir) return cur; // mkdir -p: an existing directory is left as it is
    // A condition that requires the key to exist (and held) implies overwrite.
    const expectsExisting = op.condition?.modRevision !== undefined || op.condition?.mustExist;
    if (cur && !op.overwrite && !expectsExisting) {
      return {
        code: "ALREADY_EXISTS",
        field: "key",
        message: `Cannot set ${
          q(key)
        } as it already exists and overwrite is false: current mod_revision is ${cur.modRevision}`,
      };
    }
    for (const a of ancestors) {
      if (this.#touch(a, tx) === undefined) {
        const dir = makeDirectory(a, tx.revision, tx.time);
        this.#write(a, dir);
        tx.changes.push(makeChange("set", a, undefined, dir, tx.revision, ""));
      }
    }
    this.#touch(key, tx);
    let entity: Entity;
    if (op.isDir) {
      entity = makeDirectory(key, tx.revision, tx.time);
    } else {
      const val = op.val.slice(); // own the bytes: never pin or share the caller's buffer
      entity = makeEntity({
        key,
        type: "element",
        val,
        fingerprint: fingerprint(val),
        createdAt: cur ? cur.createdAt : tx.time,
        updatedAt: tx.time,
        ttl: op.ttl,
        expireAt: op.ttl > 0 ? tx.time + op.ttl * 1000 : 0,
        size: val.byteLength,
        createRevision: cur ? cur.createRevision : tx.revision,
        modRevision: tx.revision,
      });
    }
    this.#write(key, entity);
    tx.changes.push(makeChange("set", key, cur, entity, tx.revision, ""));
    return entity;
  }

  #unset(op: UnsetOp, tx: Tx): true | OpError {
    const { key } = op;
    const cur = this.#live(key, tx.time);
    // A condition first: a lost compare-and-swap is ABORTED whatever else.
    const cf = conditionFailure(op.condition, cur, "unset", key);
    if (cf) return { code: "ABORTED", field: "condition", message: cf };
    if (!cur) {
      return {
        code: "NOT_FOUND",
        field: "key",
        message: `Cannot unset ${q(key)} as it does not exist`,
      };
    }
    if (cur.type === "directory" && !op.isDir) {
      return {
        code: "FAILED_PRECONDITION",
        field: "is_dir",
        message: `Cannot unset ${
          q(key)
        } as it is a directory: set is_dir to remove it and everything below`,
      };
    }
    this.#write(key, undefined);
    tx.changes.push(makeChange("unset", key, cur, undefined, tx.revision, "unset"));
    tx.removed++;
    if (cur.type === "directory") {
      const below: Entity[] = [];
      const from = key + "/";
      for (const [k, e] of this.#entities.entries(from)) {
        if (!k.startsWith(from)) break;
        below.push(e);
      }
      for (const e of below) {
        this.#write(e.key, undefined);
        const expired = isDue(e, tx.time);
        if (!expired) tx.removed++;
        tx.changes.push(
          makeChange("unset", e.key, e, undefined, tx.revision, expired ? "expired" : "parent"),
        );
      }
    }
    return true;
  }

  #applyExpire(cmd: ExpireCommand): ApplyResult {
    if (!isCount(cmd.time)) {
      return fail(
        "INVALID_ARGUMENT",
        undefined,
        `Cannot apply the expiry as its time must be a non-negative integer: current value is ${cmd.time}`,
      );
    }
    if (!Array.isArray(cmd.keys)) {
      return fail("INVALID_ARGUMENT", "keys", "Cannot apply the expiry as keys must be an array");
    }
    for (let i = 0; i < cmd.keys.length; i++) {
      const k = cmd.keys[i]!;
      const kp = keyProblem(k.key);
      if (kp) return fail("INVALID_ARGUMENT", `keys[${i}].key`, kp);
      if (k.modRevision !== undefined && !isCount(k.modRevision)) {
        return fail(
          "INVALID_ARGUMENT",
          `keys[${i}].mod_revision`,
          `Cannot expire ${
            q(k.key)
          } as mod_revision must be a non-negative integer: current value is ${k.modRevision}`,
        );
      }
      if (k.force && cmd.keys.length !== 1) {
        return fail(
          "INVALID_ARGUMENT",
          "keys",
          `Cannot force the expiry of ${
            q(k.key)
          } as a forced expiry must be alone: current count is ${cmd.keys.length}`,
        );
      }
    }
    const tx: Tx = { revision: this.#revision + 1, time: cmd.time, changes: [], removed: 0 };
    const only = cmd.keys[0];
    if (only?.force) {
      const e = this.#entities.get(only.key);
      if (!e) {
        return fail("NOT_FOUND", "key", `Cannot expire ${q(only.key)} as it does not exist`);
      }
      if (e.type === "directory") {
        return fail(
          "FAILED_PRECONDITION",
          "key",
          `Cannot expire ${q(only.key)} as it is a directory: unset it with is_dir instead`,
        );
      }
      if (only.modRevision !== undefined && e.modRevision !== only.modRevision) {
        return fail(
          "ABORTED",
          "mod_revision",
          `Cannot expire ${
            q(only.key)
          } as its mod_revision must be ${only.modRevision}: current mod_revision is ${e.modRevision}`,
        );
      }
      this.#expire(e, tx);
    } else {
      for (const k of cmd.keys) {
        const e = this.#entities.get(k.key);
        if (!e || !isDue(e, cmd.time)) continue;
        if (k.modRevision !== undefined && e.modRevision !== k.modRevision) continue;
        this.#expire(e, tx);
      }
    }
    this.#commit(tx);
    return { ok: true, revision: this.#revision, removed: tx.removed };
  }

  #expire(e: Entity, tx: Tx): void {
    this.#write(e.key, undefined);
    tx.changes.push(makeChange("unset", e.key, e, undefined, tx.revision, "expired"));
    tx.removed++;
  }

  #applyMembers(cmd: MembersCommand): ApplyResult {
    if (!Array.isArray(cmd.members)) {
      return fail(
        "INVALID_ARGUMENT",
        "members",
        "Cannot apply the members as members must be an array",
      );
    }
    for (let i = 0; i < cmd.members.length; i++) {
      const m = cmd.members[i]!;
      if (!isCount(m.id) || m.id === 0) {
        return fail(
          "INVALID_ARGUMENT",
          `members[${i}].id`,
          `Cannot set the member as its id must be a positive integer: current value is ${m.id}`,
        );
      }
      if (typeof m.peerAddr !== "string" || typeof m.clientAddr !== "string") {
        return fail(
          "INVALID_ARGUMENT",
          `members[${i}]`,
          `Cannot set member ${m.id} as its addresses must be strings`,
        );
      }
    }
    for (const m of cmd.members) {
      const learner = this.#members.get(m.id)?.learner ?? false;
      this.#members.set(
        m.id,
        Object.freeze({ id: m.id, peerAddr: m.peerAddr, clientAddr: m.clientAddr, learner }),
      );
    }
    return { ok: true, revision: this.#revision };
  }

  // ---- writes and undo -----------------------------------------------------------

  /** The entity at `key` unless absent or due at `now` (a due entity counts as absent). */
  #live(key: string, now: number): Entity | undefined {
    const e = this.#entities.get(key);
    return e && !isDue(e, now) ? e : undefined;
  }

  /**
   * The entity at `key` as a txn op sees it: a due entity is removed here,
   * with an "expired" change, and `undefined` returned.
   */
  #touch(key: string, tx: Tx): Entity | undefined {
    const e = this.#entities.get(key);
    if (e === undefined || !isDue(e, tx.time)) return e;
    this.#write(key, undefined);
    tx.changes.push(makeChange("unset", key, e, undefined, tx.revision, "expired"));
    return undefined;
  }

  /** Sets (`e`) or deletes (`undefined`) `key`, logging the previous value while a txn applies. */
  #write(key: string, e: Entity | undefined): void {
    const prev = this.#entities.get(key);
    this.#undo?.push([key, prev]);
    this.#replace(key, prev, e);
  }

  #replace(key: string, prev: Entity | undefined, e: Entity | undefined): void {
    if (prev && prev.expireAt > 0) this.#expiry.delete([prev.expireAt, key]);
    if (e) {
      this.#entities.set(key, e);
      if (e.expireAt > 0) this.#expiry.set([e.expireAt, key], true);
    } else {
      this.#entities.delete(key);
    }
  }

  #rollback(): void {
    const undo = this.#undo!;
    for (let i = undo.length - 1; i >= 0; i--) {
      const [key, prev] = undo[i]!;
      this.#replace(key, this.#entities.get(key), prev);
    }
    undo.length = 0;
  }

  #commit(tx: Tx): void {
    if (tx.changes.length === 0) return;
    this.#revision = tx.revision;
    this.#onChanges?.(tx.revision, Object.freeze(tx.changes));
  }

  // ---- reads -----------------------------------------------------------------------

  /** The entity at `key`, or `undefined`. Frozen; includes due entities not yet expired. */
  get(key: string): Entity | undefined {
    return this.#entities.get(key);
  }

  /** The entities at `keys` that exist, in the order asked (missing keys left out). */
  getMany(keys: readonly string[]): Entity[] {
    const out: Entity[] = [];
    for (const k of keys) {
      const e = this.#entities.get(k);
      if (e) out.push(e);
    }
    return out;
  }

  /**
   * One page of the entities whose key starts with `prefix` (a raw string
   * prefix; `""` lists everything), in key order, strictly after
   * `options.seek` when given, without the elements due at `options.liveAt`
   * when given (`hasMore` then says whether a live one follows). O(log n +
   * limit + the due elements skipped).
   * @throws {RangeError} when `options.limit` is not a positive integer.
   */
  range(prefix: string, options: RangeOptions = {}): RangeResult {
    const limit = options.limit ?? Infinity;
    if (!(limit === Infinity || (Number.isSafeInteger(limit) && limit >= 1))) {
      throw new RangeError(
        `Cannot range as limit must be a positive integer: current value is ${limit}`,
      );
    }
    const seek = options.seek ?? "";
    const from = seek > prefix ? seek : prefix;
    const liveAt = options.liveAt;
    const entities: Entity[] = [];
    let hasMore = false;
    for (const [k, e] of this.#entities.entries(from)) {
      if (!k.startsWith(prefix)) break;
      if (seek !== "" && k === seek) continue;
      if (liveAt !== undefined && isDue(e, liveAt)) continue;
      if (entities.length === limit) {
        hasMore = true;
        break;
      }
      entities.push(e);
    }
    return { entities, hasMore, nextSeekKey: hasMore ? entities[entities.length - 1]!.key : "" };
  }

  /**
   * Seconds until `key` expires at time `now` (ms), rounded up: -1 when it
   * never expires (no ttl, or a directory), 0 when it is due; `undefined`
   * when there is no such key.
   */
  ttlLeft(key: string, now: number): number | undefined {
    const e = this.#entities.get(key);
    if (!e) return undefined;
    if (e.expireAt === 0) return -1;
    return e.expireAt <= now ? 0 : Math.ceil((e.expireAt - now) / 1000);
  }

  /**
   * Up to `max` keys due at `now` (`0 < expireAt ≤ now`), earliest first
   * (ties by key), for the leader's expire command. O(log n + max).
   */
  expired(now: number, max: number): DueKey[] {
    const out: DueKey[] = [];
    if (!(max > 0)) return out;
    for (const [[at, key]] of this.#expiry.entries()) {
      if (at > now) break;
      out.push({ key, modRevision: this.#entities.get(key)!.modRevision });
      if (out.length >= max) break;
    }
    return out;
  }

  /** When the next entity expires (ms since the epoch), or `undefined` when none has a ttl. */
  nextExpiry(): number | undefined {
    return this.#expiry.minKey()?.[0];
  }

  /** How many entities (elements and directories) the store holds. */
  count(): number {
    return this.#entities.size;
  }

  // ---- members ----------------------------------------------------------------------

  /**
   * Adds or replaces member `m.id` (call it when a membership change is
   * applied; use {@linkcode markApplied} for the entry's index).
   * @throws {RangeError} when `m.id` is not a positive integer.
   */
  setMember(m: Member): void {
    if (!isCount(m.id) || m.id === 0) {
      throw new RangeError(
        `Cannot set the member as its id must be a positive integer: current value is ${m.id}`,
      );
    }
    this.#members.set(
      m.id,
      Object.freeze({
        id: m.id,
        peerAddr: m.peerAddr,
        clientAddr: m.clientAddr,
        learner: m.learner,
      }),
    );
  }

  /** Removes member `id`; returns whether it was there. */
  removeMember(id: number): boolean {
    return this.#members.delete(id);
  }

  /** The member table, sorted by id; frozen entries. */
  members(): Member[] {
    return [...this.#members.values()].sort((a, b) => a.id - b.id);
  }

  // ---- snapshots ----------------------------------------------------------------------

  /**
   * The whole state (revision, applied index, members, entities) as bytes for
   * {@linkcode Store.restore}: a JSON header of columns and the raw values (see
   * `_snapshot.ts`). O(n) time; allocates one buffer of about the values' size.
   */
  snapshot(): Uint8Array {
    const entities: Entity[] = [];
    this.#entities.forEachPair((_: string, e: Entity) => {
      entities.push(e);
    });
    return encodeSnapshot({
      revision: this.#revision,
      appliedIndex: this.#appliedIndex,
      members: this.members(),
      entities,
      requests: this.#requests.toJson(),
    });
  }

  /**
   * A store holding the state of `bytes` (from {@linkcode snapshot}): same
   * revision, applied index, members, entities, expiry index and request
   * table (a version 1 snapshot has none: the table then covers only the
   * entries after the snapshot). The values
   * are views into `bytes` (no copy, which keeps restoring fast): the store
   * takes ownership of `bytes`, which MUST NOT be modified afterwards and stays
   * in memory while any restored value is live.
   * @throws {TypeError} when `bytes` is not a well-formed snapshot.
   */
  static restore(bytes: Uint8Array, options: StoreOptions = {}): Store {
    const state = decodeSnapshot(bytes);
    const store = new Store(options);
    store.#revision = state.revision;
    store.#appliedIndex = state.appliedIndex;
    for (const m of state.members) store.#members.set(m.id, m);
    store.#requests = state.requests
      ? restoreRequests(state.requests, options.requests)
      : new RequestTable(options.requests, state.appliedIndex + 1);
    const keys: string[] = [];
    const expiry: ExpiryKey[] = [];
    for (const e of state.entities) {
      keys.push(e.key);
      if (e.expireAt > 0) expiry.push([e.expireAt, e.key]);
    }
    store.#entities = newBTreeSorted(keys, state.entities, compareStrings);
    expiry.sort(compareExpiry);
    store.#expiry = newBTreeSorted(expiry, expiry.map(() => true as const), compareExpiry);
    return store;
  }
}
