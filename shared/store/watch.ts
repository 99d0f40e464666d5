/**
 * Watches over the store's changes: a bounded history of recent revisions and
 * pull-based watchers that replay it and then follow new revisions.
 *
 * Pure: no timers or I/O. The caller publishes each revision (wire
 * {@linkcode WatchHub.publish} as the store's `onChanges` listener) and
 * consumers pull with {@linkcode Watcher.poll} or {@linkcode Watcher.next}.
 *
 * Guarantees per watcher: each event holds all the matching changes of ONE
 * revision; revisions are strictly increasing; no matching revision is
 * missed or repeated, across the replay → live boundary too. Memory is
 * bounded: the history by revisions and bytes, each watcher's pending events
 * by revisions and bytes (a watcher that exceeds them is cancelled with a
 * {@linkcode WatcherFellBehindError}). A replaying watcher holds nothing of
 * its own: it reads the shared history through a cursor. Events, change
 * arrays and changes are frozen and shared by every watcher they reach.
 *
 * @module
 */

import { Deque } from "./_deque.ts";
import { CompactedError, WatcherFellBehindError } from "./errors.ts";
import type { Change, Entity } from "./types.ts";
import { isCount, positive } from "./_numbers.ts";

/** Most keys of one watch. */
export const MAX_WATCH_KEYS = 20;

/** What to watch (proto `WatchReq`). */
export interface WatchRequest {
  /**
   * 1..20 keys. Without `prefix`, key `k` matches changes of `k` and of every
   * key below it (`k + "/…"`), and a key ending in "/" matches everything
   * below it. With `prefix`, `k` matches every key that starts with `k`
   * (`""` matches everything).
   */
  keys: readonly string[];
  /** Match keys by raw string prefix instead of by path. */
  prefix?: boolean;
  /**
   * First revision to deliver (inclusive); 0 or absent: only revisions after
   * the current one. May be in the future (the watcher waits).
   */
  startRevision?: number;
}

/** The matching changes of one revision, as a watcher delivers them. Frozen and shared. */
export interface WatchEvent {
  /** The revision all the changes belong to. */
  readonly revision: number;
  /** In the order the store applied them; never empty. */
  readonly changes: readonly Change[];
}

/** Options of the {@linkcode WatchHub} constructor. */
export interface WatchHubOptions {
  /** The store's revision when the hub starts (default 0); the history starts empty after it. */
  revision?: number;
  /** Most revisions kept in the history (default 20,000). */
  maxHistoryRevisions?: number;
  /** Most estimated bytes kept in the history (default 64 MiB); the newest revision is always kept. */
  maxHistoryBytes?: number;
}

/** Options of {@linkcode WatchHub.watch}. */
export interface WatchOptions {
  /** Most undelivered revisions before the watcher is cancelled (default 1,000). */
  maxPendingRevisions?: number;
  /** Most undelivered estimated bytes before the watcher is cancelled (default 8 MiB). */
  maxPendingBytes?: number;
  /**
   * Called synchronously from {@linkcode WatchHub.publish} (or `reset`) when
   * the watcher has a new event that no pending `next()` took, or was
   * cancelled: the push-style consumer's cue to drain with `poll()`. It MUST
   * NOT throw.
   */
  onReady?: (watcher: Watcher) => void;
}

/** An event with its estimated size, as the history and the watchers' queues hold it. */
export interface SizedEvent {
  /** The event, shared by everyone that holds it. */
  readonly event: WatchEvent;
  /** Estimated bytes of its changes (see {@linkcode changeBytes}), counted against the bounds. */
  readonly bytes: number;
}

/** Estimated memory of an entity, in bytes (a rough upper bound, for the bounds). */
function entityBytes(e: Entity): number {
  return 160 + 2 * e.key.length + e.val.byteLength;
}

/**
 * Estimated memory of a change, in bytes: a fixed overhead plus its key and
 * the entities before and after it (values shared between them are counted
 * twice, so this errs high).
 */
export function changeBytes(c: Change): number {
  return 64 + 2 * c.key.length + (c.last ? entityBytes(c.last) : 0) +
    (c.current ? entityBytes(c.current) : 0);
}

/**
 * The watch history and the set of watchers.
 *
 * Invariant: the history holds exactly the revisions
 * `[oldestRevision, revision]`, consecutive.
 */
export class WatchHub {
  #revision: number;
  readonly #history = new Deque<SizedEvent>();
  #historyBytes = 0;
  readonly #maxRevisions: number;
  readonly #maxBytes: number;
  readonly #watchers = new Set<Watcher>();

