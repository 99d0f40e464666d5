/**
 * DbClient: the {@linkcode KvClient} of a real cassemdb cluster, over gRPC.
 *
 * - **Leader.** Writes go to the leader: a follower answers UNAVAILABLE
 *   naming it, and the client follows at once. Reads go to any node.
 * - **Deadlines.** A call has a whole deadline (`timeoutMs`, retries
 *   included) and each attempt a short one of its own (`attemptTimeoutMs`,
 *   about an election timeout), so a node that is paused or cut off costs one
 *   attempt, not the whole deadline: the client moves to the other endpoints
 *   and a caller sees roughly the cluster's own failover time.
 * - **Retries.** Reads are retried on any node. Writes are retried only when
 *   certainly not applied (UNAVAILABLE marked `x-cassem-retryable`, or a
 *   connection that was never made); a write whose outcome is unknown fails
 *   at once with `mayHaveApplied` (`errors.ts`), and the node it went to is
 *   avoided for a while.
 * - **Watches** resume on any node from the revision after the last one
 *   delivered (`_resuming_watch.ts`). A watch is a stream without a
 *   deadline, so a connection to a node cut off by the network would stay
 *   open and silent: keepalive pings every attempt timeout, each to be
 *   answered within one, drop such a connection and the watch moves on.
 * - Every RPC has a typed wrapper; the method table is checked against
 *   `proto/cassemdb.proto` when it loads.
 *
 * @module
 */

import { CHANNEL_OPTIONS, grpc, loadProto, serviceOf } from "../grpc.ts";
import type {
  WireChange,
  WireEntity,
  WireSetKV,
  WireTxn,
  WireTxnResp,
  WireUnsetKV,
} from "../store/mod.ts";
import {
  type CallOptions,
  type ExpireResult,
  type GetManyResult,
  type GetResult,
  type KvClient,
  type ListOptions,
  type ListResult,
  type ListWatch,
  type ListWatchHandlers,
  type Member,
  type MembersResult,
  type NodeStatus,
  type RangeOptions,
  type RangePage,
  type ReadOptions,
  type Role,
  ROLES,
  type SetOptions,
  type SetResult,
  type TtlResult,
  type TxnBuilder,
  type TxnRequest,
  type TxnResult,
  type UnsetOptions,
  type UnsetResult,
  type Value,
  type Watch,
  type WatchHandlers,
  type WatchRequest,
} from "./api.ts";
import { change, entity, txnResult, wireSet, wireTxn, wireUnset } from "./_convert.ts";
import {
  COMPACT_REVISION,
  DbError,
  FIELD,
  LEADER_ADDR,
  REQUEST_ID_METADATA,
  RETRYABLE,
  REVISION,
  statusName,
} from "./errors.ts";
import { list, listAndWatch } from "./list_watch.ts";
import { resumingWatch, type StreamEnd, type StreamSink } from "./_resuming_watch.ts";
import { Txn } from "./txn.ts";

/** Options of {@linkcode DbClient}. */
export interface DbClientOptions {
  /** Client addresses (host:port) of some cassemdb nodes; the leader's is learnt. */
  endpoints: readonly string[];
  /** Default whole deadline of a call, retries included, in ms (default 5,000). */
  timeoutMs?: number;
  /**
   * Deadline of one attempt on one node, in ms (default 1,000: about twice
   * cassemdb's default election timeout of 500 ms). Admin calls that wait
   * for raft on purpose (AddNode, RemoveNode, TransferLeader) use the whole
   * deadline instead. Also the keepalive interval and ping timeout of a
   * connection with calls open, so that a watch on a node that went silent
   * moves on within two of these.
   */
  attemptTimeoutMs?: number;
  /** First retry delay in ms, doubled each time up to `maxBackoffMs` (default 25). */
  backoffMs?: number;
  /** Longest retry delay in ms (default 1,000). */
  maxBackoffMs?: number;
}

// ---- the RPC table -----------------------------------------------------------------

type Method<Req, Resp> = grpc.MethodDefinition<Req, Resp>;

/** How the client treats one RPC. */
interface Rpc<Req, Resp> {
  readonly method: Method<Req, Resp>;
  /** Applies something: retried only when certainly not applied. */
  readonly write: boolean;
  /** Waits for raft on purpose: its attempt has the whole deadline. */
  readonly long?: boolean;
}

interface ReadReq {
  read?: { serializable?: boolean };
}

