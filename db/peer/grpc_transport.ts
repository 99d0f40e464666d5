/**
 * {@linkcode GrpcTransport}: the raft {@linkcode Transport} between cassemdb
 * nodes, over the `cassemraft.RaftPeer` gRPC service of `proto/raft.proto`.
 *
 * Sending: messages are queued per destination and leave in a microtask, as
 * one batch per destination (split at `maxBatchBytes`), on one long-lived
 * `Stream` call per peer, so the order of messages between two nodes is kept.
 * A stream costs one HTTP/2 DATA frame per batch, where a unary call per batch
 * costs five frames and a stream set-up: measured on cassemdb, it is most of
 * the CPU a replicated write costs (bench/README.md). While the stream pushes
 * back (HTTP/2 flow control, a slow peer) batches wait in the queue. Queues are
 * bounded; a full queue drops its oldest messages. A stream that breaks (the
 * peer gone, keepalive pings unanswered, or the wrong node reached) loses what
 * was in flight, and a receiver may refuse messages. Each of these reports the
 * peer unreachable once, and raft retransmits; the next batch opens a new
 * stream.
 *
 * Receiving: each batch is handed to raft in order as it arrives, before raft
 * processes it; the receiver answers only for a batch it dropped messages of.
 *
 * Identity: every call carries the sender's cluster id, node id and address
 * and the node id it expects (`call_identity.ts`). A receiver of another
 * cluster refuses the call; both sides log that as an error naming the peer,
 * at most once per peer every `errorEveryMs`, and the sender holds its
 * messages to that peer for a second before it tries again. The transport
 * remembers, per peer, when a stream was last accepted, when a batch last
 * arrived and the last failure with its kind ({@linkcode GrpcTransport.peerHealth}).
 *
 * ```ts ignore
 * const t = await GrpcTransport.listen({ id: 1, address: "127.0.0.1:7001", peers });
 * const node = await RaftNode.start({ id: 1, transport: t, ... });
 * ```
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import type { Transport, TransportHandlers } from "../../shared/raft/mod.ts";
import { type Message, MessageType } from "../../shared/raft/mod.ts";
import {
  type AnnounceRequest,
  type AnnounceResponse,
  type BatchAckProto,
  type BatchProto,
  decodeAnnounceRequest,
  decodeAnnounceResponse,
  decodeIdentifyResponse,
  decodeMessage,
  deserializeOwned,
  encodeBatch,
  type IdentifyResponse,
  isNetworkMessageType,
  messageBytes,
} from "./codec.ts";
import {
  type CallIdentity,
  checkCaller,
  clusterName,
  identityMetadata,
  readCallIdentity,
  type Refusal,
  REFUSAL_KEY,
} from "./call_identity.ts";
import {
  classifyFailure,
  type PeerFailure,
  type PeerFailureKind,
  type PeerHealth,
} from "./peer_health.ts";
import { joinHostPort, splitHostPort } from "../../shared/host_port.ts";
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
/** Default of {@linkcode AnnounceOptions.timeoutMs}. */
export const DEFAULT_TIMEOUT_MS = 2_000;
/** HTTP/2 flow-control window of a peer stream: room for a few full batches in flight. */
const FLOW_CONTROL_WINDOW = 16 * MiB;
/** Default of {@linkcode GrpcTransportOptions.errorEveryMs}. */
export const DEFAULT_ERROR_EVERY_MS = 5_000;
/** How long messages to a peer that refused our stream are dropped before the next try. */
const REFUSED_HOLD_MS = 1_000;

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
  /** Bytes per batch; a single larger message still goes alone (default 4 MiB). */
  maxBatchBytes?: number;
  /** gRPC send and receive limit per batch, both ways (default 96 MiB, at least 64 MiB). */
  maxMessageBytes?: number;
  /** Grace given to open calls by {@linkcode GrpcTransport.close} before it cuts them, in ms (default 100). */
  closeGraceMs?: number;
  /** Receives one line per notable event (failed calls, dropped messages). */
  logger?: (line: string) => void;
  /**
   * The cluster this node belongs to: sent with every call, and required of
   * every caller (default ""). `null` while it is not known yet (a joining
   * node, until {@linkcode GrpcTransport.setClusterId}): incoming calls are
   * then refused as not ready.
   */
  clusterId?: string | null;
  /** The RaftPeer address other nodes know this node by, sent with every call (default: the bound address). */
  advertise?: string;
  /**
   * Receives the lines an operator must see: a peer of another cluster on
   * either side of a call, or an address that serves another node than the
   * one addressed. At most one per peer and kind every `errorEveryMs`.
   */
  errorLogger?: (line: string) => void;
  /** Least time between two {@linkcode errorLogger} lines about one peer and kind, in ms (default 5,000). */
  errorEveryMs?: number;
}

