/**
 * The request table: the most recent applied request ids with their results,
 * so that a proposer whose entry it can no longer follow (a snapshot replaced
 * the log where it was) can still find out what happened to it.
 *
 * Replicated like the rest of the store: every node applies the same commands
 * in the same order, so every table holds the same records and the same
 * coverage, and a snapshot carries the table.
 *
 * Bounded by records and estimated bytes; the oldest records go first. The
 * table remembers from which log index it still covers every entry that
 * carried an id ({@linkcode RequestTable.coversFrom}), which is what lets it
 * say "certainly not applied" rather than "unknown".
 *
 * Pure and deterministic: no clock, no randomness.
 *
 * @module
 */

import { Deque } from "./_deque.ts";
import { EMPTY_VAL, makeEntity } from "./_entity.ts";
import type { ApplyError, ApplyOk, ApplyResult, Entity, ErrorCode } from "./types.ts";
import { isCount, positive } from "./_numbers.ts";

/** Longest request id, in UTF-16 code units. */
export const MAX_REQUEST_ID_LENGTH = 128;
/** Records a table keeps at most by default. */
export const DEFAULT_MAX_REQUESTS = 10_000;
/** Estimated bytes a table keeps at most by default. */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Options of {@linkcode RequestTable}. Every replica MUST use the same ones. */
export interface RequestTableOptions {
  /** Most records kept (default {@linkcode DEFAULT_MAX_REQUESTS}). */
  maxRecords?: number;
  /** Most estimated bytes kept (default {@linkcode DEFAULT_MAX_REQUEST_BYTES}); the newest record is always kept. */
  maxBytes?: number;
}

/**
 * What the table knows about a request id:
 * - `applied`: its entry applied at `index`, with `result`;
 * - `not-applied`: certainly not applied: the entry at the proposal's index
 *   was applied, the table covers that index, and the id is not there;
 * - `unknown`: the table no longer covers the proposal's index (or it has
 *   not been applied yet), so it cannot tell.
 */
export type RequestOutcome =
  | { readonly state: "applied"; readonly index: number; readonly result: ApplyResult }
  | { readonly state: "not-applied" }
  | { readonly state: "unknown" };

/** One record as a snapshot holds it: `[id, index, result]`. */
export type RequestRecordJson = [string, number, ResultJson];

/** The table as a snapshot holds it (JSON-safe). */
export interface RequestTableJson {
  /** See {@linkcode RequestTable.coversFrom}. */
  coversFrom: number;
  /** Oldest first, indexes strictly increasing. */
  records: RequestRecordJson[];
}

/** An entity of a result without its value: `[key, "e" | "d", fingerprint, createdAt, updatedAt, ttl, expireAt, size, createRevision, modRevision]`. */
type EntityJson = [string, string, string, number, number, number, number, number, number, number];

/** A result as a snapshot holds it. */
type ResultJson =
  | {
    ok: true;
    revision: number;
    entities?: EntityJson[];
    removed?: number;
    succeeded?: boolean;
    failedCompare?: number;
    failedModRevision?: number;
  }
  | { ok: false; code: ErrorCode; field?: string; message: string };

interface RequestRecord {
  readonly id: string;
  readonly index: number;
  readonly result: ApplyResult;
  readonly bytes: number;
}

const ERROR_CODES: readonly ErrorCode[] = [
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "FAILED_PRECONDITION",
  "ABORTED",
  "INVALID_ARGUMENT",
];

/** Why `id` cannot be a request id, or `undefined` when it can. */
export function requestIdProblem(id: unknown): string | undefined {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_REQUEST_ID_LENGTH) {
    return `a request id must be a string of 1 to ${MAX_REQUEST_ID_LENGTH} characters: current value is ${
      JSON.stringify(id)?.slice(0, 40)
    }`;
  }
  return undefined;
}

/** `e` without its value: what a write's answer carries, and all a record needs. */
function withoutValue(e: Entity): Entity {
  return e.val.byteLength === 0 ? e : makeEntity({ ...e, val: EMPTY_VAL });
}

/** `r` as the table keeps it: frozen, entities without values. */
function keptResult(r: ApplyResult): ApplyResult {
  if (!r.ok) return Object.freeze({ ...r });
  const kept: ApplyOk = r.entities
    ? { ...r, entities: Object.freeze(r.entities.map(withoutValue)) }
    : { ...r };
  return Object.freeze(kept);
}

/** Estimated memory of a record, in bytes (deterministic: from its content only). */
function recordBytes(id: string, r: ApplyResult): number {
  let n = 96 + 2 * id.length;
  if (!r.ok) return n + 2 * (r.message.length + (r.field?.length ?? 0));
  for (const e of r.entities ?? []) n += 160 + 2 * e.key.length + 2 * e.fingerprint.length;
  return n;
}

/**
 * The bounded table of applied request ids and their results.
 *
 * Invariant: every applied entry at index `coversFrom` or later that carried
 * a request id has its record here; `#order` holds the records in log order.
 */
