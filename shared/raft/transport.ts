/**
 * The Transport interface the raft driver sends through, and
 * {@linkcode LocalNetwork}, an in-process implementation for tests and
 * benchmarks. (cassemdb provides the gRPC transport.)
 *
 * @module
 */

import type { Entry, Message } from "./types.ts";

/** What a transport reports to the node it serves. */
export interface TransportHandlers {
  /** A message for this node arrived. */
  message(m: Message): void;
  /** A send to `id` failed; the core slows down to probing that peer. */
  unreachable(id: number): void;
}

/**
 * Carries raft messages between nodes. Delivery is best effort: messages may
 * be lost, and raft retries. Between one pair of nodes, messages should arrive
 * in the order sent (raft tolerates reordering, but pipelining is faster in order).
 */
export interface Transport {
  /** Starts delivering this node's incoming messages to `handlers`. */
  start(handlers: TransportHandlers): void | Promise<void>;
  /**
   * Sends messages. Called only after the Ready carrying them is durable.
   * Must not block: queue and return.
   */
  send(messages: Message[]): void;
  /** Learns (or, with undefined, forgets) the address of a peer. */
  setPeer(id: number, address: string | undefined): void;
  /** Stops sending and receiving. */
  close(): Promise<void>;
}

/** Copies a message so sender and receiver share no mutable objects. */
export function copyMessage(m: Message): Message {
  return {
    ...m,
    entries: m.entries.map((e: Entry) => ({ ...e })),
    snapshot: m.snapshot ? { ...m.snapshot } : undefined,
  };
}

/**
 * An in-process network: every node gets a {@linkcode Transport} from
 * `connect(id)`; messages are delivered asynchronously (in a microtask), in
 * order per pair, and links can be cut to simulate a partition.
 */
export class LocalNetwork {
  readonly #nodes = new Map<number, LocalTransport>();
  readonly #cut = new Set<string>();

  /** The transport of node `id`. */
  connect(id: number): Transport {
    const t = new LocalTransport(id, this);
    this.#nodes.set(id, t);
    return t;
  }

  /** Drops messages in both directions between `a` and `b`. */
  cut(a: number, b: number): void {
    this.#cut.add(`${a}>${b}`);
    this.#cut.add(`${b}>${a}`);
  }

  /** Restores every link. */
  heal(): void {
    this.#cut.clear();
  }

  /** @internal Delivers `msgs` from `from`; returns the ids that were unreachable. */
  deliver(from: number, msgs: Message[]): number[] {
    const unreachable: number[] = [];
    for (const m of msgs) {
      const to = this.#nodes.get(m.to);
      if (!to || to.closed || this.#cut.has(`${from}>${m.to}`)) {
        if (!unreachable.includes(m.to)) unreachable.push(m.to);
        continue;
      }
      to.enqueue(copyMessage(m));
    }
    return unreachable;
  }

  /** @internal */
  remove(id: number, t: LocalTransport): void {
    if (this.#nodes.get(id) === t) this.#nodes.delete(id);
  }
}

class LocalTransport implements Transport {
  readonly #id: number;
  readonly #net: LocalNetwork;
  #handlers: TransportHandlers | undefined;
  #inbox: Message[] = [];
  #scheduled = false;
  closed = false;

  constructor(id: number, net: LocalNetwork) {
    this.#id = id;
    this.#net = net;
  }

  start(handlers: TransportHandlers): void {
    this.#handlers = handlers;
  }

  send(messages: Message[]): void {
    if (this.closed || messages.length === 0) return;
    const unreachable = this.#net.deliver(this.#id, messages);
    for (const id of unreachable) this.#handlers?.unreachable(id);
  }

  setPeer(_id: number, _address: string | undefined): void {
    // In-process peers need no address.
  }

  enqueue(m: Message): void {
    this.#inbox.push(m);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // A microtask, not setTimeout(0): timers are clamped to 1-4 ms, which would
    // dominate every raft round trip in process.
    queueMicrotask(() => {
      this.#scheduled = false;
      const batch = this.#inbox;
      this.#inbox = [];
      if (this.closed) return;
      for (const msg of batch) this.#handlers?.message(msg);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.#inbox = [];
    this.#net.remove(this.#id, this);
    return Promise.resolve();
  }
}
