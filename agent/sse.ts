/**
 * The Server-Sent Events transport of change push: a {@linkcode PushSink}
 * that writes to a bounded `ReadableStream`, the body of the response.
 *
 * Events (one blank line after each):
 *
 * - element changed: `data: {element JSON}` (no event type, so that
 *   `EventSource.onmessage` gets it);
 * - no version any more: `event: missing` + `data: {"key","revision"}`;
 * - initial state sent: `event: ready` + `data: {"revision","full"}`;
 * - the agent ends the stream: `event: close` + `data: {"code","message"}`;
 * - keep-alive: a comment line `: heartbeat {revision}`.
 *
 * The last event of each revision carries `id: {revision}` (as does
 * `ready`), so a client that reconnects with `Last-Event-ID` resumes after
 * the last revision it received whole. Frames are encoded once per push and
 * shared by every stream. With a {@linkcode SpreadWrites} (the watch route
 * gives one to all its streams) a large push is enqueued a turn's worth at
 * a time, so that the runtime writes the first streams' bytes while the
 * next are enqueued; a stream's events and its close keep their order.
 *
 * A stream whose unsent bytes exceed its bound (the client reads too slowly)
 * gets a `close` event with code `RESOURCE_EXHAUSTED` and ends: memory stays
 * bounded whatever the client does. The initial state (what is queued
 * before `ready`) does not count against the bound while it waits: it
 * always goes out whole, however large (at most 100 elements), since a
 * client cut off before its first `id:` would reconnect to the same state
 * forever.
 *
 * @module
 */

import type { SpreadWrites } from "./spread_writes.ts";
import type { PushItem, PushSink } from "./subscriptions.ts";

const encoder = new TextEncoder();

/** Frames of an item, without and with the `id:` line, shared by every stream of one push. */
const frames = new WeakMap<PushItem, { plain?: Uint8Array; withId?: Uint8Array }>();

function frameOf(item: PushItem, revision: number, withId: boolean): Uint8Array {
  let f = frames.get(item);
  if (!f) frames.set(item, f = {});
  const have = withId ? f.withId : f.plain;
  if (have) return have;
  const id = withId ? `id: ${revision}\n` : "";
  const text = item.version
    ? `${id}data: ${item.json}\n\n`
    : `${id}event: missing\ndata: ${JSON.stringify({ key: item.key, revision })}\n\n`;
  const bytes = encoder.encode(text);
  if (withId) f.withId = bytes;
  else f.plain = bytes;
  return bytes;
}

/** Options of {@linkcode SseSink}. */
export interface SseOptions {
  /** Most bytes queued for a client that reads slowly before it is cut off (default 4 MiB). */
  maxQueuedBytes?: number;
  /** The client's reconnection delay sent as `retry:` (default 1,000 ms). */
  retryMs?: number;
  /** Called once when the stream ends (client gone, cut off, closed). */
  onEnd?(): void;
  /** Spreads the writes of a large push over turns (shared by the streams); none: at once. */
  spread?: SpreadWrites;
}

/** A push sink writing an SSE stream (see the module doc). */
export class SseSink implements PushSink {
  /** The response body. */
  readonly body: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  readonly #maxQueued: number;
  readonly #onEnd: (() => void) | undefined;
  readonly #spread: SpreadWrites | undefined;
  #ended = false;
  /** Whether its close waits its turn behind writes. */
  #closing = false;
  /** Whether `ready` was sent: bytes queued before it are the initial state. */
  #readySent = false;
  /** Bytes of the initial state (the `retry:` line included), and of everything queued. */
  #initialBytes = 0;
  #enqueuedBytes = 0;

  /** A sink whose stream starts with the `retry:` line. */
  constructor(options: SseOptions = {}) {
    this.#maxQueued = options.maxQueuedBytes ?? 4 * 1024 * 1024;
    this.#onEnd = options.onEnd;
    this.#spread = options.spread;
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.#controller = c;
          const retry = encoder.encode(`retry: ${options.retryMs ?? 1_000}\n\n`);
          this.#initialBytes = this.#enqueuedBytes = retry.length;
          c.enqueue(retry);
        },
        cancel: () => this.#end(),
      },
      // desiredSize = bound − queued bytes: it goes negative for a client that reads too slowly.
      new ByteLengthQueuingStrategy({ highWaterMark: this.#maxQueued }),
    );
  }

  /** Whether the stream has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  push(revision: number, items: readonly PushItem[]): void {
    for (let i = 0; i < items.length; i++) {
      if (!this.#write(frameOf(items[i]!, revision, i === items.length - 1))) return;
    }
  }

  ready(revision: number, full: boolean): void {
    this.#readySent = true;
    this.#write(
      encoder.encode(
        `id: ${revision}\nevent: ready\ndata: ${JSON.stringify({ revision, full })}\n\n`,
      ),
    );
  }

  heartbeat(revision: number): void {
    this.#write(encoder.encode(`: heartbeat ${revision}\n\n`));
  }

  close(code: string, message: string): void {
    if (this.#ended || this.#closing) return;
    const spread = this.#spread;
    if (spread && !spread.mayWriteNow()) {
      this.#closing = true;
      spread.later(() => this.#close(code, message));
      return;
    }
    this.#close(code, message);
  }

  #close(code: string, message: string): void {
    if (this.#ended) return;
    try {
      this.#controller.enqueue(
        encoder.encode(`event: close\ndata: ${JSON.stringify({ code, message })}\n\n`),
      );
      this.#controller.close();
    } catch { /* the client is gone */ }
    this.#end();
  }

  /** Enqueues `bytes` now or in its turn; false when the stream has ended. */
  #write(bytes: Uint8Array): boolean {
    if (this.#ended || this.#closing) return false;
    // Part of the initial state or not is decided now: a deferred write may be enqueued after
    // `ready` and must still not count against the bound.
    const initial = !this.#readySent;
    const spread = this.#spread;
    if (spread && !spread.mayWriteNow()) {
      spread.later(() => void this.#enqueue(bytes, initial));
      return true;
    }
    return this.#enqueue(bytes, initial);
  }

  /**
   * Enqueues `bytes` (of the initial state when `initial`); cuts the stream
   * off when the client is too far behind.
   */
  #enqueue(bytes: Uint8Array, initial: boolean): boolean {
    if (this.#ended) return false;
    try {
      this.#controller.enqueue(bytes);
    } catch {
      this.#end();
      return false;
    }
    this.#enqueuedBytes += bytes.length;
    if (initial) {
      this.#initialBytes += bytes.length;
      return true;
    }
    // The queue is read in order: what has left it went from the initial state first.
    const queued = this.#maxQueued - (this.#controller.desiredSize ?? 0);
    const initialLeft = Math.max(0, this.#initialBytes - (this.#enqueuedBytes - queued));
    if (queued - initialLeft > this.#maxQueued) {
      this.close(
        "RESOURCE_EXHAUSTED",
        `Cannot go on pushing as the client reads too slowly: more than ${this.#maxQueued} bytes are waiting; reconnect with Last-Event-ID to resume`,
      );
      return false;
    }
    return true;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd?.();
  }
}
