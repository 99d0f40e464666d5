/**
 * MemoryDb: a {@linkcode KvClient} held in memory, for tests of cassemadm,
 * cassemagent and anything else built on the client. It runs the real
 * cassemdb store and watch hub (`shared/store`) and validates and answers
 * through the same translation as the server (`shared/store/requests.ts`),
 * so it refuses, answers and watches as a cluster does, with no sockets and
 * in microseconds.
 *
 * Beyond the interface it offers what tests need to exercise the unhappy
 * paths: an injectable clock (TTL expiry as the leader does it),
 * {@linkcode MemoryDb.failNext} (a call that fails UNAVAILABLE or with an
 * unknown outcome), {@linkcode MemoryDb.disconnectWatches} (every watch
 * stream drops and resumes) and {@linkcode MemoryDb.compact} (the watch
 * history is dropped: a resuming watch is told to re-list).
 *
 * Calls finish at once (in a microtask), so `timeoutMs` never expires; an
 * aborted `signal` rejects with CANCELLED. Entities and changes it hands out
 * are copies: a caller may change them without changing the store.
 *
 * ```ts
 * const db = new MemoryDb({ clock: () => now });
 * await db.set("app/k", "v1");
 * const { entity, revision } = await db.get("app/k");
 * ```
 *
 * @module
 */

import {
  checkKey,
  checkKeys,
  checkLimit,
  checkPrefix,
  type Command,
  CompactedError,
  decodeCommand,
  encodeCommand,
  type Entity as StoreEntity,
  InvalidArgumentError,
  LIMITS,
  refusalOf,
  setAnswer,
  setOp,
  Store,
  toProtoChange,
  toProtoEntity,
  txnAnswer,
  txnCommand,
  unsetAnswer,
  unsetOp,
  WatcherFellBehindError,
  type WatchEvent as HubEvent,
  WatchHub,
} from "../store/mod.ts";
import type { Watcher } from "../store/mod.ts";
import type {
  CallOptions,
  Entity,
  ExpireResult,
  GetManyResult,
  GetResult,
  KvClient,
  ListOptions,
  ListResult,
  ListWatch,
  ListWatchHandlers,
  RangeOptions,
  RangePage,
  ReadOptions,
  SetOptions,
  SetResult,
  TtlResult,
  TxnBuilder,
  TxnRequest,
  TxnResult,
  UnsetOptions,
  UnsetResult,
  Value,
  Watch,
  WatchHandlers,
  WatchRequest,
} from "./api.ts";
import { change, entity, txnResult, wireSet, wireTxn, wireUnset } from "./_convert.ts";
import { DbError, refusalError } from "./errors.ts";
import { list, listAndWatch } from "./list_watch.ts";
import { resumingWatch, type StreamEnd, type StreamSink } from "./_resuming_watch.ts";
import { Txn } from "./txn.ts";

/** Options of the {@linkcode MemoryDb} constructor. */
export interface MemoryDbOptions {
  /**
   * The leader's clock, ms since the epoch (default `Date.now`): it stamps
   * writes and decides TTL expiry. Inject one to make expiry deterministic.
   */
  clock?: () => number;
  /**
   * When set, due keys are expired every this many ms, as the leader's scan
   * does (watchers see UNSET "expired" without any call). Without it they are
   * expired at the start of every call, and by {@linkcode MemoryDb.expireDue}.
   */
  expiryScanMs?: number;
  /** Most revisions the watch history keeps (default 20,000, as cassemdb). */
  maxHistoryRevisions?: number;
  /** Most undelivered revisions a watcher may have before it is cut and resumes (default 1,000). */
  maxPendingRevisions?: number;
}

