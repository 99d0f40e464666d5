/**
 * {@linkcode GrpcTransport}: the raft {@linkcode Transport} between cassemdb
 * nodes, over the `cassemraft.RaftPeer` gRPC service of `proto/raft.proto`.
 *
 * Sending: messages are queued per destination. Each peer has at most one
 * `Send` RPC in flight; whatever queues up meanwhile leaves as the next batch
 * when that call completes, so batching follows the load and the order of
 * messages between two nodes is kept. Queues are bounded; a full queue drops
 * its oldest messages. A failed call (an error, its deadline passed, or the
 * wrong node answered) loses its batch, and a receiver may refuse messages.
 * Each of these reports the peer unreachable once, and raft retransmits.
 *
 * Receiving: a `Send` call hands its messages to raft in order and is
 * answered at once, before raft processes them.
 *
 * ```ts ignore
 * const t = await GrpcTransport.listen({ id: 1, address: "127.0.0.1:7001", peers });
 * const node = await RaftNode.start({ id: 1, transport: t, ... });
 * ```
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import type { Transport, TransportHandlers } from "../../shared/raft/transport.ts";
import { type Message, MessageType } from "../../shared/raft/types.ts";
import {
  type AnnounceRequest,
  type AnnounceResponse,
  type BatchAckProto,
  type BatchProto,
  decodeAnnounceRequest,
  decodeAnnounceResponse,
  decodeMessage,
  deserializeOwned,
  encodeBatch,
  isNetworkMessageType,
  messageBytes,
} from "./codec.ts";
import { raftPeerService } from "./_proto.ts";

const MiB = 1024 * 1024;

/** Default of {@linkcode GrpcTransportOptions.maxQueueMessages}. */
export const DEFAULT_MAX_QUEUE_MESSAGES = 10_000;
/** Default of {@linkcode GrpcTransportOptions.maxQueueBytes}. */
export const DEFAULT_MAX_QUEUE_BYTES: number = 64 * MiB;
/** Default of {@linkcode GrpcTransportOptions.maxBatchBytes}. */
export const DEFAULT_MAX_BATCH_BYTES: number = 4 * MiB;
/** Default of {@linkcode GrpcTransportOptions.maxMessageBytes}. */
export const DEFAULT_MAX_MESSAGE_BYTES: number = 96 * MiB;
/** Default of {@linkcode GrpcTransportOptions.timeoutMs}. */
export const DEFAULT_TIMEOUT_MS = 2_000;
/** Default of {@linkcode GrpcTransportOptions.snapshotTimeoutMs}. */
export const DEFAULT_SNAPSHOT_TIMEOUT_MS = 15_000;

/** Options of {@linkcode GrpcTransport.listen}. */
export interface GrpcTransportOptions {
  /** This node's raft id (a positive integer). */
  id: number;
  /** `host:port` to serve RaftPeer on; port 0 picks a free port (see {@linkcode GrpcTransport.address}). */
  address: string;
  /** Initial peer addresses (`host:port`) by node id; this node's own id is ignored. */
  peers?: ReadonlyMap<number, string>;
  /**
   * Answers `Announce` calls (also settable later as
   * {@linkcode GrpcTransport.onAnnounce}). Without it they fail with
   * UNIMPLEMENTED. A rejection (or a throw) fails the call with the error's
   * `code` when it is a gRPC status number, else UNKNOWN, and the error's
   * message as details.
   */
  onAnnounce?: (req: AnnounceRequest) => Promise<AnnounceResponse>;
  /** Messages queued for one peer before the oldest are dropped (default 10,000). */
  maxQueueMessages?: number;
  /** Bytes ({@linkcode messageBytes}) queued for one peer before the oldest are dropped (default 64 MiB). */
  maxQueueBytes?: number;
  /** Bytes per `Send` batch; a single larger message still goes alone (default 4 MiB). */
  maxBatchBytes?: number;
  /** gRPC send and receive limit per call, both ways (default 96 MiB, at least 64 MiB). */
  maxMessageBytes?: number;
  /** Deadline of a `Send` call, in ms (default 2,000). */
  timeoutMs?: number;
  /** Deadline of a `Send` call that carries a snapshot chunk, in ms (default 15,000). */
  snapshotTimeoutMs?: number;
  /** Grace given to open calls by {@linkcode GrpcTransport.close} before it cuts them, in ms (default 100). */
  closeGraceMs?: number;
  /** Receives one line per notable event (failed calls, dropped messages). */
  logger?: (line: string) => void;
}