/** The RPCs of proto/cassemdb.proto, with their request and answer shapes. */
interface Rpcs {
  getKV: Rpc<{ key: string } & ReadReq, { entity: WireEntity; revision: number }>;
  getKVs: Rpc<{ keys: readonly string[] } & ReadReq, { entities: WireEntity[]; revision: number }>;
  range: Rpc<
    { key: string; seek?: string; limit?: number } & ReadReq,
    { entities: WireEntity[]; hasMore: boolean; nextSeekKey: string; revision: number }
  >;
  ttl: Rpc<{ key: string } & ReadReq, { ttl: number; revision: number }>;
  setKV: Rpc<WireSetKV, { entity: WireEntity; revision: number }>;
  unsetKV: Rpc<WireUnsetKV, { removed: number; revision: number }>;
  expire: Rpc<{ key: string }, { revision: number }>;
  txn: Rpc<WireTxn, WireTxnResp>;
  watch: Method<WatchRequest, { changes: WireChange[]; revision: number }>;
  addNode: Rpc<
    { peerAddr: string; clientAddr: string; id?: number },
    { id: number; members: Member[] }
  >;
  removeNode: Rpc<{ id: number }, { members: Member[] }>;
  members: Rpc<Record<string, never>, MembersResult>;
  status: Rpc<Record<string, never>, Omit<NodeStatus, "role"> & { role: string }>;
  transferLeader: Rpc<{ id: number }, { leader: number }>;
}

let table: Rpcs | undefined;

/**
 * The RPC table, loaded once. Each name is looked up in the loaded proto
 * here, once: a missing or renamed RPC fails loudly at the first client, not
 * as a call that is never answered.
 */
function rpcs(): Rpcs {
  if (table) return table;
  const pkg = loadProto("cassemdb.proto", "cassemdb");
  const services = { KV: serviceOf(pkg, "KV").service, Cluster: serviceOf(pkg, "Cluster").service };
  // deno-lint-ignore no-explicit-any
  const m = (svc: "KV" | "Cluster", name: string): Method<any, any> => {
    const def = services[svc][name];
    if (!def) throw new Error(`Cannot find RPC ${svc}.${name} in proto/cassemdb.proto`);
    return def;
  };
  table = {
    getKV: { method: m("KV", "GetKV"), write: false },
    getKVs: { method: m("KV", "GetKVs"), write: false },
    range: { method: m("KV", "Range"), write: false },
    ttl: { method: m("KV", "TTL"), write: false },
    setKV: { method: m("KV", "SetKV"), write: true },
    unsetKV: { method: m("KV", "UnsetKV"), write: true },
    expire: { method: m("KV", "Expire"), write: true },
    txn: { method: m("KV", "Txn"), write: true },
    watch: m("KV", "Watch"),
    addNode: { method: m("Cluster", "AddNode"), write: true, long: true },
    removeNode: { method: m("Cluster", "RemoveNode"), write: true, long: true },
    members: { method: m("Cluster", "Members"), write: false },
    status: { method: m("Cluster", "Status"), write: false },
    transferLeader: { method: m("Cluster", "TransferLeader"), write: true, long: true },
  };
  return table;
}

// ---- outcomes --------------------------------------------------------------------------

/**
 * Connection failures where the request never reached a server: only these
 * (and answers marked retryable) make a failed write safe to send again.
 * grpc-js reports a connection lost after the request went out as
 * "Connection dropped" (or ECONNRESET), and such a write may have applied.
 */
const NOT_SENT =
  /ECONNREFUSED|No connection established|Name resolution failed|Stream refused by server|Channel closed before call started|Waiting for LB pick/i;

/** Statuses a server answers with before applying anything: the write certainly did not apply. */
const REFUSALS = new Set([
  "INVALID_ARGUMENT",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "ABORTED",
  "FAILED_PRECONDITION",
  "OUT_OF_RANGE",
  "PERMISSION_DENIED",
  "UNAUTHENTICATED",
  "UNIMPLEMENTED",
  "RESOURCE_EXHAUSTED",
]);

/**
 * Turns a grpc-js error into a {@linkcode DbError} with the server's details,
 * judged for a `write` (whether it may have applied) or a read. Exported for
 * tests that call a node over bare grpc-js and must judge answers as this
 * client does.
 */
