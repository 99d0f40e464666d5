/**
 * Consistent list-then-watch over any client's `range` and `watch`: one
 * implementation behind `DbClient.listAndWatch`/`list` and
 * `MemoryDb.listAndWatch`/`list`.
 *
 * Why it is built this way. Range pages are read each at its own revision
 * (r1 ≤ r2 ≤ … ≤ rn), so a naive listing mixes states. To turn the pages
 * into the state of one revision S = max(ri), every change made in
 * (r1, S] is needed: page i gets those after ri within its own key range
 * (seek_i, nextSeek_i]. A watch of the prefix cannot tell when it has
 * delivered every change up to S (it only speaks when something under the
 * prefix changes), so during the listing a *fence* watch of everything
 * (`""`, prefix) runs from r1 + 1: every revision changes some key, so it
 * delivers every revision and its progress is exact. Once it has passed S
 * the snapshot is built and delivered, the fence's later changes under the
 * prefix follow, and the fence is swapped, synchronously, for a watch of the
 * prefix alone from the revision after the fence's last. That watch resumes
 * by itself across reconnects and leader changes; when its history is
 * compacted the whole listing starts again and delivers a snapshot flagged
 * `reset`.
 *
 * @module
 */

import type {
  Change,
  Entity,
  ListOptions,
  ListResult,
  ListWatch,
  ListWatchHandlers,
  RangeOptions,
  RangePage,
  Snapshot,
  Watch,
  WatchEvent,
  WatchHandlers,
  WatchRequest,
} from "./api.ts";
import { DbError, isCompacted, type StatusName, WatchHandlerError } from "./errors.ts";

/** What list-then-watch needs of a client. */
export interface ListWatchSource {
  /** One page of a prefix (see `KvClient.range`). */
  range(prefix: string, options: RangeOptions): Promise<RangePage>;
  /** A self-resuming watch (see `KvClient.watch`). */
  watch(request: WatchRequest, handlers: WatchHandlers): Watch;
}

/** Failures of a listing that listing again can recover from. */
const TRANSIENT: ReadonlySet<StatusName> = new Set<StatusName>([
  "UNAVAILABLE",
  "DEADLINE_EXCEEDED",
  "OUT_OF_RANGE",
  "RESOURCE_EXHAUSTED",
  "INTERNAL",
  "UNKNOWN",
]);

/** Default wait for the fence watch to reach the listing's revision, in ms. */
const CATCH_UP_MS = 10_000;
/** First delay before listing again after a transient failure; doubles up to 1 s. */
const BACKOFF_MS = 50;
/** Attempts of {@linkcode list} when the fence's history was compacted under it. */
const LIST_ATTEMPTS = 3;

/** A listing reconciled to one revision, with the fence still running. */
interface Listed {
  snapshot: Omit<Snapshot, "reset">;
  /** Changes under the prefix after the snapshot, in order (the fence appends to it). */
  buffer: WatchEvent[];
  fence: Fence;
}

/** The fence watch and what it gathered. */
interface Fence {
  watch: Watch;
  /** The last revision it delivered (every revision, as it watches everything). */
  progress(): number;
}

function cancelled(prefix: string): DbError {
  return new DbError("CANCELLED", `Cannot list "${prefix}" as the listing was closed`);
}

function checkPageSize(pageSize: number | undefined): number {
  const n = pageSize ?? 100;
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw new RangeError(
      `Cannot list as pageSize must be an integer in [1, 100]: current value is ${pageSize}`,
    );
  }
  return n;
}

/** Whether `key` is in the key range of a page: (lo, hi], `undefined` bounds open. */
function inPage(key: string, lo: string | undefined, hi: string | undefined): boolean {
  return (lo === undefined || key > lo) && (hi === undefined || key <= hi);
}

function applyChange(state: Map<string, Entity>, ch: Change): void {
  if (ch.op === "SET" && ch.current) state.set(ch.key, ch.current);
  else state.delete(ch.key);
}

/**
 * Lists `prefix` page by page with a fence watch from the first page's
 * revision, waits for the fence to pass the last page's revision, and
 * reconciles the pages to that one revision.
 */