/**
 * A simulated failure of the next call:
 *
 * - `"unavailable"`: UNAVAILABLE, certainly not applied (what `DbClient`
 *   reports when no node could serve the call before its deadline);
 * - `"timeout-applied"`: a write applies, then the call fails
 *   DEADLINE_EXCEEDED with `mayHaveApplied` (the answer was lost);
 * - `"timeout-not-applied"`: the call fails DEADLINE_EXCEEDED with
 *   `mayHaveApplied` (for a write) and nothing applies.
 */
export type FailureKind = "unavailable" | "timeout-applied" | "timeout-not-applied";

/** The calls {@linkcode MemoryDb.failNext} can target. */
export type MethodName =
  | "get"
  | "getMany"
  | "range"
  | "ttl"
  | "set"
  | "unset"
  | "expire"
  | "commitTxn";

/** Options of {@linkcode MemoryDb.failNext}. */
export interface FailNextOptions {
  /** Only a call of this method fails (default: the next call of any method). */
  method?: MethodName;
  /** How many such calls fail (default 1). */
  times?: number;
}

const WRITES: ReadonlySet<MethodName> = new Set(["set", "unset", "expire", "commitTxn"]);
/** Due keys expired per command, as the leader batches them. */
const EXPIRY_BATCH = 500;

/** A copy of a store entity as the API hands it out (its own `val` bytes). */
function apiEntity(e: StoreEntity, withVal = true): Entity {
  const out = entity(toProtoEntity(e, withVal));
  if (withVal) out.val = e.val.slice();
  return out;
}

/** A store error thrown while validating, as the server reports it. */
function invalid(e: unknown): never {
  if (e instanceof InvalidArgumentError) {
    throw new DbError("INVALID_ARGUMENT", e.message, { field: e.field });
  }
  throw e;
}

/** An in-memory cassemdb that implements {@linkcode KvClient} (see the module doc). */
export class MemoryDb implements KvClient {
  readonly #store: Store;
  readonly #hub: WatchHub;
  readonly #clock: () => number;
  readonly #maxPending: number;
  #index = 0;
  #closed = false;
  readonly #failures: { kind: FailureKind; method?: MethodName; left: number }[] = [];
  /** Open watch streams, so that they can be dropped, and closed with the client. */
  readonly #streams = new Set<{ drop(): void }>();
  readonly #watches = new Set<Watch>();
  readonly #timer: ReturnType<typeof setInterval> | undefined;

  /** An empty store at revision 0. */
  constructor(options: MemoryDbOptions = {}) {
    this.#clock = options.clock ?? Date.now;
    this.#hub = new WatchHub({ maxHistoryRevisions: options.maxHistoryRevisions });
    this.#store = new Store({ onChanges: (rev, changes) => this.#hub.publish(rev, changes) });
    this.#maxPending = options.maxPendingRevisions ?? 1_000;
    if (options.expiryScanMs !== undefined) {
      this.#timer = setInterval(() => this.expireDue(), options.expiryScanMs);
    }
  }

  /** The store's current revision. */
  get revision(): number {
    return this.#store.revision;
  }

  /** The oldest revision a watch can start from (as `Status.watch_oldest_revision`). */
  get watchOldestRevision(): number {
    return this.#hub.oldestRevision;
  }

  // ---- test controls -------------------------------------------------------------

  /**
   * Makes the next call (of `options.method`, `options.times` times) fail
   * as `kind` says (see {@linkcode FailureKind}).
   */
  failNext(kind: FailureKind, options: FailNextOptions = {}): void {
    const left = options.times ?? 1;
    if (!Number.isInteger(left) || left < 1) {
      throw new RangeError(
        `Cannot fail the next calls as times must be a positive integer: current value is ${options.times}`,
      );
    }
    this.#failures.push({ kind, method: options.method, left });
  }

  /**
   * Expires every key whose ttl ran out at the clock's time, through the
   * store as the leader does (watchers see UNSET "expired"); returns how
   * many were expired.
   */
  expireDue(): number {
    let removed = 0;
    for (;;) {
      const now = this.#clock();
      const due = this.#store.expired(now, EXPIRY_BATCH);
      if (due.length === 0) return removed;
      const r = this.#apply({ kind: "expire", time: now, keys: due });
      removed += r.ok ? (r.removed ?? 0) : 0;
      if (due.length < EXPIRY_BATCH) return removed;
    }
  }

