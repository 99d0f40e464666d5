/**
 * A simulated network: messages wait in one queue ordered by delivery time
 * and can be dropped, duplicated, delayed (and so reordered) or cut by
 * partitions, symmetric or one-way. Everything is driven by a seeded PRNG.
 *
 * @module
 */

import type { SeededPrng } from "../../shared/prng.ts";
import { copyMessage } from "../../shared/raft/transport.ts";
import { type Message, MessageType } from "../../shared/raft/types.ts";
import { heapPop, heapPush } from "./_time_heap.ts";

/** Fault rates of a {@linkcode SimNetwork}. */
export interface NetworkOptions {
  /** Minimum one-way delay in ms. */
  minDelay: number;
  /** Maximum one-way delay in ms; a spread reorders messages. */
  maxDelay: number;
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  dupRate: number;
  /** Upper bound on messages in flight; beyond it new ones are dropped (a full socket buffer). */
  maxInFlight: number;
}

/** A network that loses nothing and delivers after 1 ms. */
export const PERFECT_NETWORK: NetworkOptions = {
  minDelay: 1,
  maxDelay: 1,
  dropRate: 0,
  dupRate: 0,
  maxInFlight: 1_000_000,
};

interface Packet {
  at: number;
  seq: number;
  msg: Message;
}

/** The simulated network between node ids. */
export class SimNetwork {
  opts: NetworkOptions;
  readonly #prng: SeededPrng;
  #heap: Packet[] = [];
  #seq = 0;
  /** Blocked directed links, as "from>to". */
  readonly #blocked = new Set<string>();
  /** Scripted scenarios drop the messages for which this returns true. */
  filter: ((m: Message) => boolean) | undefined;
  /** Counters for the run summary. */
  readonly stats = {
    sent: 0,
    dropped: 0,
    duplicated: 0,
    delivered: 0,
    replayed: 0,
    /** Heartbeats queued to arrive before an append sent earlier on the same link. */
    overtaken: 0,
  };
  /** The last appends delivered, oldest first, for {@linkcode replayStale}. */
  readonly #recentAppends: Message[] = [];
  /** A steered race (see {@linkcode raceHeartbeats}), while it lasts. */
  #race: { from: number; until: number; extra: number } | undefined;

  constructor(prng: SeededPrng, opts: NetworkOptions) {
    this.#prng = prng;
    this.opts = opts;
  }

  /** Queues `m` sent at time `now`. */
  send(m: Message, now: number): void {
    this.stats.sent++;
    if (
      this.isBlocked(m.from, m.to) || this.filter?.(m) || this.#prng.chance(this.opts.dropRate)
    ) {
      this.stats.dropped++;
      return;
    }
    this.#enqueue(m, now);
    if (this.#prng.chance(this.opts.dupRate)) {
      this.stats.duplicated++;
      this.#enqueue(m, now);
    }
  }

  #enqueue(m: Message, now: number): void {
    if (this.#heap.length >= this.opts.maxInFlight) {
      this.stats.dropped++;
      return;
    }
    const spread = this.opts.maxDelay - this.opts.minDelay;
    let at = now + this.opts.minDelay + (spread > 0 ? this.#prng.intn(spread + 1) : 0);
    const race = this.#race;
    if (race && race.from === m.from && now < race.until) {
      if (m.type === MessageType.App) at += race.extra;
      if (m.type === MessageType.Heartbeat) {
        at = now + this.opts.minDelay;
        if (
          this.#heap.some((p) =>
            p.msg.type === MessageType.App && p.msg.to === m.to && p.at > at &&
            p.msg.from === m.from
          )
        ) {
          this.stats.overtaken++;
        }
      }
    }
    heapPush(this.#heap, { at, seq: this.#seq++, msg: copyMessage(m) });
  }

  /**
   * Until `until`, appends from `from` take `extra` ms more and its
   * heartbeats the least delay: heartbeats (with their commit index) overtake
   * appends still in flight, and the answers to them make the leader resend
   * appends that race the late originals.
   */
  raceHeartbeats(from: number, until: number, extra: number): void {
    this.#race = { from, until, extra };
  }

  /**
   * Removes and returns the messages due at or before `now`, in delivery order.
   * A link blocked after a message was sent still drops it on arrival.
   */
  due(now: number): Message[] {
    const out: Message[] = [];
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const p = heapPop(this.#heap);
      if (this.isBlocked(p.msg.from, p.msg.to)) {
        this.stats.dropped++;
        continue;
      }
      this.stats.delivered++;
      out.push(p.msg);
      if (p.msg.type === MessageType.App) {
        this.#recentAppends.push(p.msg);
        if (this.#recentAppends.length > 64) this.#recentAppends.shift();
      }
    }
    return out;
  }

  /**
   * Delivers up to `count` of the appends delivered recently once more, each
   * after a fresh delay: stale and duplicated appends, as a slow network or a
   * retransmitting transport produces them (steered after a leader change,
   * when they land on a log a new leader truncated).
   */
  replayStale(count: number, now: number): number {
    let n = 0;
    for (let i = 0; i < count && this.#recentAppends.length > 0; i++) {
      const m = this.#recentAppends[this.#prng.intn(this.#recentAppends.length)]!;
      if (this.isBlocked(m.from, m.to)) continue;
      this.#enqueue(m, now);
      n++;
    }
    this.stats.replayed += n;
    return n;
  }

  /** Number of messages in flight. */
  inFlight(): number {
    return this.#heap.length;
  }

  isBlocked(from: number, to: number): boolean {
    return this.#blocked.size > 0 && this.#blocked.has(`${from}>${to}`);
  }

  /** Blocks `from` → `to` only. */
  blockOneWay(from: number, to: number): void {
    this.#blocked.add(`${from}>${to}`);
  }

  /** Splits `ids` into groups that cannot reach each other. */
  partition(groups: number[][]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.blockOneWay(x, y);
      }
    }
  }

  /** Cuts `id` off from `others` in both directions. */
  isolate(id: number, others: number[]): void {
    for (const o of others) {
      if (o === id) continue;
      this.blockOneWay(id, o);
      this.blockOneWay(o, id);
    }
  }

  /** Restores every link. */
  heal(): void {
    this.#blocked.clear();
  }

  /** A human-readable list of blocked links. */
  describeBlocked(): string {
    return [...this.#blocked].sort().join(" ");
  }
}
