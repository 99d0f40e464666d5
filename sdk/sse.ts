/**
 * A Server-Sent Events parser that follows the WHATWG rules
 * (html.spec.whatwg.org, "Parsing an event stream"): lines end in CRLF, LF
 * or CR (also when a CR ends one chunk and its LF starts the next); a
 * leading BOM is dropped; `data:` lines join with "\n"; a blank line
 * dispatches; an `id:` line sets the last event id even on a block with no
 * data; an id containing NUL is ignored; `retry:` takes digits only. Unlike
 * `EventSource`, it also reports whether a block carried its own `id:` line
 * and blocks that carry only an id, which is how cassem marks the end of a
 * revision. Pure: text in, items out; no I/O or clock.
 *
 * @module
 */

/** A dispatched event: a block with at least one `data:` line. */
export interface SseMessage {
  /** Discriminant. */
  readonly kind: "event";
  /** The `event:` field, "message" when there is none. */
  readonly type: string;
  /** The `data:` lines joined with "\n". */
  readonly data: string;
  /** The `id:` of this block, `undefined` when the block had no `id:` line. */
  readonly id: string | undefined;
  /** The last event id after this block (what `Last-Event-ID` should carry). */
  readonly lastEventId: string;
}

/** A block with an `id:` line and no data: it moves the last event id only. */
export interface SseIdOnly {
  /** Discriminant. */
  readonly kind: "id";
  /** The id it set. */
  readonly id: string;
}

/** A comment line (`: text`), e.g. a heartbeat. */
export interface SseComment {
  /** Discriminant. */
  readonly kind: "comment";
  /** The text after the colon, without one leading space. */
  readonly text: string;
}

/** What {@linkcode SseParser.feed} yields, in stream order. */
export type SseItem = SseMessage | SseIdOnly | SseComment;

/** An incremental SSE parser; feed it decoded text in any chunking. */
export class SseParser {
  #buffer = "";
  #started = false;
  /** A chunk ended in CR: an LF that starts the next chunk belongs to it. */
  #skipLf = false;
  #type = "";
  #data: string[] = [];
  #hasData = false;
  #blockId: string | undefined;
  /** The last event id so far (WHATWG: kept across blocks until an `id:` line changes it). */
  lastEventId = "";
  /** The last valid `retry:` value in ms, if any. */
  retryMs: number | undefined;

  /** Parses `text` (the next decoded chunk) and answers the items it completes, in order. */
  feed(text: string): SseItem[] {
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.length === 0) return [];
    if (this.#skipLf && text.startsWith("\n")) text = text.slice(1);
    this.#skipLf = false;
    this.#buffer += text;
    const out: SseItem[] = [];
    let start = 0;
    for (let i = 0; i < this.#buffer.length; i++) {
      const c = this.#buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line(this.#buffer.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < this.#buffer.length) {
          if (this.#buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.#skipLf = true;
        }
      }
      start = i + 1;
    }
    this.#buffer = this.#buffer.slice(start);
    return out;
  }

  /**
   * Ends the stream: a block that was not finished by a blank line is
   * discarded (WHATWG), and so is an unfinished line.
   */
  end(): void {
    this.#buffer = "";
    this.#reset();
  }

  #reset(): void {
    this.#type = "";
    this.#data = [];
    this.#hasData = false;
    this.#blockId = undefined;
  }

  #line(line: string, out: SseItem[]): void {
    if (line === "") {
      if (this.#hasData) {
        out.push({
          kind: "event",
          type: this.#type || "message",
          data: this.#data.join("\n"),
          id: this.#blockId,
          lastEventId: this.lastEventId,
        });
      } else if (this.#blockId !== undefined) {
        out.push({ kind: "id", id: this.#blockId });
      }
      this.#reset();
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) {
      out.push({ kind: "comment", text: line.slice(1).replace(/^ /, "") });
      return;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    switch (field) {
      case "data":
        this.#data.push(value);
        this.#hasData = true;
        break;
      case "event":
        this.#type = value;
        break;
      case "id":
        if (!value.includes("\0")) {
          this.lastEventId = value;
          this.#blockId = value;
        }
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
  }
}