  /**
   * Ends every watch stream as a dropped connection does: each watch
   * reports it to `onRetry` and resumes from the revision after its last.
   */
  disconnectWatches(): void {
    for (const s of [...this.#streams]) s.drop();
  }

  /**
   * Drops the watch history, as a node that installed a snapshot does: a
   * watch that is caught up carries on, but one that resumes (after
   * {@linkcode disconnectWatches}) or starts from an older revision is told
   * OUT_OF_RANGE (list-and-watch re-lists).
   */
  compact(): void {
    this.#hub.reset(this.#store.revision);
  }

  // ---- reads --------------------------------------------------------------------

  /** See {@linkcode KvClient.get}. */
  get(key: string, options: ReadOptions = {}): Promise<GetResult> {
    return this.#call("get", options, () => {
      const k = this.#checked(() => checkKey("key", key));
      const e = this.#store.get(k);
      return { entity: e ? apiEntity(e) : undefined, revision: this.#store.revision };
    });
  }

  /** See {@linkcode KvClient.getMany}. */
  getMany(keys: readonly string[], options: ReadOptions = {}): Promise<GetManyResult> {
    return this.#call("getMany", options, () => {
      const ks = this.#checked(() => checkKeys("keys", keys, LIMITS.getKVsKeys));
      return {
        entities: this.#store.getMany(ks).map((e) => apiEntity(e)),
        revision: this.#store.revision,
      };
    });
  }

  /** See {@linkcode KvClient.range}. */
  range(prefix: string, options: RangeOptions = {}): Promise<RangePage> {
    return this.#call("range", options, () => {
      const { p, seek, limit } = this.#checked(() => ({
        p: checkPrefix("key", prefix),
        seek: options.seek ? checkPrefix("seek", options.seek) : undefined,
        limit: checkLimit("limit", options.limit),
      }));
      const r = this.#store.range(p, { seek, limit });
      return {
        entities: r.entities.map((e) => apiEntity(e)),
        hasMore: r.hasMore,
        nextSeekKey: r.nextSeekKey,
        revision: this.#store.revision,
      };
    });
  }

  /** See {@linkcode KvClient.list}. */
  list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    return list(this, prefix, options);
  }

  /** See {@linkcode KvClient.ttl}. */
  ttl(key: string, options: ReadOptions = {}): Promise<TtlResult> {
    return this.#call("ttl", options, () => {
      const k = this.#checked(() => checkKey("key", key));
      return { ttl: this.#store.ttlLeft(k, this.#clock()), revision: this.#store.revision };
    });
  }

  // ---- writes --------------------------------------------------------------------

  /** See {@linkcode KvClient.set}. */
  set(key: string, val: Value, options: SetOptions & CallOptions = {}): Promise<SetResult> {
    return this.#call("set", options, () => {
      const op = this.#checked(() => setOp("", wireSet(key, val, options)));
      const r = this.#apply({ kind: "txn", time: this.#clock(), compares: [], ops: [op] });
      const refusal = refusalOf(r, "ops[0].set.");
      if (refusal || !r.ok) throw refusalError(refusal!);
      const a = setAnswer(r);
      return { entity: entity(a.entity), revision: a.revision };
    });
  }

  /** See {@linkcode KvClient.unset}. */
  unset(key: string, options: UnsetOptions & CallOptions = {}): Promise<UnsetResult> {
    return this.#call("unset", options, () => {
      const op = this.#checked(() => unsetOp("", wireUnset(key, options)));
      const r = this.#apply({ kind: "txn", time: this.#clock(), compares: [], ops: [op] });
      const refusal = refusalOf(r, "ops[0].unset.");
      if (refusal || !r.ok) throw refusalError(refusal!);
      return unsetAnswer(r);
    });
  }

  /** See {@linkcode KvClient.expire}. */
  expire(key: string, options: CallOptions = {}): Promise<ExpireResult> {
    return this.#call("expire", options, () => {
      const k = this.#checked(() => checkKey("key", key));
      const r = this.#apply({
        kind: "expire",
        time: this.#clock(),
        keys: [{ key: k, force: true }],
      });
      const refusal = refusalOf(r, "keys[0].");
      if (refusal || !r.ok) throw refusalError(refusal!);
      return { revision: r.revision };
    });
  }

  /** See {@linkcode KvClient.txn}. */
  txn(): TxnBuilder {
    return new Txn((req, o) => this.commitTxn(req, o));
  }

  /** See {@linkcode KvClient.commitTxn}. */
  commitTxn(request: TxnRequest, options: CallOptions = {}): Promise<TxnResult> {
    return this.#call("commitTxn", options, () => {
      const cmd = this.#checked(() => txnCommand(wireTxn(request), this.#clock()));
      const r = this.#apply(cmd);
      const refusal = refusalOf(r, "");
      if (refusal || !r.ok) throw refusalError(refusal!);
      return txnResult(txnAnswer(r), request);
    });
  }

  // ---- watches -------------------------------------------------------------------

  /** See {@linkcode KvClient.watch}. */
  watch(request: WatchRequest, handlers: WatchHandlers): Watch {
    if (this.#closed) {
      throw new DbError("CANCELLED", "Cannot watch as the client is closed");
    }
    const w: Watch = resumingWatch(request, handlers, {
      open: (startRevision, sink) => this.#open(request, startRevision, sink),
      classify: (error): StreamEnd => {
        const e = error ??
          new DbError("UNAVAILABLE", "Cannot go on with the watch stream as it ended");
        const code = e instanceof DbError ? e.code : "UNKNOWN";
        if (code === "OUT_OF_RANGE" || code === "INVALID_ARGUMENT" || code === "CANCELLED") {
          return { retry: false, error: e };
        }
        return { retry: true, error: e, now: true };
      },
    }, { backoffMs: 1, maxBackoffMs: 10, onEnd: () => this.#watches.delete(w) });
    this.#watches.add(w);
    return w;
  }

  /** See {@linkcode KvClient.listAndWatch}. */
  listAndWatch(prefix: string, handlers: ListWatchHandlers, options: ListOptions = {}): ListWatch {
    return listAndWatch(this, prefix, handlers, options);
  }

  /** Closes every watch (their `done` resolves) and fails later calls with CANCELLED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const w of [...this.#watches]) w.close();
  }

  // ---- internals ------------------------------------------------------------------

  /** One hub watcher as a stream: messages pumped to `sink` in microtasks, never synchronously. */
  #open(request: WatchRequest, startRevision: number, sink: StreamSink) {
    let watcher: Watcher | undefined;
    let dropped = false;
    let cancelled = false;
    const stream = {
      drop: () => {
        dropped = true;
        watcher?.close();
      },
    };
    const end = (e?: Error) => {
      this.#streams.delete(stream);
      if (!cancelled) sink.end(e);
    };
    queueMicrotask(() => {
      if (cancelled) return;
      try {
        const prefix = Boolean(request.prefix);
        const keys = checkKeys(
          "keys",
          request.keys,
          LIMITS.watchKeys,
          (
            f,
            k,
          ) => (prefix || (typeof k === "string" && k.endsWith("/"))
            ? checkPrefix(f, k)
            : checkKey(f, k)),
        );
        watcher = this.#hub.watch({ keys, prefix, startRevision }, {
          maxPendingRevisions: this.#maxPending,
        });
      } catch (e) {
        if (e instanceof InvalidArgumentError) {
          return end(new DbError("INVALID_ARGUMENT", e.message, { field: e.field }));
        }
        if (e instanceof CompactedError) return end(compacted(e));
        return end(e instanceof Error ? e : new Error(String(e)));
      }
      this.#streams.add(stream);
      sink.message({ revision: watcher.startAfter, changes: [] });
      const w = watcher;
      const pump = async () => {
        try {
          for (;;) {
            const r: IteratorResult<HubEvent, undefined> = await w.next();
            if (cancelled) return;
            if (r.done) {
              return end(
                dropped
                  ? new DbError(
                    "UNAVAILABLE",
                    "Cannot go on with the watch stream as its connection dropped (simulated)",
                    { retryable: true },
                  )
                  : new DbError("CANCELLED", "Cannot go on with the watch as the store closed"),
              );
            }
            sink.message({ revision: r.value.revision, changes: r.value.changes.map(copyChange) });
          }
        } catch (e) {
          if (e instanceof CompactedError) return end(compacted(e));
          if (e instanceof WatcherFellBehindError) {
            return end(new DbError("RESOURCE_EXHAUSTED", e.message));
          }
          return end(e instanceof Error ? e : new Error(String(e)));
        }
      };
      void pump();
    });
    return {
      cancel: () => {
        cancelled = true;
        this.#streams.delete(stream);
        watcher?.close();
      },
    };
  }

  /** Runs a call: closed/aborted checks, the leader's expiry, a simulated failure, then `fn`. */
  #call<T>(method: MethodName, options: CallOptions, fn: () => T): Promise<T> {
    try {
      if (this.#closed) throw new DbError("CANCELLED", `Cannot ${method} as the client is closed`);
      if (options.signal?.aborted) {
        throw new DbError("CANCELLED", `Cannot ${method} as the call was aborted`);
      }
      this.expireDue();
      const failure = this.#takeFailure(method);
      if (!failure) return Promise.resolve(fn());
      const write = WRITES.has(method);
      if (failure === "unavailable") {
        throw new DbError(
          "UNAVAILABLE",
          `Cannot ${method} as no node is available (a simulated failure)`,
          { retryable: true },
        );
      }
      if (failure === "timeout-applied" && write) {
        try {
          fn();
        } catch (e) {
          return Promise.reject(e); // a refusal is known, not lost
        }
      }
      throw new DbError(
        "DEADLINE_EXCEEDED",
        `Cannot ${method} as its deadline passed (a simulated failure${
          write ? `: the write ${failure === "timeout-applied" ? "applied" : "did not apply"}` : ""
        })`,
        { mayHaveApplied: write },
      );
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #takeFailure(method: MethodName): FailureKind | undefined {
    const i = this.#failures.findIndex((f) => f.method === undefined || f.method === method);
    if (i < 0) return undefined;
    const f = this.#failures[i]!;
    if (--f.left === 0) this.#failures.splice(i, 1);
    return f.kind;
  }

  /** `fn()`, with a store validation error turned into INVALID_ARGUMENT as the server does. */
  #checked<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      return invalid(e);
    }
  }

  /** Applies `cmd` as a raft node would: encoded, decoded, applied at the next index. */
  #apply(cmd: Command) {
    return this.#store.applyCommand(decodeCommand(encodeCommand(cmd)), ++this.#index);
  }
}

function compacted(e: CompactedError): DbError {
  return new DbError(
    "OUT_OF_RANGE",
    `Cannot watch from that revision as it is compacted: the oldest kept is ${e.compactRevision}; re-list and watch again`,
    { compactRevision: e.compactRevision },
  );
}

/** A hub change as the API delivers it, with its own copies of the values. */
function copyChange(c: Parameters<typeof toProtoChange>[0]) {
  const out = change(toProtoChange(c));
  if (out.last) out.last.val = out.last.val.slice();
  if (out.current) out.current.val = out.current.val.slice();
  return out;
}