export class RequestTable {
  /** id → record. */
  readonly #records = new Map<string, RequestRecord>();
  /**
   * The records in log order, oldest first, for eviction. (A Map used as a
   * queue costs O(deleted) to find its first entry: ~10 µs a record here.)
   * Holds a stale record only if an id was recorded twice.
   */
  readonly #order = new Deque<RequestRecord>();
  #bytes = 0;
  /** The index of the newest record; 0 before any. */
  #lastIndex = 0;
  #coversFrom: number;
  readonly #maxRecords: number;
  readonly #maxBytes: number;

  /**
   * An empty table that covers every entry from `coversFrom` on (default 1:
   * a store that starts empty applies the whole log).
   */
  constructor(options: RequestTableOptions = {}, coversFrom = 1) {
    this.#maxRecords = positive("maxRecords", options.maxRecords, DEFAULT_MAX_REQUESTS);
    this.#maxBytes = positive("maxBytes", options.maxBytes, DEFAULT_MAX_REQUEST_BYTES);
    if (!isCount(coversFrom) || coversFrom === 0) {
      throw new RangeError(
        `Cannot create the request table as coversFrom must be a positive integer: current value is ${coversFrom}`,
      );
    }
    this.#coversFrom = coversFrom;
  }

  /** Records held. */
  get size(): number {
    return this.#records.size;
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The first log index from which every applied entry that carried a
   * request id is recorded here. Moves forward as old records are dropped.
   */
  get coversFrom(): number {
    return this.#coversFrom;
  }

  /**
   * Records that the entry at `index`, which carried `id`, applied with
   * `result`; drops the oldest records beyond the bounds.
   * @throws {RangeError} when `id` is malformed or `index` does not follow the last record.
   */
  record(id: string, index: number, result: ApplyResult): void {
    const problem = requestIdProblem(id);
    if (problem) throw new RangeError(`Cannot record the request as ${problem}`);
    if (!isCount(index) || index < this.#coversFrom || index <= this.#lastIndex) {
      throw new RangeError(
        `Cannot record request ${id} at index ${index} as records must follow the log: last index is ${
          Math.max(this.#lastIndex, this.#coversFrom - 1)
        }`,
      );
    }
    // Ids are unique per proposal, so a repeat cannot happen in a cluster;
    // should it ever, the older record goes stale (and uncounted) at once.
    const old = this.#records.get(id);
    if (old) this.#bytes -= old.bytes;
    const kept = keptResult(result);
    const rec: RequestRecord = { id, index, result: kept, bytes: recordBytes(id, kept) };
    this.#records.set(id, rec);
    this.#order.push(rec);
    this.#bytes += rec.bytes;
    this.#lastIndex = index;
    while (
      this.#records.size > this.#maxRecords ||
      (this.#bytes > this.#maxBytes && this.#records.size > 1)
    ) {
      const oldest = this.#order.shift()!;
      if (this.#records.get(oldest.id) === oldest) {
        this.#records.delete(oldest.id);
        this.#bytes -= oldest.bytes;
      }
      this.#coversFrom = oldest.index + 1;
    }
  }

  /** The result recorded for `id`, or `undefined` (never applied, or dropped since). */
  result(id: string): ApplyResult | undefined {
    return this.#records.get(id)?.result;
  }

  /**
   * What happened to the proposal of `id` at log `index`, given that the
   * state has applied every entry up to `appliedIndex`. See
   * {@linkcode RequestOutcome}.
   */
  outcome(id: string, index: number, appliedIndex: number): RequestOutcome {
    const rec = this.#records.get(id);
    if (rec) return { state: "applied", index: rec.index, result: rec.result };
    // Entries never move: if the entry at `index` applied, is covered, and is
    // not ours, ours can apply nowhere else.
    if (isCount(index) && index >= this.#coversFrom && index <= appliedIndex) {
      return { state: "not-applied" };
    }
    return { state: "unknown" };
  }

  /** The table as a snapshot holds it. */
  toJson(): RequestTableJson {
    const records: RequestRecordJson[] = [];
    for (let i = 0; i < this.#order.length; i++) {
      const r = this.#order.at(i)!;
      if (this.#records.get(r.id) === r) records.push([r.id, r.index, resultJson(r.result)]);
    }
    return { coversFrom: this.#coversFrom, records };
  }

  /**
   * The table of a snapshot's {@linkcode toJson}.
   * @throws {TypeError} when `json` is malformed (the message says what).
   */
  static fromJson(json: unknown, options: RequestTableOptions = {}): RequestTable {
    const bad = (what: string) => new TypeError(`Cannot restore the request table as ${what}`);
    if (typeof json !== "object" || json === null) throw bad("it must be an object");
    const { coversFrom, records } = json as Partial<RequestTableJson>;
    if (!isCount(coversFrom) || coversFrom === 0) {
      throw bad(`coversFrom must be a positive integer: current value is ${coversFrom}`);
    }
    if (!Array.isArray(records)) throw bad("records must be an array");
    const table = new RequestTable(options, coversFrom);
    for (const json of records) {
      if (!Array.isArray(json) || json.length !== 3) {
        throw bad(`a record must be [id, index, result]: current value is ${show(json)}`);
      }
      const [id, index, result] = json as unknown[];
      const problem = requestIdProblem(id);
      if (problem) throw bad(problem);
      if (!isCount(index) || index < coversFrom || index <= table.#lastIndex) {
        throw bad(`record indexes must increase from coversFrom: current value is ${index}`);
      }
      if (table.#records.has(id as string)) throw bad(`request id ${id} repeats`);
      const r = parseResult(result);
      if (typeof r === "string") throw bad(`the result of ${id} is malformed: ${r}`);
      const rec: RequestRecord = {
        id: id as string,
        index,
        result: r,
        bytes: recordBytes(id as string, r),
      };
      table.#records.set(rec.id, rec);
      table.#order.push(rec);
      table.#bytes += rec.bytes;
      table.#lastIndex = index;
    }
    return table;
  }
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function entityJson(e: Entity): EntityJson {
  return [
    e.key,
    e.type === "element" ? "e" : "d",
    e.fingerprint,
    e.createdAt,
    e.updatedAt,
    e.ttl,
    e.expireAt,
    e.size,
    e.createRevision,
    e.modRevision,
  ];
}

function resultJson(r: ApplyResult): ResultJson {
  if (!r.ok) {
    return r.field === undefined
      ? { ok: false, code: r.code, message: r.message }
      : { ok: false, code: r.code, field: r.field, message: r.message };
  }
  const out: ResultJson = { ok: true, revision: r.revision };
  if (r.entities) out.entities = r.entities.map(entityJson);
  if (r.removed !== undefined) out.removed = r.removed;
  if (r.succeeded !== undefined) out.succeeded = r.succeeded;
  if (r.failedCompare !== undefined) out.failedCompare = r.failedCompare;
  if (r.failedModRevision !== undefined) out.failedModRevision = r.failedModRevision;
  return out;
}

/** The result of `v`, or what is wrong with it. */
function parseResult(v: unknown): ApplyResult | string {
  if (typeof v !== "object" || v === null) return `it must be an object: ${show(v)}`;
  const o = v as Record<string, unknown>;
  if (o.ok === false) {
    if (!ERROR_CODES.includes(o.code as ErrorCode)) return `code ${show(o.code)} is unknown`;
    if (typeof o.message !== "string") return "message must be a string";
    if (o.field !== undefined && typeof o.field !== "string") return "field must be a string";
    const err: ApplyError = o.field === undefined
      ? { ok: false, code: o.code as ErrorCode, message: o.message }
      : { ok: false, code: o.code as ErrorCode, field: o.field, message: o.message };
    return Object.freeze(err);
  }
  if (o.ok !== true) return `ok must be a boolean: ${show(o.ok)}`;
  if (!isCount(o.revision)) return `revision must be a non-negative integer: ${show(o.revision)}`;
  const out: { -readonly [K in keyof ApplyOk]: ApplyOk[K] } = { ok: true, revision: o.revision };
  for (const f of ["removed", "failedCompare", "failedModRevision"] as const) {
    if (o[f] === undefined) continue;
    if (!isCount(o[f])) return `${f} must be a non-negative integer: ${show(o[f])}`;
    out[f] = o[f];
  }
  if (o.succeeded !== undefined) {
    if (typeof o.succeeded !== "boolean") return "succeeded must be a boolean";
    out.succeeded = o.succeeded;
  }
  if (o.entities !== undefined) {
    if (!Array.isArray(o.entities)) return "entities must be an array";
    const entities: Entity[] = [];
    for (const e of o.entities) {
      const parsed = parseEntity(e);
      if (typeof parsed === "string") return parsed;
      entities.push(parsed);
    }
    out.entities = Object.freeze(entities);
  }
  return Object.freeze(out);
}

function parseEntity(v: unknown): Entity | string {
  if (!Array.isArray(v) || v.length !== 10) return `an entity must have 10 fields: ${show(v)}`;
  const [key, type, fingerprint, ...nums] = v as unknown[];
  if (
    typeof key !== "string" || (type !== "e" && type !== "d") || typeof fingerprint !== "string"
  ) {
    return `an entity's key, type or fingerprint is malformed: ${show(v)}`;
  }
  if (!nums.every(isCount)) return `an entity's numbers are malformed: ${show(v)}`;
  const [createdAt, updatedAt, ttl, expireAt, size, createRevision, modRevision] = nums as number[];
  return makeEntity({
    key,
    type: type === "e" ? "element" : "directory",
    val: EMPTY_VAL,
    fingerprint,
    createdAt: createdAt!,
    updatedAt: updatedAt!,
    ttl: ttl!,
    expireAt: expireAt!,
    size: size!,
    createRevision: createRevision!,
    modRevision: modRevision!,
  });
}