/** Options of {@linkcode GrpcTransport.announce}. */
export interface AnnounceOptions {
  /** Deadline of the call, in ms (default {@linkcode DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/**
 * Counters of a {@linkcode GrpcTransport} since it was created, for metrics
 * and tests. Invariant: every message given to `send` for another node is
 * eventually counted once in `sent` or `dropped` (or discarded uncounted by
 * `close`/`setPeer` forgetting the peer); messages lost in a broken stream are counted in
 * `sent` only, as the sender cannot know how many arrived.
 */
export interface GrpcTransportStats {
  /** `Stream` calls opened. */
  streams: number;
  /** Batches written to streams. */
  batches: number;
  /** Messages written to streams. */
  sent: number;
  /** Estimated bytes ({@linkcode messageBytes}) of the messages sent. */
  sentBytes: number;
  /** Streams that broke or reached the wrong node. */
  failedStreams: number;
  /**
   * Messages dropped: no known address, queue overflow, or (counted in `sent`
   * too) refused by the receiver.
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
  /** When a stream to it was last accepted (0: never). */
  acceptedAt: number;
  /** When the open stream was opened (0: none open). */
  openedAt: number;
  /** Its last failure. */
  failure: PeerFailure | undefined;
  /** Until then (ms since the epoch), messages to it are dropped: it refused our last stream. */
  holdUntil: number;
  /** Invariant: in send order; `bytes` is the sum of their {@linkcode messageBytes}. */
  queue: Message[];
  bytes: number;
  /** The open stream to the peer's current address, if any. */
  stream: PeerStream | undefined;
  /** The stream pushes back: batches wait until it drains. */
  blocked: boolean;
  /** A flush is queued as a microtask. */
  scheduled: boolean;
}

type PeerStream = grpc.ClientDuplexStream<BatchProto, BatchAckProto>;

interface ClientRef {
  client: grpc.Client;
  /** Peers using this address. */
  users: number;
}

type StreamCall = grpc.ServerDuplexStream<BatchProto, BatchAckProto>;
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
  /** The leader as this node knows it (0: unknown), told to Identify callers; kept up to date by the node. */
  leaderHint = 0;
  /** This node's raft term (0: unknown), told to Identify callers; set by the node once raft runs. */
  termOf: () => number = () => 0;
  readonly #opts: GrpcTransportOptions;
  #clusterId: string | null;
  /** When a batch last arrived from each node id. */
  readonly #heard = new Map<number, number>();
  /** When an error line was last logged, per "address|kind". */
  readonly #errorLoggedAt = new Map<string, number>();
  readonly #server: grpc.Server;
  #address = "";
  #handlers: TransportHandlers | undefined;
  readonly #peers = new Map<number, Peer>();
  /** One client per address; invariant: `users` counts the peers in `#peers` using it. */
  readonly #clients = new Map<string, ClientRef>();
  /** Incoming streams, cancelled by {@linkcode close}. */
  readonly #incoming = new Set<StreamCall>();
  readonly #stats: GrpcTransportStats = {
    streams: 0,
    batches: 0,
    sent: 0,
    sentBytes: 0,
    failedStreams: 0,
    dropped: 0,
    received: 0,
    rejected: 0,
  };
  readonly #maxQueueMessages: number;
  readonly #maxQueueBytes: number;
  readonly #maxBatchBytes: number;
  readonly #channelOptions: grpc.ChannelOptions;
  readonly #stream: grpc.MethodDefinition<BatchProto, BatchAckProto>;
  readonly #announce: grpc.MethodDefinition<AnnounceRequest, AnnounceResponse>;
  readonly #identify: grpc.MethodDefinition<Record<string, never>, IdentifyResponse>;
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
    this.#clusterId = opts.clusterId === undefined ? "" : opts.clusterId;
    this.#maxQueueMessages = positive("maxQueueMessages", opts.maxQueueMessages) ??
      DEFAULT_MAX_QUEUE_MESSAGES;
    this.#maxQueueBytes = positive("maxQueueBytes", opts.maxQueueBytes) ?? DEFAULT_MAX_QUEUE_BYTES;
    this.#maxBatchBytes = positive("maxBatchBytes", opts.maxBatchBytes) ?? DEFAULT_MAX_BATCH_BYTES;
    this.#channelOptions = {
      ...messageSizeOptions(opts),
      // Notice a dead connection (a peer host gone, a silent partition): a
      // long-lived stream has no deadline, so keepalive pings are how it breaks.
      "grpc.keepalive_time_ms": 5_000,
      "grpc.keepalive_timeout_ms": 2_000,
      "grpc.keepalive_permit_without_calls": 1,
      // Reconnect to a peer that comes back within a second, not the default
      // backoff of up to two minutes; raft keeps retrying meanwhile and each
      // attempt fails fast while the channel is down.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1_000,
      // Stay connected while no stream is open: followers rarely talk to each
      // other, but when they do (an election) they should not wait to connect.
      "grpc.client_idle_timeout_ms": 24 * 60 * 60 * 1000,
      // Retries would resend a batch raft may already be retransmitting.
      "grpc.enable_retries": 0,
      // The default 64 KiB window would stall a stream of large appends or
      // snapshot chunks on a round trip per 64 KiB.
      "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW,
      "grpc.enable_channelz": 0,
    };
    this.#server = new grpc.Server({
      ...messageSizeOptions(opts),
      "grpc.keepalive_time_ms": 5_000,
      "grpc.keepalive_timeout_ms": 2_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW,
      "grpc.enable_channelz": 0,
    });
    const service = raftPeerService();
    this.#stream = service.Stream as grpc.MethodDefinition<BatchProto, BatchAckProto>;
    this.#announce = service.Announce as grpc.MethodDefinition<AnnounceRequest, AnnounceResponse>;
    this.#identify = service.Identify as grpc.MethodDefinition<
      Record<string, never>,
      IdentifyResponse
    >;
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
    const parts = splitHostPort(opts.address);
    if (!parts) {
      throw new TypeError(
        `Cannot listen as the address must be host:port: current value is ${opts.address}`,
      );
    }
    const t = new GrpcTransport(opts);
    const server = t.#server;
    const service = raftPeerService();
    const stream = service.Stream!;
    server.addService({
      ...service,
      // Each frame is decoded from a copy of its own, so messages keep views
      // into it instead of a copy per entry (see codec.ts on ownership).
      Stream: { ...stream, requestDeserialize: deserializeOwned(stream.requestDeserialize) },
    }, {
      Stream: (call: StreamCall) => t.#onStream(call),
      Announce: (call: AnnounceCall, cb: grpc.sendUnaryData<AnnounceResponse>) =>
        t.#onAnnounce(call, cb),
      Identify: (_call: unknown, cb: grpc.sendUnaryData<IdentifyResponse>) =>
        cb(null, {
          id: t.id,
          clusterId: t.#clusterId ?? "",
          leader: t.leaderHint,
          term: t.termOf(),
        }),
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
    t.#address = joinHostPort(parts.hostname, port);
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

  /** This node's cluster id; null while it is not known yet. */
  get clusterId(): string | null {
    return this.#clusterId;
  }

  /** Sets this node's cluster id once it is known (a joining node); later calls carry it. */
  setClusterId(clusterId: string): void {
    this.#clusterId = clusterId;
  }

  /**
   * What this transport knows about reaching peer `id`: its address (none
   * when it has no known address), when a stream to it was last accepted,
   * when a batch from it last arrived, and its last failure.
   */
  peerHealth(id: number): PeerHealth {
    const p = this.#peers.get(id);
    return {
      id,
      address: p?.address,
      acceptedAt: p?.acceptedAt ?? 0,
      waitingSince: p?.stream && p.acceptedAt < p.openedAt ? p.openedAt : 0,
      heardAt: this.#heard.get(id) ?? 0,
      failure: p?.failure,
    };
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
      this.#endStream(p);
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
      this.#endStream(p);
      this.#release(p.address);
      p.address = address;
      this.#schedule(p);
    } else {
      this.#peers.set(id, {
        id,
        address,
        acceptedAt: 0,
        openedAt: 0,
        failure: undefined,
        holdUntil: 0,
        queue: [],
        bytes: 0,
        stream: undefined,
        blocked: false,
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
    return this.#unary(
      peerAddr,
      this.#announce,
      req,
      identityMetadata(this.#callIdentity(0)),
      options,
      `announce to ${peerAddr}`,
    ).then(decodeAnnounceResponse);
  }

  /**
   * Asks the node serving RaftPeer at `peerAddr` who it is: its node id,
   * cluster id, known leader and term. Any node answers, whatever its
   * cluster. Reuses the channel of a peer at that address, or opens one for
   * the call.
   * @throws {Error} when the call fails; `cause` is the gRPC error (with its `code`).
   */
  identify(peerAddr: string, options: AnnounceOptions = {}): Promise<IdentifyResponse> {
    return this.#unary(
      peerAddr,
      this.#identify,
      {},
      new grpc.Metadata(), // no identity: any node answers, whatever its cluster
      options,
      `identify the node at ${peerAddr}`,
    ).then(decodeIdentifyResponse);
  }

  /**
   * One unary call of `method` to `peerAddr`, on the channel of a peer at
   * that address or on one opened for the call; `what` completes "Cannot …"
   * in its errors.
   */
  #unary<Req, Resp>(
    peerAddr: string,
    method: grpc.MethodDefinition<Req, Resp>,
    req: Req,
    metadata: grpc.Metadata,
    options: AnnounceOptions,
    what: string,
  ): Promise<Resp> {
    if (this.#closed) {
      return Promise.reject(new Error(`Cannot ${what} as the transport is closed`));
    }
    const shared = this.#clients.get(peerAddr)?.client;
    const client = shared ??
      new grpc.Client(peerAddr, grpc.credentials.createInsecure(), this.#channelOptions);
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    return new Promise<Resp>((resolve, reject) => {
      const done = (err: grpc.ServiceError | null, resp?: Resp) => {
        if (!shared) client.close();
        if (err || !resp) {
          reject(
            new Error(`Cannot ${what} as the call failed: ${err?.details ?? "no reply"}`, {
              cause: err,
            }),
          );
        } else resolve(resp);
      };
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        req,
        metadata,
        { deadline },
        done,
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
      this.#endStream(p);
    }
    this.#peers.clear();
    // Incoming streams never end by themselves: without this, tryShutdown
    // would always wait out the grace period.
    for (const call of this.#incoming) call.end();
    this.#incoming.clear();
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
    if (p.blocked || p.scheduled || p.queue.length === 0) return;
    p.scheduled = true;
    queueMicrotask(() => this.#flush(p));
  }

  /** Writes `p`'s queue to its stream as batches of at most `maxBatchBytes`, until it pushes back. */
  #flush(p: Peer): void {
    p.scheduled = false;
    if (this.#closed || p.blocked || p.queue.length === 0 || this.#peers.get(p.id) !== p) return;
    if (p.holdUntil > Date.now()) {
      // It refused our last stream: raft retries after this pause, not in a tight loop.
      this.#stats.dropped += p.queue.length;
      p.queue = [];
      p.bytes = 0;
      this.#handlers?.unreachable(p.id);
      return;
    }
    const stream = p.stream ?? this.#openStream(p);
    if (!stream) return;
    const st = this.#stats;
    while (p.queue.length > 0) {
      const q = p.queue;
      let n = 0;
      let bytes = 0;
      while (n < q.length) {
        const size = messageBytes(q[n]!);
        if (n > 0 && bytes + size > this.#maxBatchBytes) break;
        bytes += size;
        n++;
      }
      const batch = n === q.length ? q : q.slice(0, n);
      p.queue = n === q.length ? [] : q.slice(n);
      p.bytes -= bytes;
      st.batches++;
      st.sent += n;
      st.sentBytes += bytes;
      if (!stream.write(encodeBatch(this.id, batch))) {
        p.blocked = true;
        stream.once("drain", () => {
          if (p.stream !== stream) return;
          p.blocked = false;
          this.#schedule(p);
        });
        return;
      }
    }
  }

  /** Opens the stream to `p`'s current address. */
  #openStream(p: Peer): PeerStream | undefined {
    const ref = this.#clients.get(p.address);
    if (!ref) return undefined; // Unreachable: a peer in #peers always holds its client.
    const m = this.#stream;
    const stream = ref.client.makeBidiStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      identityMetadata(this.#callIdentity(p.id)),
      {},
    );
    this.#stats.streams++;
    p.stream = stream;
    p.openedAt = Date.now();
    // The receiver sends its headers as soon as it takes the stream.
    stream.on("metadata", () => {
      if (p.stream === stream) p.acceptedAt = Date.now();
    });
    stream.on("data", (ack: BatchAckProto) => this.#onAck(p, stream, ack));
    // Every end of a stream reports a status; errors come with one too.
    stream.on("error", () => {});
    stream.on("status", (s: grpc.StatusObject) => {
      const kind = s.code === grpc.status.OK ? "lost" : classifyFailure(s);
      this.#broken(p, stream, kind, s.details || "the peer ended the stream");
    });
    return stream;
  }

  #callIdentity(to: number): CallIdentity {
    return {
      clusterId: this.#clusterId ?? "",
      from: this.id,
      fromAddr: this.#opts.advertise ?? this.#address,
      to,
    };
  }

  /** Logs `line` to the error logger unless a line about `peer` and `kind` went out recently. */
  #logError(peer: string, kind: string, line: string): void {
    const log = this.#opts.errorLogger;
    if (!log) return;
    const key = `${peer}|${kind}`;
    const now = Date.now();
    const last = this.#errorLoggedAt.get(key);
    if (last !== undefined && now - last < (this.#opts.errorEveryMs ?? DEFAULT_ERROR_EVERY_MS)) {
      return;
    }
    this.#errorLoggedAt.set(key, now);
    log(line);
  }

  /** The receiver dropped messages of a batch, or is not the node addressed. */
  #onAck(p: Peer, stream: PeerStream, ack: BatchAckProto): void {
    if (this.#closed || p.stream !== stream) return;
    this.#stats.dropped += ack.rejected;
    if (ack.id !== p.id) {
      this.#broken(p, stream, "wrong-node", `${p.address} is node ${ack.id}, not ${p.id}`);
      return;
    }
    this.#opts.logger?.(`${this.id}: ${p.id} dropped ${ack.rejected} messages of a batch`);
    this.#handlers?.unreachable(p.id);
  }

  /**
   * Forgets a stream that ended or failed, records why, reports the peer
   * unreachable and reopens on demand (after a pause when the peer refused it).
   */
  #broken(p: Peer, stream: PeerStream, kind: PeerFailureKind, detail: string): void {
    if (p.stream !== stream) return;
    p.stream = undefined;
    p.blocked = false;
    stream.cancel();
    if (this.#closed || this.#peers.get(p.id) !== p) return;
    this.#stats.failedStreams++;
    const now = Date.now();
    p.failure = { kind, detail, at: now };
    this.#opts.logger?.(`${this.id}: stream to ${p.id} at ${p.address} broke: ${detail}`);
    if (kind === "other-cluster") {
      this.#logError(
        p.address,
        kind,
        `node ${p.id} at ${p.address} refused raft messages from this node (id ${this.id}, cluster ${
          clusterName(this.#clusterId ?? "")
        }): ${detail}`,
      );
    } else if (kind === "wrong-node") {
      this.#logError(
        p.address,
        kind,
        `cannot send raft messages to node ${p.id} as ${detail}: its address is stale or wrong`,
      );
    }
    if (kind === "other-cluster" || kind === "not-ready") p.holdUntil = now + REFUSED_HOLD_MS;
    this.#handlers?.unreachable(p.id);
    this.#schedule(p);
  }

  /** Closes `p`'s stream without reporting anything (the peer moved, was forgotten, or we close). */
  #endStream(p: Peer): void {
    const stream = p.stream;
    if (!stream) return;
    p.stream = undefined;
    p.blocked = false;
    stream.cancel();
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

  #onStream(call: StreamCall): void {
    if (this.#closed) {
      call.end();
      return;
    }
    const caller = readCallIdentity(call.metadata);
    const refusal = checkCaller(caller, { id: this.id, clusterId: this.#clusterId });
    if (refusal) {
      this.#logRefusal(call, caller, refusal);
      const metadata = new grpc.Metadata();
      metadata.set(REFUSAL_KEY, refusal.kind);
      call.on("error", () => {});
      call.emit("error", { code: refusal.code, details: refusal.details, metadata });
      return;
    }
    if (caller.to !== 0 && caller.to !== this.id) {
      this.#logError(
        caller.fromAddr,
        "wrong-node",
        `node ${caller.from} at ${caller.fromAddr} sends raft messages for node ${caller.to} to this node (id ${this.id}): its address for node ${caller.to} is stale or wrong`,
      );
    }
    call.sendMetadata(new grpc.Metadata());
    this.#incoming.add(call);
    call.on("data", (batch: BatchProto) => this.#onBatch(call, batch));
    call.on("end", () => call.end());
    call.on("error", () => {});
    call.on("close", () => this.#incoming.delete(call));
  }

  /** Hands a batch to raft in order; answers only when messages were dropped. */
  #onBatch(call: StreamCall, batch: BatchProto): void {
    const handlers = this.#handlers;
    let accepted = 0;
    let rejected = 0;
    for (const pm of batch.messages ?? []) {
      if (this.#closed || !handlers || pm.to !== this.id || !isNetworkMessageType(pm.type)) {
        rejected++;
        continue;
      }
      try {
        handlers.message(decodeMessage(pm));
        accepted++;
      } catch (e) {
        rejected++;
        this.#opts.logger?.(`${this.id}: cannot deliver a raft message from ${batch.from}: ${e}`);
      }
    }
    this.#stats.received += accepted;
    this.#stats.rejected += rejected;
    if (accepted > 0) this.#heard.set(Number(batch.from), Date.now());
    if (rejected > 0 && !this.#closed) call.write({ id: this.id, rejected });
  }

  /** Logs a refused call (a caller of another cluster is an error an operator must see). */
  #logRefusal(call: { getPeer(): string }, caller: CallIdentity, refusal: Refusal): void {
    this.#opts.logger?.(`${this.id}: refused a call from ${call.getPeer()}: ${refusal.details}`);
    if (refusal.kind !== "other-cluster") return;
    this.#logError(
      caller.fromAddr || call.getPeer(),
      refusal.kind,
      `refused raft messages from node ${caller.from} at ${
        caller.fromAddr || call.getPeer()
      }: it belongs to cluster ${
        clusterName(caller.clusterId)
      }, this node (id ${this.id}) to cluster ${clusterName(this.#clusterId ?? "")}`,
    );
  }

  #onAnnounce(call: AnnounceCall, cb: grpc.sendUnaryData<AnnounceResponse>): void {
    const caller = readCallIdentity(call.metadata);
    const refusal = checkCaller(caller, { id: this.id, clusterId: this.#clusterId });
    if (refusal) {
      this.#logRefusal(call, caller, refusal);
      const metadata = new grpc.Metadata();
      metadata.set(REFUSAL_KEY, refusal.kind);
      cb({ code: refusal.code, details: refusal.details, metadata });
      return;
    }
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
      (e) => {
        // The handler's metadata (such as the field an INVALID_ARGUMENT names) goes along.
        const md = (e as { metadata?: unknown })?.metadata;
        cb({
          code: statusOf(e),
          details: (e as Error)?.message ?? String(e),
          metadata: md instanceof grpc.Metadata ? md : undefined,
        });
      },
    );
  }
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

/** The status code an error carries (a StatusError of db/server), else UNKNOWN. */
function statusOf(e: unknown): grpc.status {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "number" && Number.isInteger(code) && code >= 1 && code <= 16
    ? code
    : grpc.status.UNKNOWN;
}
