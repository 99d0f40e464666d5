/**
 * The one watch loop behind `DbClient.watch` and `MemoryDb.watch`: it opens
 * a stream (gRPC, or a watcher of the in-memory hub), delivers each revision
 * once and in order, and when a stream ends opens the next one from the
 * revision after the last delivered, until it is closed or the transport
 * says the end is terminal.
 *
 * Handlers never run inside a transport's callbacks unguarded: an exception
 * in one ends the watch with a {@linkcode WatchHandlerError}.
 *
 * @module
 */

import type { WatchEvent, WatchHandlers, WatchRequest } from "./api.ts";
import type { Watch } from "./api.ts";
import { WatchHandlerError } from "./errors.ts";

/** Where a stream delivers. Calls after the stream was replaced or the watch closed are ignored. */
export interface StreamSink {
  /**
   * One message of the stream: the first carries no changes and the revision
   * the stream starts after; later ones the changes of one revision.
   */
  message(event: WatchEvent): void;
  /** The stream ended, with the error that ended it (`undefined`: ended without a status). */
  end(error?: Error): void;
}

/** A stream as the loop sees it. */
export interface Stream {
  /** Stops the stream; its sink may still get an `end`, which is ignored. */
  cancel(): void;
}

/** What to do after a stream ended. */
export type StreamEnd =
  | { readonly retry: true; readonly error: Error; readonly now?: boolean }
  | { readonly retry: false; readonly error: Error };

/** The transport under a {@linkcode resumingWatch}. */
export interface StreamSource {
  /** Opens a stream from `startRevision` (0: after the current revision). */
  open(startRevision: number, sink: StreamSink): Stream;
  /**
   * Classifies the end of a stream: retry (reported to `onRetry`; `now` skips
   * the backoff, e.g. to try another node) or stop for good (`onError`).
   * `progressed` says whether the stream delivered any message.
   */
  classify(error: Error | undefined, progressed: boolean): StreamEnd;
}

/** Backoff of {@linkcode resumingWatch}. */
export interface ResumeOptions {
  /** First delay before reopening after a failure, in ms; doubled each time (default 25). */
  backoffMs?: number;
  /** Longest delay, in ms (default 1,000). */
  maxBackoffMs?: number;
  /** Called once the watch ended (closed or failed), to forget it. */
  onEnd?: () => void;
}

/**
 * Checks a watch's start revision as both clients do, before anything is sent.
 * @throws {RangeError} when it is not a non-negative integer.
 */
export function checkStartRevision(start: unknown): number {
  const n = start ?? 0;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(
      `Cannot watch as start_revision must be a non-negative integer: current value is ${start}`,
    );
  }
  return n;
}

/**
 * Runs a watch of `request` over `source` (see the module doc).
 * @throws {RangeError} when `request.startRevision` is not a non-negative integer.
 */
export function resumingWatch(
  request: WatchRequest,
  handlers: WatchHandlers,
  source: StreamSource,
  options: ResumeOptions = {},
): Watch {
  const start = checkStartRevision(request.startRevision);
  const base = options.backoffMs ?? 25;
  const max = options.maxBackoffMs ?? 1_000;
  /** The last revision delivered or started after; -1 before the first message of a watch from now. */
  let last = start ? start - 1 : -1;
  let stream: Stream | undefined;
  let generation = 0;
  let failures = 0;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = Promise.withResolvers<void>();
  done.promise.catch(() => {}); // awaiting `done` is optional

  const finish = (error?: Error) => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    stream?.cancel();
    stream = undefined;
    options.onEnd?.();
    if (error) {
      done.reject(error);
      try {
        handlers.onError?.(error);
      } catch { /* nobody is left to tell */ }
    } else {
      done.resolve();
    }
  };

  const open = () => {
    if (closed) return;
    const mine = ++generation;
    let progressed = false;
    const current = () => !closed && mine === generation;
    stream = source.open(last >= 0 ? last + 1 : 0, {
      message(ev) {
        if (!current()) return;
        progressed = true;
        if (ev.revision <= last) return; // a revision already delivered
        last = ev.revision;
        if (ev.changes.length === 0) return;
        try {
          handlers.onChanges(ev);
        } catch (e) {
          finish(new WatchHandlerError("onChanges", ev.revision, e));
        }
      },
      end(error) {
        if (!current()) return;
        generation++;
        stream = undefined;
        const what = source.classify(error, progressed);
        if (!what.retry) return finish(what.error);
        try {
          handlers.onRetry?.(what.error);
        } catch { /* informational only */ }
        if (closed) return; // onRetry closed it
        failures = progressed ? 0 : failures + 1;
        if (what.now) return open();
        const wait = Math.min(max, base * 2 ** Math.min(failures, 10));
        // Jitter: half to all of the wait, so that watchers of one node do not return in step.
        timer = setTimeout(open, wait / 2 + Math.random() * (wait / 2));
      },
    });
  };
  open();

  return {
    get revision() {
      return Math.max(last, 0);
    },
    close: () => finish(),
    done: done.promise,
  };
}
