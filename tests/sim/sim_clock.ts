/**
 * Simulated time for the real raft driver: one {@linkcode SimScheduler} per
 * cluster holds every timer (ticks, proposal and read deadlines, disk writes)
 * in one queue ordered by due time and creation order, and each node process
 * gets a {@linkcode NodeClock} on it. A crash kills every timer of the
 * process, as it would kill the process's real timers.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../../shared/raft/clock.ts";
import { heapPop, heapPush } from "./_time_heap.ts";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  owner: Owner;
  /** Period of an interval timer; 0 for a one-shot. */
  every: number;
  cancelled: boolean;
}

/** What owns timers: a node process; a dead owner's timers never fire. */
export interface Owner {
  dead: boolean;
}

/** The simulated time of a cluster and its timers. */
export class SimScheduler {
  /** Simulated time in ms. */
  now = 0;
  #heap: Timer[] = [];
  #seq = 0;

  /** Schedules `fn` at `at` (not before now) for `owner`. */
  at(at: number, owner: Owner, fn: () => void, every = 0): Timer {
    const t: Timer = {
      at: Math.max(at, this.now),
      seq: this.#seq++,
      fn,
      owner,
      every,
      cancelled: false,
    };
    heapPush(this.#heap, t);
    return t;
  }

  /** Whether a live timer is due at or before now. */
  hasDue(): boolean {
    this.#dropDead();
    return this.#heap.length > 0 && this.#heap[0]!.at <= this.now;
  }

  /**
   * Runs every timer due at or before now, in order (intervals are rescheduled
   * at their next period, never within this call). Returns how many ran.
   */
  runDue(): number {
    const due: Timer[] = [];
    this.#dropDead();
    while (this.#heap.length > 0 && this.#heap[0]!.at <= this.now) {
      due.push(heapPop(this.#heap));
      this.#dropDead();
    }
    let n = 0;
    for (const t of due) {
      if (t.cancelled || t.owner.dead) continue;
      if (t.every > 0) {
        t.at += t.every;
        heapPush(this.#heap, t);
      }
      n++;
      t.fn();
    }
    return n;
  }

  /** Timers waiting (for diagnostics). */
  pending(): number {
    return this.#heap.length;
  }

  #dropDead(): void {
    while (this.#heap.length > 0 && (this.#heap[0]!.cancelled || this.#heap[0]!.owner.dead)) {
      heapPop(this.#heap);
    }
  }
}

/**
 * The clock of one node process on a {@linkcode SimScheduler}. Interval timers
 * start at a phase of their own so that nodes do not tick in lockstep.
 */
export class NodeClock implements Clock {
  readonly #sched: SimScheduler;
  readonly #owner: Owner;
  readonly #phase: number;

  constructor(sched: SimScheduler, owner: Owner, phase: number) {
    this.#sched = sched;
    this.#owner = owner;
    this.#phase = phase;
  }

  now(): number {
    return this.#sched.now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.#sched.at(this.#sched.now + Math.max(ms, 0), this.#owner, fn);
  }

  clearTimeout(handle: TimerHandle): void {
    if (handle) (handle as Timer).cancelled = true;
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const every = Math.max(ms, 1);
    return this.#sched.at(this.#sched.now + this.#phase % every + every, this.#owner, fn, every);
  }

  clearInterval(handle: TimerHandle): void {
    this.clearTimeout(handle);
  }
}

/**
 * Runs every pending promise continuation: resolves after a macrotask, which
 * starts only once the microtask queue is empty. Only the simulation's own
 * code and the driver's awaits run in between, so the order is the same on
 * every run.
 */
export class Drainer {
  readonly #ch = new MessageChannel();
  #resolve: (() => void) | undefined;

  constructor() {
    this.#ch.port1.onmessage = () => {
      const r = this.#resolve;
      this.#resolve = undefined;
      r?.();
    };
  }

  /** Resolves once every microtask queued before (and by those) has run. */
  drain(): Promise<void> {
    return new Promise((r) => {
      this.#resolve = r;
      this.#ch.port2.postMessage(0);
    });
  }

  /** Releases the channel. */
  close(): void {
    this.#ch.port1.close();
    this.#ch.port2.close();
  }
}
