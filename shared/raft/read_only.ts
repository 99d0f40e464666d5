/**
 * ReadOnly tracks ReadIndex requests waiting for a heartbeat round to confirm
 * that the leader is still the leader.
 *
 * @module
 */

import type { Message } from "./types.ts";

/** A read waiting for a quorum of heartbeat acknowledgements. */
export interface ReadIndexStatus {
  /** The commit index when the read arrived. */
  index: number;
  /** The request, to answer locally (from = self) or to the follower that forwarded it. */
  req: Message;
  acks: Map<number, boolean>;
}

/**
 * Pending reads in arrival order. An acknowledgement of a later request also
 * confirms every earlier one, since it proves leadership after they arrived.
 */
export class ReadOnly {
  readonly #pending = new Map<string, ReadIndexStatus>();
  #queue: string[] = [];

  /** Registers a read of `index` for `req` (keyed by `req.context`); duplicates are ignored. */
  addRequest(index: number, req: Message): void {
    if (this.#pending.has(req.context)) return;
    this.#pending.set(req.context, { index, req, acks: new Map() });
    this.#queue.push(req.context);
  }

  /** Records that `id` acknowledged the heartbeat carrying `context`; returns the acks so far. */
  recvAck(id: number, context: string): Map<number, boolean> | undefined {
    const rs = this.#pending.get(context);
    if (!rs) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /** Removes and returns every request up to and including `context`. */
  advance(context: string): ReadIndexStatus[] {
    const at = this.#queue.indexOf(context);
    if (at < 0) return [];
    const done = this.#queue.slice(0, at + 1);
    this.#queue = this.#queue.slice(at + 1);
    return done.map((ctx) => {
      const rs = this.#pending.get(ctx)!;
      this.#pending.delete(ctx);
      return rs;
    });
  }

  /** The context of the newest pending request, to piggyback on heartbeats. */
  lastPendingContext(): string {
    return this.#queue.length > 0 ? this.#queue[this.#queue.length - 1]! : "";
  }

  size(): number {
    return this.#queue.length;
  }
}