  /** A hub at `options.revision` with an empty history. */
  constructor(options: WatchHubOptions = {}) {
    const revision = options.revision ?? 0;
    if (!isCount(revision)) {
      throw new RangeError(
        `Cannot create the watch hub as revision must be a non-negative integer: current value is ${revision}`,
      );
    }
    this.#revision = revision;
    this.#maxRevisions = positive("maxHistoryRevisions", options.maxHistoryRevisions, 20_000);
    this.#maxBytes = positive("maxHistoryBytes", options.maxHistoryBytes, 64 * 1024 * 1024);
  }

  /** The last published revision. */
  get revision(): number {
    return this.#revision;
  }

  /** The oldest revision a watch can replay from; `revision + 1` when the history is empty. */
  get oldestRevision(): number {
    return this.#history.at(0)?.event.revision ?? this.#revision + 1;
  }

  /** Revisions in the history. */
  get historyLength(): number {
    return this.#history.length;
  }

  /** Estimated bytes of the history. */
  get historyBytes(): number {
    return this.#historyBytes;
  }

  /** Open watchers. */
  get watcherCount(): number {
    return this.#watchers.size;
  }

  /**
   * Records the changes of `revision` and offers them to every watcher.
   * Takes ownership of `changes` (freezes it) and shares it; pass the store's
   * frozen array. Cancels watchers that exceed their bound or whose replay
   * position left the history.
   * @throws {RangeError} when `revision` is not `this.revision + 1`.
   */
  publish(revision: number, changes: readonly Change[]): void {
    if (revision !== this.#revision + 1) {
      throw new RangeError(
        `Cannot publish revision ${revision} as it must follow the last one: current value is ${this.#revision}`,
      );
    }
    let bytes = 0;
    for (const c of changes) bytes += changeBytes(c);
    const entry: SizedEvent = {
      event: Object.freeze({ revision, changes: Object.freeze(changes) }),
      bytes,
    };
    this.#history.push(entry);
    this.#historyBytes += bytes;
    this.#revision = revision;
    while (
      this.#history.length > this.#maxRevisions ||
      (this.#historyBytes > this.#maxBytes && this.#history.length > 1)
    ) {
      this.#historyBytes -= this.#history.shift()!.bytes;
    }
    const oldest = this.oldestRevision;
    const memo = new Map<string, SizedEvent | null>();
    for (const w of this.#watchers) w._offer(entry, oldest, memo);
  }

  /**
   * Starts a watcher. It first replays the history from
   * `request.startRevision`, then follows new revisions.
   * @throws {CompactedError} when `0 < startRevision < oldestRevision` and
   * `startRevision ≤ revision` (the history no longer holds it).
   * @throws {RangeError} when the request or options are malformed (no keys,
   * more than 20, an empty key without `prefix`, a negative start).
   */
  watch(request: WatchRequest, options: WatchOptions = {}): Watcher {
    const keys = request.keys;
    if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_WATCH_KEYS) {
      throw new RangeError(
        `Cannot watch as keys must hold 1 to ${MAX_WATCH_KEYS} keys: current count is ${keys?.length}`,
      );
    }
    for (const k of keys) {
      if (typeof k !== "string" || (k === "" && !request.prefix)) {
        throw new RangeError(
          `Cannot watch as each key must be a string, empty only with prefix: current value is ${
            JSON.stringify(k)
          }`,
        );
      }
    }
    const start = request.startRevision ?? 0;
    if (!isCount(start)) {
      throw new RangeError(
        `Cannot watch as startRevision must be a non-negative integer: current value is ${start}`,
      );
    }
    let cursor = this.#revision + 1;
    if (start !== 0) {
      if (start <= this.#revision && start < this.oldestRevision) {
        throw new CompactedError(start, this.oldestRevision);
      }
      cursor = start;
    }
    const w = new Watcher(this, request, cursor, {
      maxRevisions: positive("maxPendingRevisions", options.maxPendingRevisions, 1_000),
      maxBytes: positive("maxPendingBytes", options.maxPendingBytes, 8 * 1024 * 1024),
      onReady: options.onReady,
    });
    this.#watchers.add(w);
    return w;
  }

  /**
   * Starts over at `revision` with an empty history, after the store was
   * replaced by a snapshot. Watchers that still needed a revision up to
   * `revision` are cancelled with a {@linkcode CompactedError}; watchers
   * waiting for later revisions carry on.
   * @throws {RangeError} when `revision` is below the current one.
   */
  reset(revision: number): void {
    if (!isCount(revision) || revision < this.#revision) {
      throw new RangeError(
        `Cannot reset the watch hub to revision ${revision} as it must not go back: current value is ${this.#revision}`,
      );
    }
    this.#history.clear();
    this.#historyBytes = 0;
    this.#revision = revision;
    for (const w of this.#watchers) {
      if (w._cursor <= revision) w._fail(new CompactedError(w._cursor, revision + 1));
    }
  }

  /** Closes every watcher (their pending `next()` calls end with `done`). */
  close(): void {
    for (const w of this.#watchers) w.close();
  }

  /**
   * Cancels every watcher with `error` (for example: this node was removed
   * from the cluster), exactly as a watcher that fell behind is cancelled:
   * `error` becomes its {@linkcode Watcher.error}, pending `next()` calls
   * reject with it and `onReady` is called. The hub itself stays usable.
   */
  fail(error: Error): void {
    for (const w of this.#watchers) w._fail(error);
  }

  /** The history entry of `revision`, or `undefined` when it is not held. @internal */
  _entry(revision: number): SizedEvent | undefined {
    return this.#history.at(revision - this.oldestRevision);
  }

  /** @internal */
  _remove(w: Watcher): void {
    this.#watchers.delete(w);
  }
}

interface Limits {
  maxRevisions: number;
  maxBytes: number;
  onReady: ((watcher: Watcher) => void) | undefined;
}

interface Waiter {
  resolve: (r: IteratorResult<WatchEvent, undefined>) => void;
  reject: (e: unknown) => void;
}

/**
 * One watch: a pull-based stream of {@linkcode WatchEvent}s. Consume it with
 * {@linkcode poll} (synchronous), {@linkcode next} or `for await`; stop it
 * with {@linkcode close}. Created by {@linkcode WatchHub.watch}.
 *
 * Invariant: every revision below `_cursor` has been examined, and its event
 * (if it matched) delivered or queued; events are queued only once the
 * cursor has caught up with the hub, so the queue follows the history.
 */
export class Watcher implements AsyncIterableIterator<WatchEvent> {
  /** The revision the watch starts after: the first `WatchResp` of a stream carries it. */
  readonly startAfter: number;
  readonly #hub: WatchHub;
  readonly #keys: readonly string[];
  /** For each key without `prefix`: `k + "/"`, or `k` itself when it ends with "/". */
  readonly #below: readonly string[];
  readonly #prefix: boolean;
  /** Equal for watchers with the same filter, so that one publish selects once per filter. */
  readonly #filter: string;
  readonly #limits: Limits;
  #cursor: number;
  readonly #queue = new Deque<SizedEvent>();
  #queueBytes = 0;
  #lastRevision: number;
  #closed = false;
  #error: Error | undefined;
  #waiters: Waiter[] = [];

  /** @internal Use {@linkcode WatchHub.watch}. */
  constructor(hub: WatchHub, request: WatchRequest, cursor: number, limits: Limits) {
    this.#hub = hub;
    this.#keys = [...request.keys];
    this.#prefix = request.prefix === true;
    this.#below = this.#keys.map((k) => k.endsWith("/") ? k : k + "/");
    this.#filter = JSON.stringify([this.#prefix, [...this.#keys].sort()]);
    this.#limits = limits;
    this.#cursor = cursor;
    this.startAfter = cursor - 1;
    this.#lastRevision = cursor - 1;
  }

  /** The last revision delivered, or {@linkcode startAfter} before the first. */
  get lastRevision(): number {
    return this.#lastRevision;
  }

  /** Whether the watcher ended: closed by the consumer or the hub, or cancelled with {@linkcode error}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Why the watcher was cancelled, if it was. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Events queued for delivery (live events not yet pulled). */
  get pendingRevisions(): number {
    return this.#queue.length;
  }

  /** Estimated bytes of the queued events. */
  get pendingBytes(): number {
    return this.#queueBytes;
  }

  /** @internal The next revision to examine. */
  get _cursor(): number {
    return this.#cursor;
  }

  /** Whether a change of `key` reaches this watcher. */
  matches(key: string): boolean {
    const keys = this.#keys;
    if (this.#prefix) {
      for (let i = 0; i < keys.length; i++) if (key.startsWith(keys[i]!)) return true;
      return false;
    }
    for (let i = 0; i < keys.length; i++) {
      if (key === keys[i] || key.startsWith(this.#below[i]!)) return true;
    }
    return false;
  }

  /**
   * The next event, or `undefined` when there is none yet (or the watcher was
   * closed). Never blocks.
   * @throws {WatcherFellBehindError | CompactedError} when the watcher was cancelled.
   */
  poll(): WatchEvent | undefined {
    if (this.#error) throw this.#error;
    if (this.#closed) return undefined;
    const queued = this.#queue.shift();
    if (queued) {
      this.#queueBytes -= queued.bytes;
      this.#lastRevision = queued.event.revision;
      return queued.event;
    }
    // Replay: read the shared history from the cursor up to the hub's revision.
    while (this.#cursor <= this.#hub.revision) {
      const entry = this.#hub._entry(this.#cursor);
      if (!entry) {
        this._fail(
          new WatcherFellBehindError(
            this.#lastRevision,
            `the history no longer holds revision ${this.#cursor}`,
          ),
        );
        throw this.#error;
      }
      this.#cursor++;
      const s = this.#select(entry);
      if (s) {
        this.#lastRevision = s.event.revision;
        return s.event;
      }
    }
    return undefined;
  }

  /**
   * Resolves with the next event, waiting for one if needed; `{ done: true }`
   * once closed. Rejects with the cancellation error.
   */
  next(): Promise<IteratorResult<WatchEvent, undefined>> {
    let event: WatchEvent | undefined;
    try {
      event = this.poll();
    } catch (e) {
      return Promise.reject(e);
    }
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Closes the watcher; called when an iteration loop over it exits early. */
  return(): Promise<IteratorResult<WatchEvent, undefined>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The watcher itself, so that it can be iterated asynchronously. */
  [Symbol.asyncIterator](): AsyncIterableIterator<WatchEvent> {
    return this;
  }

  /** Stops the watcher and frees its queue; pending `next()` calls resolve with `done`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#end();
    for (const w of this.#waiters.splice(0)) w.resolve({ value: undefined, done: true });
  }

  /** Cancels the watcher with `error`. @internal */
  _fail(error: Error): void {
    if (this.#closed) return;
    this.#error = error;
    this.#end();
    const waiters = this.#waiters.splice(0);
    for (const w of waiters) w.reject(error);
    if (waiters.length === 0) this.#limits.onReady?.(this);
  }

  #end(): void {
    this.#closed = true;
    this.#queue.clear();
    this.#queueBytes = 0;
    this.#hub._remove(this);
  }

  /** Takes a newly published revision. @internal */
  _offer(entry: SizedEvent, oldest: number, memo: Map<string, SizedEvent | null>): void {
    const revision = entry.event.revision;
    if (this.#cursor !== revision) {
      // Replaying (it reads the history itself) or waiting for a later start.
      if (this.#cursor < oldest) {
        this._fail(
          new WatcherFellBehindError(
            this.#lastRevision,
            `the history no longer holds revision ${this.#cursor}`,
          ),
        );
      }
      return;
    }
    this.#cursor++;
    let s = memo.get(this.#filter);
    if (s === undefined) {
      s = this.#select(entry) ?? null;
      memo.set(this.#filter, s);
    }
    if (s === null) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#lastRevision = revision;
      waiter.resolve({ value: s.event, done: false });
      return;
    }
    const { maxRevisions, maxBytes } = this.#limits;
    if (
      this.#queue.length > 0 &&
      (this.#queue.length >= maxRevisions || this.#queueBytes + s.bytes > maxBytes)
    ) {
      this._fail(
        new WatcherFellBehindError(
          this.#lastRevision,
          `its consumer fell behind by more than ${maxRevisions} revisions or ${maxBytes} bytes`,
        ),
      );
      return;
    }
    this.#queue.push(s);
    this.#queueBytes += s.bytes;
    this.#limits.onReady?.(this);
  }

  /** This watcher's part of `entry`: the shared event when every change matches. */
  #select(entry: SizedEvent): SizedEvent | undefined {
    const changes = entry.event.changes;
    if (changes.length === 0) return undefined;
    let picked: Change[] | undefined;
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i]!;
      const hit = this.matches(c.key);
      if (picked) {
        if (hit) picked.push(c);
      } else if (!hit) {
        picked = changes.slice(0, i);
      }
    }
    if (!picked) return entry;
    if (picked.length === 0) return undefined;
    let bytes = 0;
    for (const c of picked) bytes += changeBytes(c);
    return {
      event: Object.freeze({ revision: entry.event.revision, changes: Object.freeze(picked) }),
      bytes,
    };
  }
}
