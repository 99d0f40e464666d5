/**
 * The agent's gRPC service (`proto/agent.proto`): GetElements, the Watch
 * server stream, and Register / Renew / Unregister, over the same core as
 * the HTTP routes. Errors map through `errors.ts`, like HTTP.
 *
 * A change pushed to many Watch streams is serialized once: the service's
 * Watch answer serializer passes bytes through, and each stream is written
 * the `WatchResp` bytes encoded for the first subscriber of that push
 * (profiling 1,000 streams put protobuf encoding at a fifth of the push).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { CHANNEL_OPTIONS, grpc, loadProto, serviceOf } from "../shared/grpc.ts";
import { checkName, CLIENT_ID_HEADER, InvalidNameError } from "../shared/config/mod.ts";
import type { AgentCore, Subscription } from "./core.ts";
import { asAgentError, BadRequestError, grpcStatusOf } from "./errors.ts";
import { type ClientIdentity, identityFrom } from "./identity.ts";
import { type InstanceRegistry, parseReport } from "./instances.ts";
import type { PushItem, PushSink } from "./subscriptions.ts";
import { SpreadWrites } from "./spread_writes.ts";

/** Options of the gRPC service. */
export interface GrpcOptions {
  /** Bytes a slow Watch client may leave unread before it is cut off (default 4 MiB). */
  maxQueuedBytes?: number;
  /**
   * Serializes a `WatchResp` once for every stream of a push. Given only
   * when the service definition passes serialized bytes through
   * ({@linkcode startGrpcServer} does both).
   */
  encodeWatchResp?: (msg: unknown) => Buffer;
  /** Server interceptors (the metrics' `grpcServerObserver`), outermost first. */
  interceptors?: grpc.ServerInterceptor[];
  /**
   * Most Watch messages written in one turn of the event loop, over every
   * stream; the rest follow in the next turns, in order (default 128; see
   * `spread_writes.ts`).
   */
  writesPerTurn?: number;
}

/** A push's serialized CHANGE message, made by the first stream that sends it. */
const encodedChanges = new WeakMap<PushItem, { revision: number; bytes: Buffer }>();

// deno-lint-ignore no-explicit-any
type Any = any;

/** The gRPC metadata key naming the client (metadata keys are lowercase). */
const CLIENT_ID_METADATA = CLIENT_ID_HEADER.toLowerCase();

/** The client identity in a call's metadata; `peer` is grpc-js's `getPeer()`. */
function identityOf(md: grpc.Metadata, peer: string): ClientIdentity {
  const get = (name: string) => {
    const v = md.get(name.toLowerCase())[0];
    return v === undefined ? undefined : String(v);
  };
  return identityFrom(get, peerHost(peer));
}

/** The host of a grpc-js peer (`ipv4:127.0.0.1:5000`, `127.0.0.1:5000`, `[::1]:5000`). */
export function peerHost(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, "");
  const i = p.lastIndexOf(":");
  return (i > 0 ? p.slice(0, i) : p).replace(/^\[(.*)\]$/, "$1");
}

function name(kind: "app" | "env" | "element", field: string, v: unknown): string {
  try {
    return checkName(kind, v, field);
  } catch (e) {
    if (e instanceof InvalidNameError) throw new BadRequestError(field, e.message);
    throw e;
  }
}

function keysOf(keys: unknown): string[] {
  const list = Array.isArray(keys) ? keys : [];
  const unique = [...new Set(list)];
  if (unique.length === 0 || unique.length > 100) {
    throw new BadRequestError(
      "keys",
      `Cannot read as keys must name 1 to 100 keys: current count is ${unique.length}`,
    );
  }
  return unique.map((k, i) => name("element", `keys[${i}]`, k));
}

function revisionOf(field: string, v: unknown): number | undefined {
  if (v === undefined || v === 0) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new BadRequestError(
      field,
      `Cannot accept ${field} as it must be a non-negative revision: current value is ${String(v)}`,
    );
  }
  return v;
}

/** A unary handler that answers `fn`'s result or its error as a status. */
function unary<Req, Resp>(fn: (call: grpc.ServerUnaryCall<Req, Resp>) => Promise<Resp>) {
  return (call: grpc.ServerUnaryCall<Req, Resp>, cb: grpc.sendUnaryData<Resp>) => {
    fn(call).then(
      (r) => cb(null, r),
      (e) => cb(grpcStatusOf(asAgentError(e))),
    );
  };
}

