/**
 * For tests and benchmarks: a Server-Sent Events parser over a response
 * body, following the WHATWG rules (an `id:` line sets the last event id
 * even on an event with no data; a blank line dispatches).
 *
 * @module
 */

/** One dispatched event. */
export interface SseEvent {
  /** `event:` (default "message"). */
  event: string;
  /** The data lines joined with "\n". */
  data: string;
  /** The last event id after this event. */
  lastEventId: string;
}

/** Reads events from an SSE body. */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  #queue: SseEvent[] = [];
  /** The last event id seen (`Last-Event-ID` for a reconnect). */
  lastEventId = "";
  /** Comment lines seen (heartbeats). */
  comments = 0;
  #done = false;
  #pending: Promise<ReadableStreamReadResult<string>> | undefined;

  /** A reader of `body`. */
  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** Whether the stream ended. */
  get done(): boolean {
    return this.#done && this.#queue.length === 0;
  }

  /**
   * The next event, or `undefined` when the stream ended or `timeoutMs`
   * passed first.
   */
  async next(timeoutMs = 10_000): Promise<SseEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      if (this.#done) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      // A read that loses the race stays pending and is taken up by the next call.
      this.#pending ??= this.#reader.read();
      const r = await Promise.race([
        this.#pending,
        new Promise<"timeout">((res) => (timer = setTimeout(() => res("timeout"), left))),
      ]);
      clearTimeout(timer);
      if (r === "timeout") return undefined;
      this.#pending = undefined;
      if (r.done) {
        this.#done = true;
        continue;
      }
      this.#feed(r.value);
    }
    return this.#queue.shift();
  }

  #event = { event: "", data: [] as string[] };

  #feed(text: string): void {
    this.#buffer += text;
    let nl: number;
    while ((nl = this.#buffer.indexOf("\n")) >= 0) {
      const line = this.#buffer.slice(0, nl).replace(/\r$/, "");
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line === "") {
        if (this.#event.data.length > 0) {
          this.#queue.push({
            event: this.#event.event || "message",
            data: this.#event.data.join("\n"),
            lastEventId: this.lastEventId,
          });
        }
        this.#event = { event: "", data: [] };
        continue;
      }
      if (line.startsWith(":")) {
        this.comments++;
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") this.#event.data.push(value);
      else if (field === "event") this.#event.event = value;
      else if (field === "id") this.lastEventId = value;
    }
  }

  /** Stops reading (cancels the body). */
  async cancel(): Promise<void> {
    this.#done = true;
    await this.#reader.cancel().catch(() => {});
  }
}