/** Options of {@linkcode GrpcTransport.announce}. */
export interface AnnounceOptions {
  /** Deadline of the call, in ms (default {@linkcode DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/**
 * Counters of a {@linkcode GrpcTransport} since it was created, for metrics
 * and tests. Invariant: every message given to `send` is eventually counted
 * once in `sent` or `dropped` (or discarded uncounted by `close`/`setPeer`
 * forgetting the peer).
 */
export interface GrpcTransportStats {
  /** `Send` calls started. */
  rpcs: number;
  /** Messages put in a started `Send` call. */
  sent: number;
  /** Estimated bytes ({@linkcode messageBytes}) of the messages sent. */
  sentBytes: number;
  /** `Send` calls that failed, timed out or reached the wrong node. */
  failedRpcs: number;
  /**
   * Messages dropped: no known address, queue overflow, or (counted in `sent`
   * too) lost in a failed call or refused by the receiver.
   */
  dropped: number;
  /** Messages received and handed to raft. */
  received: number;
  /** Messages received and dropped: addressed to another node, of a local kind, or before `start`. */
  rejected: number;
}

interface Peer {
  readonly id: number;
  address: string;
  /** Bumped when the address changes, so a call to the old one does not report on the new. */
  generation: number;
  /** Invariant: in send order; `bytes` is the sum of their {@linkcode messageBytes}. */
  queue: Message[];
  bytes: number;
  /** Invariant: at most one `Send` call per peer is in flight. */
  inflight: boolean;
  /** A flush is queued as a microtask. */
  scheduled: boolean;
}

interface ClientRef {
  client: grpc.Client;
  /** Peers using this address. */
  users: number;
}

type SendCall = grpc.ServerUnaryCall<BatchProto, BatchAckProto>;
type AnnounceCall = grpc.ServerUnaryCall<AnnounceRequest, AnnounceResponse>;

/**
 * The gRPC transport of a cassemdb node: a RaftPeer server for incoming
 * messages and one client channel per peer address for outgoing ones.
 * Create it with {@linkcode GrpcTransport.listen}.
 */
export class GrpcTransport implements Transport {
  /** This node's raft id. */
  readonly id: number;
  /**
   * Answers `Announce` calls (see {@linkcode GrpcTransportOptions.onAnnounce});
   * starts as the option and may be set later, for a handler that needs the
   * node built on this transport. Undefined: calls fail with UNIMPLEMENTED.
   */
  onAnnounce: ((req: AnnounceRequest) => Promise<AnnounceResponse>) | undefined;
  readonly #opts: GrpcTransportOptions;
  readonly #server: grpc.Server;
  #address = "";
  #handlers: TransportHandlers | undefined;
  readonly #peers = new Map<number, Peer>();
  /** One client per address; invariant: `users` counts the peers in `#peers` using it. */
  readonly #clients = new Map<string, ClientRef>();
  readonly #stats: GrpcTransportStats = {
    rpcs: 0,
    sent: 0,
    sentBytes: 0,
    failedRpcs: 0,
    dropped: 0,
    received: 0,
    rejected: 0,
  };
  readonly #maxQueueMessages: number;
  readonly #maxQueueBytes: number;
  readonly #maxBatchBytes: number;
  readonly #channelOptions: grpc.ChannelOptions;
  readonly #send: grpc.MethodDefinition<BatchProto, BatchAckProto>;
  readonly #announce: grpc.MethodDefinition<AnnounceRequest, AnnounceResponse>;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(opts: GrpcTransportOptions) {
    if (!Number.isSafeInteger(opts.id) || opts.id < 1) {
      throw new RangeError(
        `Cannot listen as the id must be a positive integer: current value is ${opts.id}`,
      );
    }
    this.id = opts.id;
    this.onAnnounce = opts.onAnnounce;
    this.#opts = opts;
    this.#maxQueueMessages = positive("maxQueueMessages", opts.maxQueueMessages) ??
      DEFAULT_MAX_QUEUE_MESSAGES;
    this.#maxQueueBytes = positive("maxQueueBytes", opts.maxQueueBytes) ?? DEFAULT_MAX_QUEUE_BYTES;
    this.#maxBatchBytes = positive("maxBatchBytes", opts.maxBatchBytes) ?? DEFAULT_MAX_BATCH_BYTES;
    this.#channelOptions = {
      ...messageSizeOptions(opts),
      // Notice a dead connection (a peer host gone, a silent partition) even
      // between calls, without waiting for a deadline per call.
      "grpc.keepalive_time_ms": 5_000,
      "grpc.keepalive_timeout_ms": 2_000,
      "grpc.keepalive_permit_without_calls": 1,
      // Reconnect to a peer that comes back within a second, not the default
      // backoff of up to two minutes; raft keeps retrying meanwhile and each
      // attempt fails fast while the channel is down.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1_000,
      // Stay connected between calls: followers rarely call each other, but
      // when they do (an election) they should not wait for a new connection.
      "grpc.client_idle_timeout_ms": 24 * 60 * 60 * 1000,
      // Retries would resend a batch raft may already be retransmitting.
      "grpc.enable_retries": 0,
    };
    this.#server = new grpc.Server({
      ...messageSizeOptions(opts),
      "grpc.keepalive_time_ms": 5_000,
      "grpc.keepalive_timeout_ms": 2_000,
      "grpc.keepalive_permit_without_calls": 1,
    });
    const service = raftPeerService();
    this.#send = service.Send as grpc.MethodDefinition<BatchProto, BatchAckProto>;
    this.#announce = service.Announce as grpc.MethodDefinition<AnnounceRequest, AnnounceResponse>;
  }

  /**
   * Binds a RaftPeer server on `opts.address` and returns the transport,
   * serving at once (messages that arrive before {@linkcode start} are
   * dropped).
   * @throws {RangeError} when `id` is not a positive integer or a limit is not positive.
   * @throws {TypeError} when `address` is not `host:port`.
   * @throws {Error} when the address cannot be bound (for example, in use).
   */
  static async listen(opts: GrpcTransportOptions): Promise<GrpcTransport> {
    const { host } = parseAddress(opts.address);
    const t = new GrpcTransport(opts);
    const server = t.#server;
    const service = raftPeerService();
    const send = service.Send!;
    server.addService({
      ...service,
      // Each frame is decoded from a copy of its own, so messages keep views
      // into it instead of a copy per entry (see codec.ts on ownership).
      Send: { ...send, requestDeserialize: deserializeOwned(send.requestDeserialize) },
    }, {
      Send: (call: SendCall, cb: grpc.sendUnaryData<BatchAckProto>) => t.#onSend(call, cb),
      Announce: (call: AnnounceCall, cb: grpc.sendUnaryData<AnnounceResponse>) =>
        t.#onAnnounce(call, cb),
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(opts.address, grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err) {
          server.forceShutdown();
          reject(
            new Error(`Cannot listen on ${opts.address} as binding failed: ${err.message}`, {
              cause: err,
            }),
          );
        } else resolve(port);
      });
    });
    t.#address = `${host}:${port}`;
    for (const [id, address] of opts.peers ?? []) t.setPeer(id, address);
    return t;
  }

  /** The bound `host:port` (with the port picked when 0 was asked for). */
  get address(): string {
    return this.#address;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A snapshot of the counters. */
  stats(): GrpcTransportStats {
    return { ...this.#stats };
  }

  /** The address known for peer `id`, if any. */
  peerAddress(id: number): string | undefined {
    return this.#peers.get(id)?.address;
  }

  /**
   * Starts handing incoming messages to `handlers.message` and failures to
   * `handlers.unreachable`. Replaces handlers given before.
   */
  start(handlers: TransportHandlers): void {
    this.#handlers = handlers;
  }

  /**
   * Queues `messages` for their destinations and returns; they leave in a
   * later microtask. Messages to a node without a known address, and the
   * oldest messages of a queue that grows past its bounds (snapshot chunks
   * last), are dropped, and their destination is reported unreachable
   * (synchronously, from within this call). Messages to this node itself are
   * ignored. Does nothing after {@linkcode close}.
   */
  send(messages: Message[]): void {
    if (this.#closed || messages.length === 0) return;
    const touched = new Set<Peer>();
    let unknown: Set<number> | undefined;
    for (const m of messages) {
      if (m.to === this.id) continue;
      const p = this.#peers.get(m.to);
      if (!p) {
        this.#stats.dropped++;
        (unknown ??= new Set()).add(m.to);
        continue;
      }
      p.queue.push(m);
      p.bytes += messageBytes(m);
      touched.add(p);
    }
    for (const p of touched) {
      if (this.#trim(p)) this.#handlers?.unreachable(p.id);
      this.#schedule(p);
    }
    for (const id of unknown ?? []) this.#handlers?.unreachable(id);
  }

  /**
   * Learns the address of peer `id`, or forgets the peer when `address` is
   * undefined (dropping its queue). A new address takes effect for the next
   * batch; the queue is kept. Clients are shared by peers with one address
   * and closed when no peer uses them. Ignores this node's own id. Never
   * throws: an address grpc-js cannot use (such as "") forgets the peer, so
   * sends to it report it unreachable.
   */
  setPeer(id: number, address: string | undefined): void {
    if (this.#closed || id === this.id) return;
    const p = this.#peers.get(id);
    if (address === undefined) {
      if (!p) return;
      this.#peers.delete(id);
      p.queue = [];
      p.bytes = 0;
      this.#release(p.address);
      return;
    }
    if (p?.address === address) return;
    if (!this.#retain(address)) {
      // Never throw from here: raft calls it while applying the log.
      this.#opts.logger?.(`${this.id}: cannot use address ${address} of ${id}; forgot the peer`);
      this.setPeer(id, undefined);
      return;
    }
    if (p) {
      this.#release(p.address);
      p.address = address;
      p.generation++;
      this.#schedule(p);
    } else {
      this.#peers.set(id, {
        id,
        address,
        generation: 0,
        queue: [],
        bytes: 0,
        inflight: false,
        scheduled: false,
      });
    }
  }

  /**
   * Calls `Announce` on the node serving RaftPeer at `peerAddr` (reusing the
   * channel of a peer at that address, or opening one for the call).
   * @throws {Error} when the call fails; `cause` is the gRPC error (with its `code`).
   */
  announce(
    peerAddr: string,
    req: AnnounceRequest,
    options: AnnounceOptions = {},
  ): Promise<AnnounceResponse> {
    if (this.#closed) {
      return Promise.reject(new Error(`Cannot announce to ${peerAddr} as the transport is closed`));
    }
    const shared = this.#clients.get(peerAddr)?.client;
    const client = shared ?? new grpc.Client(
      peerAddr,
      grpc.credentials.createInsecure(),
      this.#channelOptions,
    );
    const m = this.#announce;
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    return new Promise<AnnounceResponse>((resolve, reject) => {
      client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        { deadline },
        (err, resp) => {
          if (!shared) client.close();
          if (err || !resp) {
            reject(
              new Error(
                `Cannot announce to ${peerAddr} as the call failed: ${err?.details ?? "no reply"}`,
                { cause: err },
              ),
            );
          } else resolve(decodeAnnounceResponse(resp));
        },
      );
    });
  }

  /**
   * Stops sending and receiving: drops every queue, closes the clients,
   * refuses new calls and gives open incoming calls `closeGraceMs` before
   * cutting them. Nothing reaches the handlers once this is called; calling
   * it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    for (const p of this.#peers.values()) {
      p.queue = [];
      p.bytes = 0;
    }
    this.#peers.clear();
    for (const ref of this.#clients.values()) ref.client.close();
    this.#clients.clear();
    const grace = this.#opts.closeGraceMs ?? 100;
    this.#closing = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, grace);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.#closing;
  }

  // ---- sending -----------------------------------------------------------------

  /** Drops the oldest messages of `p` until its queue is within bounds; true if any. */
  #trim(p: Peer): boolean {
    let overCount = p.queue.length - this.#maxQueueMessages;
    let overBytes = p.bytes - this.#maxQueueBytes;
    if (overCount <= 0 && overBytes <= 0) return false;
    // Snapshot chunks go last: losing one restarts the whole transfer.
    for (const snapshots of [false, true]) {
      const kept: Message[] = [];
      let i = 0;
      for (; i < p.queue.length && (overCount > 0 || overBytes > 0); i++) {
        const m = p.queue[i]!;
        if (!snapshots && m.type === MessageType.Snap) {
          kept.push(m);
          continue;
        }
        const size = messageBytes(m);
        p.bytes -= size;
        overBytes -= size;
        overCount--;
        this.#stats.dropped++;
      }
      p.queue = kept.length === 0 ? p.queue.slice(i) : kept.concat(p.queue.slice(i));
      if (overCount <= 0 && overBytes <= 0) break;
    }
    this.#opts.logger?.(`${this.id}: queue to ${p.id} full, dropped its oldest messages`);
    return true;
  }

  #schedule(p: Peer): void {
    if (p.inflight || p.scheduled || p.queue.length === 0) return;
    p.scheduled = true;
    queueMicrotask(() => this.#flush(p));
  }

  /** Sends the head of `p`'s queue as one batch, if no call to `p` is in flight. */
  #flush(p: Peer): void {
    p.scheduled = false;
    if (this.#closed || p.inflight || p.queue.length === 0 || this.#peers.get(p.id) !== p) return;
    const ref = this.#clients.get(p.address);
    if (!ref) return; // Unreachable: a peer in #peers always holds its client.
    const q = p.queue;
    let n = 0;
    let bytes = 0;
    let snapshot = false;
    while (n < q.length) {
      const m = q[n]!;
      const size = messageBytes(m);
      if (n > 0 && bytes + size > this.#maxBatchBytes) break;
      bytes += size;
      snapshot ||= m.type === MessageType.Snap;
      n++;
    }
    const batch = n === q.length ? q : q.slice(0, n);
    p.queue = n === q.length ? [] : q.slice(n);
    p.bytes -= bytes;
    p.inflight = true;
    const generation = p.generation;
    const st = this.#stats;
    st.rpcs++;
    st.sent += n;
    st.sentBytes += bytes;
    const timeout = snapshot
      ? (this.#opts.snapshotTimeoutMs ?? DEFAULT_SNAPSHOT_TIMEOUT_MS)
      : (this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const m = this.#send;
    ref.client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      encodeBatch(this.id, batch),
      { deadline: Date.now() + timeout },
      (err, ack) => this.#sent(p, generation, n, err, ack),
    );
  }

  #sent(
    p: Peer,
    generation: number,
    n: number,
    err: grpc.ServiceError | null,
    ack: BatchAckProto | undefined,
  ): void {
    p.inflight = false;
    if (this.#closed || this.#peers.get(p.id) !== p) return;
    // Lost: all of a failed call or one that reached the wrong node, else
    // what the receiver did not hand to raft (it had not started, say).
    const wrongNode = !err && ack?.id !== p.id;
    const lost = err || wrongNode ? n : n - (ack?.accepted ?? 0);
    if (lost > 0 && generation === p.generation) {
      if (err || wrongNode) this.#stats.failedRpcs++;
      this.#stats.dropped += lost;
      this.#opts.logger?.(
        err
          ? `${this.id}: send to ${p.id} at ${p.address} failed: ${err.details}`
          : wrongNode
          ? `${this.id}: ${p.address} is node ${ack?.id}, not ${p.id}`
          : `${this.id}: ${p.id} dropped ${lost} of ${n} messages`,
      );
      this.#handlers?.unreachable(p.id);
    }
    this.#flush(p);
  }

  /** Takes a reference on the client of `address`, creating it; false when grpc-js refuses the address. */
  #retain(address: string): boolean {
    const ref = this.#clients.get(address);
    if (ref) {
      ref.users++;
      return true;
    }
    let client: grpc.Client;
    try {
      client = new grpc.Client(
        address,
        grpc.credentials.createInsecure(),
        this.#channelOptions,
      );
    } catch {
      return false;
    }
    this.#clients.set(address, { client, users: 1 });
    return true;
  }

  #release(address: string): void {
    const ref = this.#clients.get(address);
    if (!ref || --ref.users > 0) return;
    this.#clients.delete(address);
    ref.client.close();
  }

  // ---- receiving ---------------------------------------------------------------

  #onSend(call: SendCall, cb: grpc.sendUnaryData<BatchAckProto>): void {
    const handlers = this.#handlers;
    const msgs = call.request.messages ?? [];
    let accepted = 0;
    try {
      for (const pm of msgs) {
        if (this.#closed || !handlers || pm.to !== this.id || !isNetworkMessageType(pm.type)) {
          this.#stats.rejected++;
          continue;
        }
        handlers.message(decodeMessage(pm));
        accepted++;
      }
    } catch (e) {
      cb({ code: grpc.status.INTERNAL, details: `Cannot deliver a raft message: ${e}` });
      return;
    }
    this.#stats.received += accepted;
    cb(null, { id: this.id, accepted });
  }

  #onAnnounce(call: AnnounceCall, cb: grpc.sendUnaryData<AnnounceResponse>): void {
    const handler = this.onAnnounce;
    if (!handler || this.#closed) {
      cb({
        code: grpc.status.UNIMPLEMENTED,
        details: `Cannot answer Announce as node ${this.id} takes no announcements`,
      });
      return;
    }
    let reply: Promise<AnnounceResponse>;
    try {
      reply = handler(decodeAnnounceRequest(call.request));
    } catch (e) {
      reply = Promise.reject(e);
    }
    reply.then(
      (resp) => cb(null, resp),
      (e) => cb({ code: statusOf(e), details: (e as Error)?.message ?? String(e) }),
    );
  }
}

/** The host and port of `host:port` (IPv6 hosts in brackets). */
function parseAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at);
  const portText = address.slice(at + 1);
  const port = Number(portText);
  if (at <= 0 || !/^\d+$/.test(portText) || port > 65535) {
    throw new TypeError(
      `Cannot listen as the address must be host:port: current value is ${address}`,
    );
  }
  return { host, port };
}

function positive(name: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!(v > 0)) {
    throw new RangeError(`Cannot listen as ${name} must be positive: current value is ${v}`);
  }
  return v;
}

function messageSizeOptions(opts: GrpcTransportOptions): grpc.ChannelOptions {
  const max = Math.max(64 * MiB, opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  return { "grpc.max_send_message_length": max, "grpc.max_receive_message_length": max };
}

function statusOf(e: unknown): grpc.status {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "number" && Number.isInteger(code) && code >= 1 && code <= 16
    ? code
    : grpc.status.UNKNOWN;
}