/** The CHANGE message of `items` at `revision`, and an estimate of its size. */
function changeMessage(revision: number, items: readonly PushItem[]): [unknown, number] {
  const elements = [];
  const missing = [];
  let size = 64;
  for (const it of items) {
    if (it.version) {
      elements.push(it.element);
      size += it.json.length;
    } else {
      missing.push(it.key);
      size += it.key.length;
    }
  }
  return [{ kind: "CHANGE", revision, elements, missing }, size];
}

/**
 * A push sink writing WatchResp messages to one server stream, bounded: the
 * bytes written and not yet taken by the stream (those waiting for a later
 * turn included) may not exceed the bound, apart from the initial state
 * (sent before READY), which always goes out whole however large — a client
 * cut off before its READY would watch again into the same state forever.
 * Its writes and its end go through the service's {@linkcode SpreadWrites},
 * in order.
 */
class GrpcSink implements PushSink {
  readonly #call: grpc.ServerWritableStream<Any, Any>;
  readonly #max: number;
  readonly #encode: ((msg: unknown) => Buffer) | undefined;
  readonly #spread: SpreadWrites;
  #pending = 0;
  /** Bytes of the initial state not yet taken by the stream. */
  #initialPending = 0;
  #readySent = false;
  #ended = false;
  onEnd: (() => void) | undefined;

  constructor(
    call: grpc.ServerWritableStream<Any, Any>,
    maxQueuedBytes: number,
    encode: ((msg: unknown) => Buffer) | undefined,
    spread: SpreadWrites,
  ) {
    this.#call = call;
    this.#max = maxQueuedBytes;
    this.#encode = encode;
    this.#spread = spread;
  }

  push(revision: number, items: readonly PushItem[]): void {
    const encode = this.#encode;
    if (encode && items.length === 1) {
      // The common push, one key changed: every stream of it sends the same bytes.
      const item = items[0]!;
      let done = encodedChanges.get(item);
      if (done?.revision !== revision) {
        done = { revision, bytes: encode(changeMessage(revision, items)[0]) };
        encodedChanges.set(item, done);
      }
      this.#write(done.bytes, done.bytes.length);
      return;
    }
    const [msg, size] = changeMessage(revision, items);
    this.#write(msg, size);
  }

  ready(revision: number, full: boolean): void {
    this.#readySent = true;
    this.#write({ kind: "READY", revision, full }, 32);
  }

  heartbeat(revision: number): void {
    this.#write({ kind: "HEARTBEAT", revision }, 32);
  }