async function listOnce(
  src: ListWatchSource,
  prefix: string,
  options: ListOptions,
  onRetry: (e: Error) => void,
): Promise<Listed> {
  const limit = checkPageSize(options.pageSize);
  const signal = options.signal;
  const read = { limit, timeoutMs: options.timeoutMs, signal };
  const map = options.mapEntity;
  // Mapped as each page arrives, so that only what the caller keeps is held while listing.
  const mapped = (p: RangePage): RangePage => map ? { ...p, entities: p.entities.map(map) } : p;
  const first = mapped(await src.range(prefix, read));
  const r1 = first.revision;
  const buffer: WatchEvent[] = [];
  let progress = r1;
  let fenceError: Error | undefined;
  let wake: (() => void) | undefined;
  const watch = src.watch({ keys: [""], prefix: true, startRevision: r1 + 1 }, {
    onChanges(ev) {
      progress = ev.revision;
      const mine = ev.changes.filter((c) => c.key.startsWith(prefix));
      if (mine.length > 0) buffer.push({ revision: ev.revision, changes: mine });
      wake?.();
    },
    onRetry,
    onError(e) {
      fenceError = e;
      wake?.();
    },
  });
  const fence: Fence = { watch, progress: () => progress };
  try {
    const pages = [first];
    for (let p = first; p.hasMore;) {
      p = mapped(await src.range(prefix, { ...read, seek: p.nextSeekKey }));
      if (p.revision < r1) {
        // Only a stale serializable read could do this: the changes it misses are not buffered.
        throw new DbError(
          "UNAVAILABLE",
          `Cannot reconcile the listing of "${prefix}" as a page was read at revision ${p.revision}, before the first page's ${r1}`,
          { retryable: true },
        );
      }
      pages.push(p);
    }
    const target = Math.max(...pages.map((p) => p.revision));
    const timeoutMs = options.timeoutMs ?? CATCH_UP_MS;
    const deadline = Date.now() + timeoutMs;
    const onAbort = () => wake?.();
    signal?.addEventListener("abort", onAbort);
    while (progress < target && !fenceError) {
      if (signal?.aborted) throw cancelled(prefix);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new DbError(
          "DEADLINE_EXCEEDED",
          `Cannot reconcile the listing of "${prefix}" as the watch did not reach revision ${target} within ${timeoutMs} ms: current revision is ${progress}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    signal?.removeEventListener("abort", onAbort);
    if (fenceError) throw fenceError;
    const state = new Map<string, Entity>();
    let lo: string | undefined;
    for (const page of pages) {
      const hi = page.hasMore ? page.nextSeekKey : undefined;
      for (const e of page.entities) state.set(e.key, e);
      for (const ev of buffer) {
        if (ev.revision <= page.revision || ev.revision > target) continue;
        for (const ch of ev.changes) if (inPage(ch.key, lo, hi)) applyChange(state, ch);
      }
      lo = hi;
    }
    const entities = [...state.values()].sort((
      a,
      b,
    ) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    // Drop what the snapshot holds; the fence keeps appending to the same array.
    let held = 0;
    while (held < buffer.length && buffer[held]!.revision <= target) held++;
    buffer.splice(0, held);
    return { snapshot: { entities, revision: target }, buffer, fence };
  } catch (e) {
    watch.close();
    throw e;
  }
}

/**
 * Every entity under `prefix` as the state of one revision: the pages
 * reconciled by {@linkcode listAndWatch}'s method, without the watch after.
 * Listed again (at most 3 times) when the fence's history is compacted.
 */
export async function list(
  src: ListWatchSource,
  prefix: string,
  options: ListOptions = {},
): Promise<ListResult> {
  for (let attempt = 1;; attempt++) {
    let listed: Listed;
    try {
      listed = await listOnce(src, prefix, options, () => {});
    } catch (e) {
      if (isCompacted(e) && attempt < LIST_ATTEMPTS) continue;
      throw e;
    }
    listed.fence.watch.close();
    return { entities: listed.snapshot.entities, revision: listed.snapshot.revision };
  }
}

/**
 * Consistent list-then-watch of `prefix` (see the module doc and
 * `KvClient.listAndWatch`). Transient failures (a page read or a watch that
 * failed, a compacted history) are reported to `onRetry` and recovered from
 * by listing again, with a backoff from 50 ms up to 1 s; invalid input, a
 * handler that threw, or a closed client end it (`onError`, `done` rejects).
 * @throws {RangeError} when `options.pageSize` is not an integer in [1, 100].
 */
export function listAndWatch(
  src: ListWatchSource,
  prefix: string,
  handlers: ListWatchHandlers,
  options: ListOptions = {},
): ListWatch {
  checkPageSize(options.pageSize);
  let closed = false;
  let ended = false;
  let inner: Watch | undefined;
  let snapshotRevision = 0;
  let snapshots = 0;
  let sleepTimer: ReturnType<typeof setTimeout> | undefined;
  let wakeSleep: (() => void) | undefined;
  // Cancels the listing in progress (its page reads and its wait for the fence) on close.
  const stop = new AbortController();
  const listing = { ...options, signal: stop.signal };
  const done = Promise.withResolvers<void>();
  const ready = Promise.withResolvers<number>();
  done.promise.catch(() => {});
  ready.promise.catch(() => {});

  const finish = (error?: Error) => {
    if (ended) return;
    ended = true;
    closed = true;
    stop.abort();
    inner?.close();
    clearTimeout(sleepTimer);
    wakeSleep?.();
    if (error) {
      ready.reject(error);
      done.reject(error);
      try {
        handlers.onError?.(error);
      } catch { /* a throwing onError has nobody left to tell */ }
    } else {
      ready.reject(new DbError("CANCELLED", "Cannot list as the watch was closed first"));
      done.resolve();
    }
  };
  const retry = (e: Error) => {
    if (closed) return;
    try {
      handlers.onRetry?.(e);
    } catch { /* informational only */ }
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wakeSleep = resolve;
      sleepTimer = setTimeout(resolve, ms);
    });
  const terminal = (e: unknown): boolean => !(e instanceof DbError && TRANSIENT.has(e.code));

  /** Runs the prefix watch from `from`; resolves when it ends (error or close). */
  const follow = (from: number) =>
    new Promise<Error | undefined>((resolve) => {
      const w = src.watch({ keys: [prefix], prefix: true, startRevision: from }, {
        // A throw ends this watch with a WatchHandlerError, which ends the listing.
        onChanges(ev) {
          if (!closed) handlers.onChanges(ev);
        },
        onRetry: retry,
        onError: (e) => resolve(e),
      });
      inner = w;
      w.done.then(() => resolve(undefined), (e) => resolve(e));
    });

  /**
   * Delivers a listing (snapshot, then the changes buffered after it) and
   * swaps the fence for nothing: answers the revision to follow from, or
   * `undefined` when a handler threw (the listing is finished).
   */
  const deliver = (listed: Listed): number | undefined => {
    // From here to the swap everything is synchronous: no fence event can slip between.
    const { snapshot, buffer, fence } = listed;
    inner = fence.watch;
    let at = snapshot.revision;
    try {
      handlers.onSnapshot({ ...snapshot, reset: snapshots > 0 });
      snapshots++;
      snapshotRevision = snapshot.revision;
      for (const ev of buffer.splice(0)) {
        at = ev.revision;
        handlers.onChanges(ev);
      }
    } catch (e) {
      finish(new WatchHandlerError(at === snapshot.revision ? "onSnapshot" : "onChanges", at, e));
      return undefined;
    }
    if (snapshots === 1) ready.resolve(snapshot.revision);
    const from = fence.progress() + 1;
    fence.watch.close();
    snapshotRevision = from - 1;
    return from;
  };

  const run = async () => {
    let backoff = BACKOFF_MS;
    while (!closed) {
      let listed: Listed | undefined;
      try {
        listed = await listOnce(src, prefix, listing, retry);
      } catch (e) {
        if (closed) return;
        if (terminal(e)) return finish(e as Error);
        retry(e as Error);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1_000);
        continue;
      }
      if (closed) {
        listed.fence.watch.close();
        return;
      }
      // Delivered by a function of its own, so that the listing (every entity with its value)
      // is not reachable from this frame while the watch runs: a cache of a large prefix would
      // otherwise hold the whole first listing for as long as it watches.
      const from = deliver(listed);
      listed = undefined;
      if (from === undefined) return;
      backoff = BACKOFF_MS;
      const err = await follow(from);
      if (closed) return;
      if (err === undefined) return finish(); // closed underneath (client closed)
      if (isCompacted(err)) {
        retry(err);
        continue;
      }
      return finish(err);
    }
  };
  void run().catch((e) => finish(e instanceof Error ? e : new Error(String(e))));

  if (options.signal?.aborted) finish();
  options.signal?.addEventListener("abort", () => finish(), { once: true });
  return {
    get revision() {
      return inner && snapshots > 0 ? Math.max(inner.revision, snapshotRevision) : 0;
    },
    close: () => finish(),
    done: done.promise,
    ready: ready.promise,
  };
}