export function toDbError(err: grpc.ServiceError, write: boolean, aborted = false): DbError {
  const md = err.metadata;
  const text = (k: string) => md?.get(k)?.[0]?.toString();
  const num = (k: string) => {
    const v = text(k);
    return v === undefined ? undefined : Number(v);
  };
  const code = aborted ? "CANCELLED" : statusName(err.code ?? 2);
  const message = err.details || err.message;
  const retryable = text(RETRYABLE) === "1";
  const notSent = retryable || NOT_SENT.test(message);
  return new DbError(
    code,
    aborted ? `Cannot finish the call as it was aborted: ${message}` : message,
    {
      field: text(FIELD),
      leaderAddr: text(LEADER_ADDR),
      retryable: retryable || (code === "UNAVAILABLE" && notSent),
      revision: num(REVISION),
      compactRevision: num(COMPACT_REVISION),
      mayHaveApplied: write && !REFUSALS.has(code) && !notSent,
      cause: err,
    },
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function role(s: string): Role {
  if ((ROLES as readonly string[]).includes(s)) return s as Role;
  throw new DbError(
    "INTERNAL",
    `Cannot read the status as role must be one of ${ROLES.join(", ")}: current value is "${s}"`,
  );
}

// ---- the client -------------------------------------------------------------------------

/** A client of a cassemdb cluster (see the module doc). */
export class DbClient implements KvClient {
  readonly #endpoints: string[];
  readonly #timeoutMs: number;
  readonly #attemptMs: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #channelOptions: grpc.ChannelOptions;
  readonly #channels = new Map<string, grpc.Client>();
  /** Endpoints to avoid until the time given (ms since the epoch): they timed out. */
  readonly #suspect = new Map<string, number>();
  /** Index into endpoints for reads and for writes when no leader is known. */
  #cursor = 0;
  #leaderAddr: string | undefined;
  #closed = false;
  readonly #watches = new Set<Watch>();

  /**
   * A client of the cluster behind `options.endpoints`; connects lazily.
   * @throws {RangeError} when no endpoint is given or a timeout is not positive.
   */
  constructor(options: DbClientOptions) {
    if (options.endpoints.length === 0) {
      throw new RangeError(
        "Cannot create a DbClient as endpoints must list at least one address: current count is 0",
      );
    }
    this.#endpoints = [...options.endpoints];
    this.#timeoutMs = positive("timeoutMs", options.timeoutMs, 5_000);
    this.#attemptMs = positive("attemptTimeoutMs", options.attemptTimeoutMs, 1_000);
    this.#backoffMs = positive("backoffMs", options.backoffMs, 25);
    this.#maxBackoffMs = positive("maxBackoffMs", options.maxBackoffMs, 1_000);
    this.#channelOptions = {
      ...CHANNEL_OPTIONS,
      // Sent only while a call is open (a watch, mostly): a node that does not
      // answer one within an attempt's time is treated like a timed-out attempt.
      "grpc.keepalive_time_ms": Math.ceil(this.#attemptMs),
      "grpc.keepalive_timeout_ms": Math.ceil(this.#attemptMs),
    };
    rpcs();
  }

  /** The leader's client address, once known. */
  get leaderAddr(): string | undefined {
    return this.#leaderAddr;
  }

  /** Every endpoint the client knows: those given and the leaders it learnt. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  // ---- reads ---------------------------------------------------------------------

  /** See {@linkcode KvClient.get}. */
  async get(key: string, options: ReadOptions = {}): Promise<GetResult> {
    try {
      const r = await this.#call(rpcs().getKV, { key, read: readOf(options) }, options);
      return { entity: entity(r.entity), revision: r.revision };
    } catch (e) {
      if (e instanceof DbError && e.code === "NOT_FOUND" && e.revision !== undefined) {
        return { entity: undefined, revision: e.revision };
      }
      throw e;
    }
  }

  /** See {@linkcode KvClient.getMany}. */
  async getMany(keys: readonly string[], options: ReadOptions = {}): Promise<GetManyResult> {
    const r = await this.#call(rpcs().getKVs, { keys, read: readOf(options) }, options);
    return { entities: r.entities.map(entity), revision: r.revision };
  }

  /** See {@linkcode KvClient.range}. */
  async range(prefix: string, options: RangeOptions = {}): Promise<RangePage> {
    const r = await this.#call(rpcs().range, {
      key: prefix,
      seek: options.seek ?? "",
      limit: options.limit ?? 0,
      read: readOf(options),
    }, options);
    return {
      entities: r.entities.map(entity),
      hasMore: r.hasMore,
      nextSeekKey: r.nextSeekKey,
      revision: r.revision,
    };
  }

  /** See {@linkcode KvClient.list}. */
  list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    return list(this, prefix, options);
  }

  /** See {@linkcode KvClient.ttl}. */
  async ttl(key: string, options: ReadOptions = {}): Promise<TtlResult> {
    try {
      const r = await this.#call(rpcs().ttl, { key, read: readOf(options) }, options);
      return { ttl: r.ttl, revision: r.revision };
    } catch (e) {
      if (e instanceof DbError && e.code === "NOT_FOUND" && e.revision !== undefined) {
        return { ttl: undefined, revision: e.revision };
      }
      throw e;
    }
  }

  // ---- writes ---------------------------------------------------------------------

  /** See {@linkcode KvClient.set}. */
  async set(key: string, val: Value, options: SetOptions & CallOptions = {}): Promise<SetResult> {
    const r = await this.#call(rpcs().setKV, wireSet(key, val, options), options);
    return { entity: entity(r.entity), revision: r.revision };
  }

  /** See {@linkcode KvClient.unset}. */
  async unset(key: string, options: UnsetOptions & CallOptions = {}): Promise<UnsetResult> {
    const r = await this.#call(rpcs().unsetKV, wireUnset(key, options), options);
    return { removed: r.removed, revision: r.revision };
  }

  /** See {@linkcode KvClient.expire}. */
  async expire(key: string, options: CallOptions = {}): Promise<ExpireResult> {
    const r = await this.#call(rpcs().expire, { key }, options);
    return { revision: r.revision };
  }

  /** See {@linkcode KvClient.txn}. */
  txn(): TxnBuilder {
    return new Txn((req, o) => this.commitTxn(req, o));
  }

  /** See {@linkcode KvClient.commitTxn}. */
  async commitTxn(request: TxnRequest, options: CallOptions = {}): Promise<TxnResult> {
    const r = await this.#call(rpcs().txn, wireTxn(request), options);
    return txnResult(r, request);
  }

  // ---- the cluster ------------------------------------------------------------------

  /** The members and the leader as the answering node knows them. */
  async members(options: CallOptions = {}): Promise<MembersResult> {
    const r = await this.#call(rpcs().members, {}, options);
    return { members: r.members, leader: r.leader };
  }

  /**
   * The status of the node at `options.endpoint` (one attempt there, no
   * failover), or of whichever node answers.
   */
  async status(options: CallOptions & { endpoint?: string } = {}): Promise<NodeStatus> {
    const r = await this.#call(rpcs().status, {}, options, options.endpoint);
    return { ...r, role: role(r.role) };
  }

  /** Adds a learner at `peerAddr` (promoted once caught up); answers its id and the members. */
  async addNode(
    node: { peerAddr: string; clientAddr: string; id?: number },
    options: CallOptions = {},
  ): Promise<{ id: number; members: Member[] }> {
    const r = await this.#call(rpcs().addNode, node, options);
    return { id: r.id, members: r.members };
  }

  /** Removes member `id` (a leader that removes itself hands leadership over first). */
  async removeNode(id: number, options: CallOptions = {}): Promise<{ members: Member[] }> {
    const r = await this.#call(rpcs().removeNode, { id }, options);
    return { members: r.members };
  }

  /** Moves leadership to voter `id`; answers the leader once it leads. */
  async transferLeader(id: number, options: CallOptions = {}): Promise<{ leader: number }> {
    const r = await this.#call(rpcs().transferLeader, { id }, options);
    return { leader: r.leader };
  }

  // ---- watches ------------------------------------------------------------------------

  /** See {@linkcode KvClient.watch}. */
  watch(request: WatchRequest, handlers: WatchHandlers): Watch {
    if (this.#closed) throw new DbError("CANCELLED", "Cannot watch as the client is closed");
    /** Endpoints that answered OUT_OF_RANGE for the revision the watch resumes from. */
    const compactedAt = new Set<string>();
    let endpoint = this.#readEndpoint();
    const w: Watch = resumingWatch(request, handlers, {
      open: (startRevision, sink) => {
        endpoint = this.#readEndpoint();
        return this.#stream(endpoint, request, startRevision, sink);
      },
      classify: (error): StreamEnd => {
        const e = error ??
          new DbError(
            "UNAVAILABLE",
            "Cannot go on with the watch as its stream ended without a status",
          );
        const code = e instanceof DbError ? e.code : "UNKNOWN";
        if (code === "OUT_OF_RANGE") {
          // Each node keeps its own history (one just restored from a
          // snapshot keeps little): ask every endpoint before giving up.
          compactedAt.add(endpoint);
          if (compactedAt.size < this.#endpoints.length) {
            this.#rotate(endpoint);
            return { retry: true, error: e, now: true };
          }
          return { retry: false, error: e };
        }
        compactedAt.clear();
        if (
          ["INVALID_ARGUMENT", "UNIMPLEMENTED", "PERMISSION_DENIED", "UNAUTHENTICATED"].includes(
            code,
          )
        ) {
          return { retry: false, error: e };
        }
        this.#rotate(endpoint);
        return { retry: true, error: e };
      },
    }, {
      backoffMs: this.#backoffMs,
      maxBackoffMs: this.#maxBackoffMs,
      onEnd: () => this.#watches.delete(w),
    });
    this.#watches.add(w);
    return w;
  }

  /** See {@linkcode KvClient.listAndWatch}. */
  listAndWatch(prefix: string, handlers: ListWatchHandlers, options: ListOptions = {}): ListWatch {
    return listAndWatch(this, prefix, handlers, options);
  }

  /** Closes every watch and connection; later calls reject with CANCELLED. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of [...this.#watches]) w.close();
    for (const c of this.#channels.values()) c.close();
    this.#channels.clear();
  }

  // ---- calls -----------------------------------------------------------------------------

  /**
   * Calls `rpc` until it succeeds, fails for good, or the deadline passes
   * (see the module doc for what is retried). With `only`, one attempt at
   * that endpoint.
   */
  async #call<Req, Resp>(
    rpc: Rpc<Req, Resp>,
    req: Req,
    options: CallOptions,
    only?: string,
  ): Promise<Resp> {
    const name = rpc.method.path.slice(rpc.method.path.lastIndexOf("/") + 1);
    if (this.#closed) throw new DbError("CANCELLED", `Cannot call ${name} as the client is closed`);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const signal = options.signal;
    const metadata = requestMetadata(options.requestId);
    for (let attempt = 0;; attempt++) {
      if (signal?.aborted) {
        throw new DbError("CANCELLED", `Cannot call ${name} as the call was aborted`);
      }
      const endpoint = only ?? (rpc.write ? this.#writeEndpoint() : this.#readEndpoint());
      const attemptDeadline = rpc.long || only
        ? deadline
        : Math.min(deadline, Date.now() + this.#attemptMs);
      let e: DbError;
      try {
        const resp = await this.#once(endpoint, rpc, req, attemptDeadline, signal, metadata);
        // Only the leader applies writes: the node that did is the one to write to next.
        if (rpc.write && !only) this.#leaderAddr = endpoint;
        return resp;
      } catch (err) {
        if (!(err instanceof DbError)) throw err;
        e = err;
      }
      if (only || e.code === "CANCELLED" && signal?.aborted) throw e;
      const hint = e.leaderAddr;
      if (hint && hint !== endpoint && !this.#isSuspect(hint)) {
        this.#leaderAddr = hint;
        if (!this.#endpoints.includes(hint)) this.#endpoints.push(hint);
        if (Date.now() < deadline && attempt < 100) continue; // follow the redirect at once
      }
      const timedOut = e.code === "DEADLINE_EXCEEDED";
      // A node that does not answer in time is paused, cut off or swamped: go elsewhere.
      if (timedOut || (e.code === "UNAVAILABLE" && !e.retryable)) this.#avoid(endpoint);
      else this.#rotate(endpoint);
      if (e.mayHaveApplied) throw e; // a write with an unknown outcome is never sent twice
      // Here a write certainly did not apply (a refusal, or never sent): only
      // unavailability is worth another attempt, for reads and writes alike.
      const again = e.code === "UNAVAILABLE" || timedOut;
      if (!again) throw e;
      const wait = this.#backoff(attempt);
      if (Date.now() + wait >= deadline) {
        if (!timedOut || Date.now() >= deadline) throw e;
        continue; // an attempt timed out, the call has not: try the next node now
      }
      await sleep(wait, signal);
    }
  }

  /** One attempt at `endpoint`; rejects with a {@linkcode DbError}. */
  #once<Req, Resp>(
    endpoint: string,
    rpc: Rpc<Req, Resp>,
    req: Req,
    deadline: number,
    signal: AbortSignal | undefined,
    metadata: grpc.Metadata | undefined,
  ): Promise<Resp> {
    const m = rpc.method;
    return new Promise<Resp>((resolve, reject) => {
      let aborted = false;
      const call = this.#channel(endpoint).makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        // grpc-js may add to the metadata it is given: each attempt gets a copy.
        metadata?.clone() ?? new grpc.Metadata(),
        { deadline },
        (err, resp) => {
          signal?.removeEventListener("abort", onAbort);
          if (err) reject(toDbError(err, rpc.write, aborted));
          else resolve(resp as Resp);
        },
      );
      function onAbort() {
        aborted = true;
        call.cancel();
      }
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** One watch stream at `endpoint`, as the resuming loop wants it. */
  #stream(endpoint: string, request: WatchRequest, startRevision: number, sink: StreamSink) {
    const m = rpcs().watch;
    const stream = this.#channel(endpoint).makeServerStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      { keys: request.keys, prefix: request.prefix ?? false, startRevision },
      new grpc.Metadata(),
      {},
    );
    let ended = false;
    stream.on("data", (resp: { changes: WireChange[]; revision: number }) => {
      sink.message({ revision: resp.revision, changes: resp.changes.map(change) });
    });
    stream.on("error", (err: grpc.ServiceError) => {
      if (ended) return;
      ended = true;
      sink.end(toDbError(err, false));
    });
    stream.on("end", () => {
      if (ended) return;
      ended = true;
      sink.end(undefined);
    });
    return { cancel: () => stream.cancel() };
  }

  #channel(endpoint: string): grpc.Client {
    let c = this.#channels.get(endpoint);
    if (!c) {
      c = new grpc.Client(endpoint, grpc.credentials.createInsecure(), this.#channelOptions);
      this.#channels.set(endpoint, c);
    }
    return c;
  }

  // ---- endpoints --------------------------------------------------------------------------

  #backoff(attempt: number): number {
    const base = Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** Math.min(attempt, 10));
    return base / 2 + Math.random() * (base / 2);
  }

  #isSuspect(endpoint: string): boolean {
    const until = this.#suspect.get(endpoint);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.#suspect.delete(endpoint);
    return false;
  }

  /** The endpoint at the cursor, skipping suspects while another is left. */
  #readEndpoint(): string {
    const n = this.#endpoints.length;
    for (let i = 0; i < n; i++) {
      const e = this.#endpoints[(this.#cursor + i) % n]!;
      if (!this.#isSuspect(e)) {
        this.#cursor = (this.#cursor + i) % n;
        return e;
      }
    }
    return this.#endpoints[this.#cursor % n]!;
  }

  #writeEndpoint(): string {
    const l = this.#leaderAddr;
    return l && !this.#isSuspect(l) ? l : this.#readEndpoint();
  }

  /** Moves past `failed`: forgets it as the leader and advances the cursor past it. */
  #rotate(failed: string): void {
    if (this.#leaderAddr === failed) this.#leaderAddr = undefined;
    if (this.#endpoints[this.#cursor % this.#endpoints.length] === failed) this.#cursor++;
  }

  /** Like {@linkcode rotate}, and avoids `endpoint` for an attempt's time. */
  #avoid(endpoint: string): void {
    this.#suspect.set(endpoint, Date.now() + this.#attemptMs);
    this.#rotate(endpoint);
  }
}

/** A request id as metadata may carry it: printable ASCII, 1..128 characters. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The metadata that carries `requestId`, or `undefined` without one.
 * @throws {RangeError} when it is not 1 to 128 printable ASCII characters.
 */
function requestMetadata(requestId: string | undefined): grpc.Metadata | undefined {
  if (requestId === undefined) return undefined;
  if (!REQUEST_ID.test(requestId)) {
    throw new RangeError(
      `Cannot send requestId as it must be 1 to 128 printable ASCII characters: current value is ${
        JSON.stringify(requestId)
      }`,
    );
  }
  const md = new grpc.Metadata();
  md.set(REQUEST_ID_METADATA, requestId);
  return md;
}

function readOf(o: ReadOptions): { serializable: boolean } {
  return { serializable: o.serializable ?? false };
}

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!(typeof v === "number" && Number.isFinite(v) && v > 0)) {
    throw new RangeError(
      `Cannot create a DbClient as ${name} must be a positive number of ms: current value is ${v}`,
    );
  }
  return v;
}
