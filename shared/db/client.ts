/**
 * DbClient: the one way cassem services talk to cassemdb. It finds the
 * leader, follows NOT_LEADER redirects, retries with backoff what is safe to
 * retry, puts a deadline on every call, and resumes watches from the last
 * revision seen.
 *
 * @module
 */

import { CHANNEL_OPTIONS, grpc, loadProto, serviceOf } from "../grpc.ts";
import {
  COMPACT_REVISION,
  DbError,
  FIELD,
  LEADER_ADDR,
  RETRYABLE,
  REVISION,
  WatchCompactedError,
} from "./_legacy_errors.ts";
import type {
  Entity,
  Member,
  RangeReq,
  RangeResp,
  ReadOptions,
  SetKVReq,
  SetKVResp,
  StatusResp,
  TxnReq,
  TxnResp,
  UnsetKVReq,
  UnsetKVResp,
  WatchReq,
  WatchResp,
} from "./types.ts";

/** Options of {@linkcode DbClient}. */
export interface DbClientOptions {
  /** Client addresses (host:port) of some cassemdb nodes; the rest are discovered. */
  endpoints: string[];
  /** Deadline of one call including its retries, in ms (default 5,000). */
  timeoutMs?: number;
  /** First retry delay in ms, doubled each time up to 1 s (default 25). */
  backoffMs?: number;
}

/** What a watch calls back with. */
export interface WatchHandlers {
  /** The changes of one revision (in order; never repeated, never skipped). */
  onChanges(resp: WatchResp): void;
  /** The history no longer holds the revision to resume from: re-list, then watch again. */
  onCompacted?(err: WatchCompactedError): void;
  /** A transient failure; the watch keeps retrying by itself. */
  onRetry?(err: Error): void;
}

/** A running watch. */
export interface Watch {
  /** The last revision delivered (or the one the watch started after). */
  readonly revision: number;
  /** Stops the watch. */
  close(): void;
  /** Resolves when the watch has stopped (closed, or compacted). */
  readonly done: Promise<void>;
}

type Callback<T> = (err: grpc.ServiceError | null, resp: T) => void;
type Unary = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: Callback<unknown>,
) => void;
type Stream = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
) => grpc.ClientReadableStream<unknown>;

interface Clients {
  kv: grpc.Client;
  cluster: grpc.Client;
}

const S = grpc.status;
/**
 * Connection failures where the request never reached a server. Only these
 * make a failed write safe to retry: grpc-js reports a connection lost after
 * the request went out as "Connection dropped" (or ECONNRESET), and such a
 * write may have applied.
 */
const NOT_SENT =
  /ECONNREFUSED|No connection established|Name resolution failed|Stream refused by server|Channel closed before call started/i;

/** A client of a cassemdb cluster. */
export class DbClient {
  readonly #endpoints: string[];
  readonly #timeoutMs: number;
  readonly #backoffMs: number;
  readonly #clients = new Map<string, Clients>();
  /** Index into endpoints for reads and for writes when no leader is known. */
  #cursor = 0;
  #leaderAddr: string | undefined;
  #closed = false;
  readonly #watches = new Set<{ close(): void }>();

  constructor(opts: DbClientOptions) {
    if (opts.endpoints.length === 0) {
      throw new RangeError("Cannot create a DbClient as endpoints must list at least one address");
    }
    this.#endpoints = [...opts.endpoints];
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#backoffMs = opts.backoffMs ?? 25;
  }

  /** The leader's client address, once known. */
  get leaderAddr(): string | undefined {
    return this.#leaderAddr;
  }

  // ---- KV ----------------------------------------------------------------------

  /** The entity at `key`, or undefined when it does not exist. */
  async getKV(key: string, read: ReadOptions = {}): Promise<Entity | undefined> {
    try {
      const r = await this.#call<{ entity: Entity }>("kv", "GetKV", { key, read }, false);
      return r.entity;
    } catch (e) {
      if (e instanceof DbError && e.code === S.NOT_FOUND) return undefined;
      throw e;
    }
  }

  /** The entities found among `keys` (1..100), in the order asked. */
  async getKVs(
    keys: string[],
    read: ReadOptions = {},
  ): Promise<{ entities: Entity[]; revision: number }> {
    return await this.#call("kv", "GetKVs", { keys, read }, false);
  }

  setKV(req: SetKVReq): Promise<SetKVResp> {
    return this.#call("kv", "SetKV", req, true);
  }

  unsetKV(req: UnsetKVReq): Promise<UnsetKVResp> {
    return this.#call("kv", "UnsetKV", req, true);
  }

