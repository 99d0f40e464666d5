/**
 * {@linkcode instrumentKvClient}: a {@linkcode KvClient} in front of another
 * that counts and times every call to cassemdb by method and outcome
 * (`cassem_db_client_calls_total`, `cassem_db_client_call_duration_seconds`),
 * and gives each call the current request id, so that cassemdb logs the id
 * of the request a call was made for.
 *
 * ```ts
 * const metrics = new KvClientMetrics(registry);
 * const db = instrumentKvClient(new DbClient({ endpoints }), {
 *   metrics,
 *   requestId: currentRequestId,
 * });
 * ```
 *
 * @module
 */

import client from "prom-client";
import type {
  CallOptions,
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
} from "../db/mod.ts";
import { DbError, list, listAndWatch, Txn } from "../db/mod.ts";
import { LATENCY_BUCKETS, type Registry } from "./registry.ts";

/** Metrics of the calls a service makes to cassemdb, registered on its registry. */
export class KvClientMetrics {
  readonly #calls: client.Counter<"method" | "code">;
  readonly #duration: client.Histogram<"method">;

  /** Registers `cassem_db_client_calls_total` and `cassem_db_client_call_duration_seconds`. */
  constructor(registry: Registry) {
    this.#calls = new client.Counter({
      name: "cassem_db_client_calls_total",
      help:
        "Calls to cassemdb, by client method and outcome (OK, or the status name of the DbError).",
      labelNames: ["method", "code"],
      registers: [registry],
    });
    this.#duration = new client.Histogram({
      name: "cassem_db_client_call_duration_seconds",
      help: "Time of a call to cassemdb, retries and failover included, by client method.",
      labelNames: ["method"],
      buckets: [...LATENCY_BUCKETS],
      registers: [registry],
    });
  }

  /** Records one call of `method` that ended with `code` after `seconds`. */
  observe(method: string, code: string, seconds: number): void {
    this.#calls.inc({ method, code });
    this.#duration.observe({ method }, seconds);
  }
}

/** Options of {@linkcode instrumentKvClient}. */
export interface InstrumentOptions {
  /** Where calls are recorded (none: not recorded). */
  metrics?: KvClientMetrics;
  /**
   * The id of the request the caller works for, asked at each call (e.g.
   * `currentRequestId`); a call whose options name one keeps its own.
   */
  requestId?: () => string | undefined;
}

/**
 * `db` behind a {@linkcode KvClient} that records each call and passes the
 * current request id (see the module doc). `list` and `listAndWatch` run on
 * the instrumented client, so each of their Range pages is a recorded call;
 * watches are streams and are passed through.
 */
export function instrumentKvClient(db: KvClient, options: InstrumentOptions): KvClient {
  return new InstrumentedKvClient(db, options);
}

class InstrumentedKvClient implements KvClient {
  readonly #db: KvClient;
  readonly #metrics: KvClientMetrics | undefined;
  readonly #requestId: (() => string | undefined) | undefined;

  constructor(db: KvClient, options: InstrumentOptions) {
    this.#db = db;
    this.#metrics = options.metrics;
    this.#requestId = options.requestId;
  }

  /** `o` with the current request id, unless it names one or there is none. */
  #with<O extends CallOptions>(o: O | undefined): O | undefined {
    if (o?.requestId !== undefined) return o;
    const id = this.#requestId?.();
    return id === undefined ? o : { ...o, requestId: id } as O;
  }

  async #timed<T>(method: string, call: () => Promise<T>): Promise<T> {
    const m = this.#metrics;
    if (!m) return await call();
    const t0 = performance.now();
    let code = "OK";
    try {
      return await call();
    } catch (e) {
      code = e instanceof DbError ? e.code : "UNKNOWN";
      throw e;
    } finally {
      m.observe(method, code, (performance.now() - t0) / 1000);
    }
  }

  get(key: string, options?: ReadOptions): Promise<GetResult> {
    return this.#timed("get", () => this.#db.get(key, this.#with(options)));
  }

  getMany(keys: readonly string[], options?: ReadOptions): Promise<GetManyResult> {
    return this.#timed("getMany", () => this.#db.getMany(keys, this.#with(options)));
  }

  range(prefix: string, options?: RangeOptions): Promise<RangePage> {
    return this.#timed("range", () => this.#db.range(prefix, this.#with(options)));
  }

  list(prefix: string, options?: ListOptions): Promise<ListResult> {
    return list(this, prefix, options);
  }

  ttl(key: string, options?: ReadOptions): Promise<TtlResult> {
    return this.#timed("ttl", () => this.#db.ttl(key, this.#with(options)));
  }

  set(key: string, val: Value, options?: SetOptions & CallOptions): Promise<SetResult> {
    return this.#timed("set", () => this.#db.set(key, val, this.#with(options)));
  }

  unset(key: string, options?: UnsetOptions & CallOptions): Promise<UnsetResult> {
    return this.#timed("unset", () => this.#db.unset(key, this.#with(options)));
  }

  expire(key: string, options?: CallOptions) {
    return this.#timed("expire", () => this.#db.expire(key, this.#with(options)));
  }

  txn(): TxnBuilder {
    return new Txn((request, options) => this.commitTxn(request, options));
  }

  commitTxn(request: TxnRequest, options?: CallOptions): Promise<TxnResult> {
    return this.#timed("commitTxn", () => this.#db.commitTxn(request, this.#with(options)));
  }

  watch(request: WatchRequest, handlers: WatchHandlers): Watch {
    return this.#db.watch(request, handlers);
  }

  listAndWatch(prefix: string, handlers: ListWatchHandlers, options?: ListOptions): ListWatch {
    return listAndWatch(this, prefix, handlers, options);
  }

  close(): void {
    this.#db.close();
  }
}