  close(code: string, message: string): void {
    if (this.#ended) return;
    this.#end();
    const status = grpc.status[code as keyof typeof grpc.status] ?? grpc.status.UNAVAILABLE;
    const error = { code: status, details: message, metadata: new grpc.Metadata() };
    // grpc-js sends a server stream's status from its 'error' listener (which ends the stream);
    // after the messages written before it.
    if (this.#spread.mayWriteNow()) this.#call.emit("error", error);
    else this.#spread.later(() => this.#call.emit("error", error));
  }

  #write(msg: unknown, size: number): void {
    if (this.#ended) return;
    if (this.#call.cancelled) {
      this.#end();
      return;
    }
    this.#pending += size;
    if (!this.#readySent) {
      this.#initialPending += size;
      const initial = () => {
        this.#pending -= size;
        this.#initialPending -= size;
      };
      if (this.#spread.mayWriteNow()) this.#call.write(msg, initial);
      else this.#spread.later(() => this.#send(msg, initial));
      return;
    }
    if (this.#spread.mayWriteNow()) this.#call.write(msg, () => (this.#pending -= size));
    else this.#spread.later(() => this.#send(msg, () => (this.#pending -= size)));
    if (this.#pending - this.#initialPending > this.#max) {
      this.close(
        "RESOURCE_EXHAUSTED",
        `Cannot go on pushing as the client reads too slowly: more than ${this.#max} bytes are waiting; watch again with revision set to the last one received`,
      );
    }
  }

  /** A write that waited its turn: not sent when the call went meanwhile. */
  #send(msg: unknown, taken: () => void): void {
    if (this.#call.cancelled) {
      this.#end();
      return;
    }
    this.#call.write(msg, taken);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd?.();
  }
}

/** The service implementation over `core` and `instances`. */
export function agentService(
  core: AgentCore,
  instances: InstanceRegistry,
  options: GrpcOptions = {},
): grpc.UntypedServiceImplementation {
  const maxQueued = options.maxQueuedBytes ?? 4 * 1024 * 1024;
  const spread = new SpreadWrites(options.writesPerTurn);
  const answer = (rec: { clientId: string }) => ({
    clientId: rec.clientId,
    agentId: (rec as { agentId?: string }).agentId ?? "",
    ttlSeconds: instances.ttlSeconds,
    renewAfterSeconds: Math.max(1, Math.floor(instances.ttlSeconds / 3)),
  });
  return {
    GetElements: unary<Any, Any>(async (call) => {
      const client = identityOf(call.metadata, call.getPeer());
      const app = name("app", "app", call.request.app);
      const env = name("env", "env", call.request.env);
      const keys = keysOf(call.request.keys);
      const minRevision = revisionOf("min_revision", call.request.minRevision);
      const r = await core.read(app, env, keys, client, { minRevision });
      return { elements: r.elements, missing: r.missing, revision: r.revision, stale: r.stale };
    }),

    Watch: (call: grpc.ServerWritableStream<Any, Any>) => {
      const sink = new GrpcSink(call, maxQueued, options.encodeWatchResp, spread);
      let sub: Subscription | undefined;
      let gone = false;
      const end = () => {
        gone = true;
        sub?.close();
      };
      sink.onEnd = end;
      call.on("cancelled", end);
      call.on("close", end);
      (async () => {
        const client = identityOf(call.metadata, call.getPeer());
        const app = name("app", "app", call.request.app);
        const env = name("env", "env", call.request.env);
        const keys = keysOf(call.request.keys);
        const since = revisionOf("revision", call.request.revision);
        sub = await core.subscribe({ app, env, keys, client, since, sinceField: "revision" }, sink);
        if (gone) sub.close();
      })().catch((e) => {
        if (!gone) call.emit("error", grpcStatusOf(asAgentError(e)));
      });
    },

    Register: unary<Any, Any>(async (call) => {
      const client = identityOf(call.metadata, call.getPeer());
      const report = parseReport({
        watching: call.request.watching,
        running: call.request.running,
      });
      return answer(await instances.register(client, report));
    }),

    Renew: unary<Any, Any>(async (call) => {
      const client = identityOf(call.metadata, call.getPeer());
      const report = call.request.keep
        ? undefined
        : parseReport({ watching: call.request.watching, running: call.request.running });
      return answer(await instances.renew(client, report));
    }),

    Unregister: unary<Any, Any>(async (call) => {
      const client = identityOf(call.metadata, call.getPeer());
      if (client.clientId === undefined) {
        throw new BadRequestError(
          CLIENT_ID_METADATA,
          `Cannot unregister as ${CLIENT_ID_METADATA} must name the client: current call has none`,
        );
      }
      return { removed: await instances.unregister(client) };
    }),
  };
}

/** A running gRPC server. */
export interface GrpcServer {
  /** The port it is bound to. */
  readonly port: number;
  /** The grpc-js server. */
  readonly server: grpc.Server;
  /** Stops it at once (open streams end). */
  forceShutdown(): void;
}

/**
 * Serves the agent's gRPC service on `addr` (HOST:PORT; port 0 picks one).
 * @throws when the address cannot be bound (in use).
 */
export async function startGrpcServer(
  core: AgentCore,
  instances: InstanceRegistry,
  addr: string,
  options: GrpcOptions = {},
): Promise<GrpcServer> {
  const server = new grpc.Server({ ...CHANNEL_OPTIONS, interceptors: options.interceptors ?? [] });
  const pkg = loadProto("agent.proto", "cassemagent");
  const def = serviceOf(pkg, "Agent").service;
  const watch = def.Watch!;
  const serialize = watch.responseSerialize as (msg: unknown) => Buffer;
  // Watch answers may come serialized already (see the module doc).
  const passThrough = (msg: unknown) => (Buffer.isBuffer(msg) ? msg : serialize(msg));
  server.addService(
    { ...def, Watch: { ...watch, responseSerialize: passThrough } },
    agentService(core, instances, { ...options, encodeWatchResp: serialize }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      addr,
      grpc.ServerCredentials.createInsecure(),
      (e, p) => (e ? reject(e) : resolve(p)),
    )
  );
  return { port, server, forceShutdown: () => server.forceShutdown() };
}