  range(req: RangeReq): Promise<RangeResp> {
    return this.#call("kv", "Range", req, false);
  }

  /** Seconds left before `key` expires; -1 when it never does. */
  async ttl(key: string, read: ReadOptions = {}): Promise<number> {
    return (await this.#call<{ ttl: number }>("kv", "TTL", { key, read }, false)).ttl;
  }

  /** Expires `key` now; resolves with the revision of the change. */
  async expire(key: string): Promise<number> {
    return (await this.#call<{ revision: number }>("kv", "Expire", { key }, true)).revision;
  }

  txn(req: TxnReq): Promise<TxnResp> {
    return this.#call("kv", "Txn", req, true);
  }

  // ---- Cluster ---------------------------------------------------------------------

  async members(): Promise<{ members: Member[]; leader: number }> {
    return await this.#call("cluster", "Members", {}, false);
  }

  /** Status of the node at `endpoint` (default: the current one). */
  async status(endpoint?: string): Promise<StatusResp> {
    if (!endpoint) return await this.#call("cluster", "Status", {}, false);
    return await this.#once<StatusResp>(endpoint, "cluster", "Status", {}, this.#deadline());
  }

  async addNode(
    req: { peerAddr: string; clientAddr: string; id?: number },
  ): Promise<{ id: number; members: Member[] }> {
    return await this.#call("cluster", "AddNode", req, true);
  }

  async removeNode(id: number): Promise<{ members: Member[] }> {
    return await this.#call("cluster", "RemoveNode", { id }, true);
  }

  async transferLeader(id: number): Promise<{ leader: number }> {
    return await this.#call("cluster", "TransferLeader", { id }, true);
  }

  // ---- watch -----------------------------------------------------------------------

  /**
   * Watches `req.keys`; reconnects (to any node) after failures and resumes
   * from the revision after the last one delivered, so no change is missed or
   * repeated. Stops on `close()` or when the history is compacted.
   * @throws {RangeError} when `req.startRevision` is not a non-negative integer
   * (a negative one would otherwise turn into a watch of new changes only).
   */
  watch(req: WatchReq, handlers: WatchHandlers): Watch {
    const start = req.startRevision ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new RangeError(
        `Cannot watch as start_revision must be a non-negative integer: current value is ${start}`,
      );
    }
    let last = start ? start - 1 : -1;
    let stream: grpc.ClientReadableStream<unknown> | undefined;
    let closed = false;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const handle = {
      get revision() {
        return Math.max(last, 0);
      },
      close: () => {
        closed = true;
        stream?.cancel();
        this.#watches.delete(handle);
        resolveDone();
      },
      done,
    };
    this.#watches.add(handle);
    const run = async () => {
      let attempt = 0;
      /** Endpoints that answered "compacted" for the revision we resume from. */
      const compactedAt = new Set<string>();
      while (!closed && !this.#closed) {
        const endpoint = this.#endpointForRead();
        const startRevision = last >= 0 ? last + 1 : 0;
        const outcome = await new Promise<{ err?: grpc.ServiceError; progressed: boolean }>(
          (resolve) => {
            let progressed = false;
            const kv = this.#clientsFor(endpoint).kv;
            const fn = (kv as unknown as Record<string, Stream>).Watch!;
            stream = fn.call(kv, { ...req, startRevision }, new grpc.Metadata(), {});
            stream.on("data", (resp: WatchResp) => {
              progressed = true;
              if (resp.revision <= last) return; // a revision already delivered
              last = resp.revision;
              if (resp.changes.length > 0) handlers.onChanges(resp);
            });
            stream.on("error", (err: grpc.ServiceError) => resolve({ err, progressed }));
            stream.on("end", () => resolve({ progressed }));
          },
        );
        if (closed || this.#closed) break;
        const err = outcome.err;
        if (err?.code === S.CANCELLED && closed) break;
        if (err?.code === S.OUT_OF_RANGE) {
          // Each node keeps its own history (a node just restored from a
          // snapshot keeps little): ask every endpoint before giving up.
          compactedAt.add(endpoint);
          if (compactedAt.size < this.#endpoints.length) {
            this.#rotate(endpoint);
            continue;
          }
          const rev = Number(err.metadata?.get(COMPACT_REVISION)?.[0] ?? 0);
          handlers.onCompacted?.(new WatchCompactedError(rev));
          handle.close();
          break;
        }
        compactedAt.clear();
        if (err?.code === S.INVALID_ARGUMENT) {
          handlers.onRetry?.(toDbError(err));
          handle.close();
          break;
        }
        handlers.onRetry?.(err ? toDbError(err) : new Error("watch stream ended; resuming"));
        this.#rotate(endpoint);
        attempt = outcome.progressed ? 0 : attempt + 1;
        await sleep(this.#backoff(attempt));
      }
      resolveDone();
    };
    run();
    return handle;
  }

  /** Closes every connection and watch. */
  close(): void {
    this.#closed = true;
    for (const w of [...this.#watches]) w.close();
    for (const c of this.#clients.values()) {
      c.kv.close();
      c.cluster.close();
    }
    this.#clients.clear();
  }

  // ---- calls -------------------------------------------------------------------

  #deadline(): number {
    return Date.now() + this.#timeoutMs;
  }

  #backoff(attempt: number): number {
    const base = Math.min(1000, this.#backoffMs * 2 ** Math.min(attempt, 10));
    return base / 2 + Math.random() * (base / 2);
  }

  #endpointForRead(): string {
    return this.#endpoints[this.#cursor % this.#endpoints.length]!;
  }

  #rotate(failed: string): void {
    if (this.#leaderAddr === failed) this.#leaderAddr = undefined;
    if (this.#endpointForRead() === failed) this.#cursor++;
  }

  /**
   * Calls `method` until it succeeds, fails for good, or the deadline passes.
   * Writes go to the leader and are retried only when the server certainly did
   * not apply them (a NOT_LEADER answer, a refused connection); reads are
   * retried on any unavailability.
   */
  async #call<T>(svc: keyof Clients, method: string, req: unknown, write: boolean): Promise<T> {
    if (this.#closed) {
      throw new DbError(S.CANCELLED, "Cannot call cassemdb as the client is closed");
    }
    const deadline = this.#deadline();
    for (let attempt = 0;; attempt++) {
      const endpoint = write
        ? (this.#leaderAddr ?? this.#endpointForRead())
        : this.#endpointForRead();
      try {
        return await this.#once<T>(endpoint, svc, method, req, deadline);
      } catch (e) {
        if (!(e instanceof DbError)) throw e;
        const hint = e.leaderAddr;
        if (hint && hint !== endpoint) {
          this.#leaderAddr = hint;
          if (!this.#endpoints.includes(hint)) this.#endpoints.push(hint);
          if (Date.now() < deadline) continue; // follow the redirect at once
        }
        const retryable = e.code === S.UNAVAILABLE &&
          (!write || e.retryable || NOT_SENT.test(e.message) || hint !== undefined);
        const readRetry = !write && (e.code === S.UNAVAILABLE || e.code === S.DEADLINE_EXCEEDED);
        if (!(retryable || readRetry)) throw e;
        this.#rotate(endpoint);
        const wait = this.#backoff(attempt);
        if (Date.now() + wait >= deadline) throw e;
        await sleep(wait);
      }
    }
  }

  #once<T>(
    endpoint: string,
    svc: keyof Clients,
    method: string,
    req: unknown,
    deadline: number,
  ): Promise<T> {
    const client = this.#clientsFor(endpoint)[svc];
    const fn = (client as unknown as Record<string, Unary>)[method];
    if (!fn) throw new Error(`Cannot call ${method} as the ${svc} service has no such method`);
    return new Promise<T>((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline }, (err, resp) => {
        if (err) reject(toDbError(err));
        else resolve(resp as T);
      });
    });
  }

  #clientsFor(endpoint: string): Clients {
    let c = this.#clients.get(endpoint);
    if (!c) {
      const pkg = loadProto("cassemdb.proto", "cassemdb");
      const creds = grpc.credentials.createInsecure();
      c = {
        kv: new (serviceOf(pkg, "KV"))(endpoint, creds, CHANNEL_OPTIONS),
        cluster: new (serviceOf(pkg, "Cluster"))(endpoint, creds, CHANNEL_OPTIONS),
      };
      this.#clients.set(endpoint, c);
    }
    return c;
  }
}

/** Turns a grpc-js error into a {@linkcode DbError}, keeping the field and leader hints. */
export function toDbError(err: grpc.ServiceError): DbError {
  const md = err.metadata;
  const field = md?.get(FIELD)?.[0]?.toString();
  const leaderAddr = md?.get(LEADER_ADDR)?.[0]?.toString();
  const retryable = md?.get(RETRYABLE)?.[0]?.toString() === "1";
  const rev = md?.get(REVISION)?.[0]?.toString();
  return new DbError(err.code ?? S.UNKNOWN, err.details || err.message, {
    field,
    leaderAddr,
    retryable,
    revision: rev === undefined ? undefined : Number(rev),
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
