/**
 * Every adm mutation is one cassemdb Txn built by an {@linkcode AdmTxn}
 * and run by {@linkcode runTxn}, the optimistic-concurrency loop:
 *
 * 1. the mutation reads what it depends on through the AdmTxn (`read`,
 *    `readMany`, `require`): each key read becomes a compare of the Txn (its
 *    mod_revision, or that it is still absent);
 * 2. it stages writes (`put`, `remove`, `removeTrees`) and exactly one
 *    oplog entry (`log`), which lands in the same Txn: a change is never
 *    visible without its entry;
 * 3. `runTxn` commits. If a compare failed (another copy wrote first) it
 *    runs the mutation again from fresh reads, up to `config.txnAttempts`
 *    times with a jittered backoff; then 409.
 *
 * A commit whose outcome is unknown (cassemdb timed out after receiving it)
 * is resolved by looking for the oplog entry, whose key is unique to the
 * attempt: found, the mutation applied; not found within a few seconds,
 * the request fails 503 saying so. Nothing is ever half-written, and a
 * retried attempt can never apply twice (its compares would fail).
 *
 * ```ts
 * const { value, revision } = await runTxn(deps, actor, async (tx) => {
 *   const app = await tx.require(AppRecord, appKey(id), () => `app ${id} does not exist`);
 *   const next = { ...app.record, description, updatedAt: tx.time };
 *   tx.put(AppRecord, app.key, next);
 *   tx.log({ operation: "app.update", app: id, target: `apps/${id}` });
 *   return next;
 * });
 * ```
 *
 * @module
 */

import type { z } from "zod";
import {
  encodeRecord,
  newId,
  oplogKey,
  type OplogRecord,
  OplogRecord as OplogSchema,
  type Tree,
} from "../../shared/config/mod.ts";
import type { Condition, Entity, TxnOp, TxnRequest } from "../../shared/db/mod.ts";
import { mayHaveApplied } from "../../shared/db/mod.ts";
import type { AdmDeps } from "../deps.ts";
import {
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  UnavailableError,
} from "../errors.ts";
import { type Stored, storedOf } from "./read.ts";

/** Who is mutating, for the oplog. */
export interface Actor {
  /** The account, or `token:{app}/{id}`. */
  readonly operator: string;
  /** The request's id. */
  readonly requestId: string;
}

/** What the oplog entry of a mutation says (the rest is filled in). */
export interface OplogInput {
  /** The operation, e.g. `app.update` (`OPERATIONS`). */
  operation: string;
  /** What was changed, as a path: `apps/a/envs/prod`. */
  target: string;
  /** The app concerned, if any. */
  app?: string | null;
  /** The env concerned, if any. */
  env?: string | null;
  /** The element key concerned, if any. */
  key?: string | null;
  /** The version before, for version changes. */
  previousVersion?: number | null;
  /** The version after, for version changes. */
  newVersion?: number | null;
  /** The caller's remark. */
  remark?: string;
  /** Small facts (never a raw value or a secret). */
  detail?: OplogRecord["detail"];
}

/** Options of {@linkcode AdmTxn.read}. */
export interface ReadOptions {
  /**
   * The mod_revision the caller's `If-Match` names: a record at another
   * revision (or none) fails with 412.
   */
  ifMatch?: number;
}

/** One attempt of a mutation: the reads it depends on and the writes it stages. */
export class AdmTxn {
  /** The attempt's time, ms since the epoch (one clock reading for every timestamp it writes). */
  readonly now: number;
  /** {@linkcode now} as an ISO 8601 string. */
  readonly time: string;
  readonly #deps: AdmDeps;
  readonly #actor: Actor;
  readonly #compares = new Map<string, Condition>();
  readonly #ops: TxnOp[] = [];
  readonly #written = new Set<string>();
  /** Entities fetched ahead by {@linkcode prefetch} (null: absent), consumed by `read`. */
  readonly #prefetched = new Map<string, Entity | null>();
  #logKey: string | undefined;

  /** A fresh attempt for `actor`. */
  constructor(deps: AdmDeps, actor: Actor) {
    this.#deps = deps;
    this.#actor = actor;
    this.now = deps.clock();
    this.time = new Date(this.now).toISOString();
  }

  /** Who is mutating. */
  get actor(): Actor {
    return this.#actor;
  }

  /** The oplog key of this attempt, once {@linkcode log} was called. */
  get logKey(): string | undefined {
    return this.#logKey;
  }

  /** Whether anything was staged. */
  get isEmpty(): boolean {
    return this.#ops.length === 0;
  }

  #guard(key: string, modRevision: number | undefined): void {
    if (this.#compares.has(key)) return;
    this.#compares.set(key, modRevision === undefined ? { mustNotExist: true } : { modRevision });
  }

  /**
   * The record at `key`, or `undefined`; the Txn will require it unchanged
   * (or still absent). With `ifMatch`, a record at another revision fails 412.
   */
  async read<S extends z.ZodType>(
    schema: S,
    key: string,
    options: ReadOptions = {},
  ): Promise<Stored<z.output<S>> | undefined> {
    const entity = this.#prefetched.has(key)
      ? this.#prefetched.get(key) ?? undefined
      : (await this.#deps.db.get(key)).entity;
    this.#guard(key, entity?.modRevision);
    const stored = entity ? storedOf(schema, entity) : undefined;
    if (options.ifMatch !== undefined && stored?.modRevision !== options.ifMatch) {
      throw new PreconditionFailedError(
        `Cannot apply the change as If-Match names revision ${options.ifMatch}: current revision is ${
          stored?.modRevision ?? "none (it does not exist)"
        }`,
        { field: "header.If-Match" },
      );
    }
    return stored;
  }

  /**
   * Fetches `keys` (1..100) in one round trip, so that the `read`s of them
   * that follow in this attempt cost none. A prefetched key becomes a
   * compare only when it is read.
   */
  async prefetch(keys: readonly string[]): Promise<void> {
    const { entities } = await this.#deps.db.getMany(keys);
    const byKey = new Map(entities.map((e) => [e.key, e]));
    for (const k of keys) this.#prefetched.set(k, byKey.get(k) ?? null);
  }

  /**
   * The record at `key`, which must exist (else 404 with `notFound()` as the
   * reason); guarded as {@linkcode read}.
   */
  async require<S extends z.ZodType>(
    schema: S,
    key: string,
    notFound: () => string,
    options: ReadOptions = {},
  ): Promise<Stored<z.output<S>>> {
    const stored = await this.read(schema, key, {});
    if (!stored) throw new NotFoundError(notFound());
    if (options.ifMatch !== undefined && stored.modRevision !== options.ifMatch) {
      throw new PreconditionFailedError(
        `Cannot apply the change as If-Match names revision ${options.ifMatch}: current revision is ${stored.modRevision}`,
        { field: "header.If-Match" },
      );
    }
    return stored;
  }

  /** The records at `keys` (1..100), `undefined` where absent; each guarded as {@linkcode read}. */
  async readMany<S extends z.ZodType>(
    schema: S,
    keys: readonly string[],
  ): Promise<(Stored<z.output<S>> | undefined)[]> {
    const { entities } = await this.#deps.db.getMany(keys);
    const byKey = new Map(entities.map((e) => [e.key, e]));
    return keys.map((k) => {
      const e = byKey.get(k);
      this.#guard(k, e?.modRevision);
      return e ? storedOf(schema, e) : undefined;
    });
  }

  /** Stages writing `record` (checked by `schema`) at `key`, replacing what is there. */
  put<S extends z.ZodType>(
    schema: S,
    key: string,
    record: z.input<S>,
    options: { ttl?: number } = {},
  ): void {
    this.#claim(key);
    this.#ops.push({
      op: "set",
      key,
      val: encodeRecord(schema, record),
      overwrite: true,
      ...(options.ttl ? { ttl: options.ttl } : {}),
    });
  }

  /**
   * Stages removing `key` (with `isDir`, everything below it too) if it
   * exists; reads it first when it was not read, and guards it.
   */
  async remove(key: string, options: { isDir?: boolean } = {}): Promise<void> {
    if (!this.#compares.has(key)) {
      const { entity } = await this.#deps.db.get(key);
      this.#guard(key, entity?.modRevision);
    }
    if ("mustNotExist" in this.#compares.get(key)!) return;
    this.#claim(key);
    this.#ops.push({ op: "unset", key, isDir: options.isDir ?? false });
  }

  /** Stages removing every tree of `trees` (`appTrees`, `envTrees`, `elementTrees`) that exists. */
  async removeTrees(trees: readonly Tree[]): Promise<void> {
    const { entities } = await this.#deps.db.getMany(trees.map((t) => t.key));
    const byKey = new Map(entities.map((e) => [e.key, e]));
    for (const t of trees) {
      const e = byKey.get(t.key);
      this.#guard(t.key, e?.modRevision);
      if (!e) continue;
      this.#claim(t.key);
      this.#ops.push({ op: "unset", key: t.key, isDir: t.isDir });
    }
  }

  /** Stages the oplog entry of this mutation (exactly one per mutation). */
  log(input: OplogInput): void {
    if (this.#logKey !== undefined) {
      throw new Error("Cannot log twice in one transaction: one mutation has one oplog entry");
    }
    const id = newId();
    const entry: OplogRecord = {
      id,
      time: this.time,
      operator: this.#actor.operator,
      operation: input.operation,
      app: input.app ?? null,
      env: input.env ?? null,
      key: input.key ?? null,
      target: input.target,
      previousVersion: input.previousVersion ?? null,
      newVersion: input.newVersion ?? null,
      remark: input.remark ?? "",
      requestId: this.#actor.requestId,
      detail: input.detail ?? {},
    };
    this.#logKey = oplogKey(this.now, id);
    this.put(OplogSchema, this.#logKey, entry, { ttl: this.#deps.config.oplogTtlSeconds });
  }

  #claim(key: string): void {
    if (this.#written.has(key)) {
      throw new Error(`Cannot write ${key} twice in one transaction`);
    }
    this.#written.add(key);
  }

  /** The Txn to commit. */
  request(): TxnRequest {
    return {
      compares: [...this.#compares].map(([key, condition]) => ({ key, condition })),
      ops: this.#ops,
    };
  }
}

/** A mutation that committed: what it returned, and the revision it committed at. */
export interface Committed<T> {
  /** What the mutation function returned. */
  readonly value: T;
  /** The cassemdb revision of the commit (the new mod_revision of every key it wrote), 0 if it wrote nothing. */
  readonly revision: number;
}

/** How often an unknown commit outcome is looked for. */
const CONFIRM_POLL_MS = 100;

/**
 * Runs `mutate` as one cassemdb Txn, again from fresh reads while another
 * writer wins the compare-and-swap race (see the module doc). `mutate`
 * throws an `AdmError` to refuse; it must call `tx.log` when it stages any
 * write. `what` names the change in errors ("update app shop").
 * @throws {ConflictError} when every attempt lost the race.
 * @throws {UnavailableError} when cassemdb is unreachable, or the outcome stays unknown.
 */
export async function runTxn<T>(
  deps: AdmDeps,
  actor: Actor,
  what: string,
  mutate: (tx: AdmTxn) => Promise<T>,
): Promise<Committed<T>> {
  const attempts = deps.config.txnAttempts;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const tx = new AdmTxn(deps, actor);
    const value = await mutate(tx);
    if (tx.isEmpty) return { value, revision: 0 };
    if (tx.logKey === undefined) {
      throw new Error(`Cannot ${what} as the mutation staged writes without an oplog entry`);
    }
    let result;
    try {
      result = await deps.db.commitTxn(tx.request());
    } catch (e) {
      if (!mayHaveApplied(e)) throw e;
      const revision = await appliedRevision(deps, tx.logKey);
      deps.metrics?.txns.inc({ outcome: revision !== undefined ? "committed" : "unknown" });
      if (revision !== undefined) return { value, revision };
      throw new UnavailableError(
        `Cannot ${what} for sure as cassemdb did not answer: the change may still apply; read it back before retrying`,
        1,
        { cause: e },
      );
    }
    if (result.succeeded) {
      deps.metrics?.txns.inc({ outcome: "committed" });
      return { value, revision: result.revision };
    }
    deps.metrics?.txnConflicts.inc();
    deps.logger.debug("txn conflict", { what, attempt, key: result.failed.key });
    await sleep(Math.random() * Math.min(100, 2 ** attempt));
  }
  deps.metrics?.txns.inc({ outcome: "conflict" });
  throw new ConflictError(
    `Cannot ${what} as concurrent changes kept winning the race: ${attempts} attempts`,
  );
}

/** The revision the Txn logged at `logKey` committed at, if it shows up within `config.unknownOutcomeWaitMs`. */
async function appliedRevision(deps: AdmDeps, logKey: string): Promise<number | undefined> {
  const deadline = Date.now() + deps.config.unknownOutcomeWaitMs;
  for (;;) {
    try {
      const { entity } = await deps.db.get(logKey, { timeoutMs: 1_000 });
      if (entity) return entity.modRevision;
    } catch { /* still unreachable: keep looking until the deadline */ }
    if (Date.now() >= deadline) return undefined;
    await sleep(CONFIRM_POLL_MS);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
