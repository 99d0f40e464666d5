/**
 * One watch: an SSE stream of the agent's `watch` route for a set of keys,
 * kept open across agents. It resumes with `Last-Event-ID` (the revision of
 * the last batch applied), fails over to the next agent when a stream
 * breaks, stalls (no byte for `heartbeatTimeoutMs`) or is refused with a
 * retryable error, backs off once every agent has failed in a row, and
 * delivers changes to the application one revision at a time.
 *
 * Never backwards, nothing twice: events are applied in batches that end
 * at an `id:` (one batch per cassemdb revision; `ready` ends the initial
 * state), a batch cut short by a broken stream is dropped (the resume sends
 * it again), a version the watch already holds (same version and
 * fingerprint) is dropped, and a stream whose `ready` revision is behind
 * what this client has seen is left for another agent.
 *
 * @module
 */

import { type AgentPool, describe, type FetchLike, send } from "./agents.ts";
import type { Backoff } from "./backoff.ts";
import type { ConfigCache } from "./config_cache.ts";
import {
  checkElementJson,
  type Element,
  type ElementJson,
  parseElement,
  sameVersion,
  type ValueParser,
} from "./element.ts";
import {
  AgentAnswerError,
  CassemError,
  type ErrorCode,
  errorFromAnswer,
  isTerminalCode,
  ProtocolError,
  UnavailableError,
} from "./errors.ts";
import { type SseItem, SseParser } from "./sse.ts";

/** What changed, delivered to `onChange`. */
export interface WatchUpdate<T = unknown> {
  /**
   * The revision this update brings the watch to (from a disk cache: the
   * newest revision it was saved at).
   */
  readonly revision: number;
  /**
   * The first update of the watch: `changed` holds every watched key that
   * has a version, `removed` every one that has none.
   */
  readonly initial: boolean;
  /** Served from the disk cache because no agent answered; a live update follows. */
  readonly stale: boolean;
  /** The keys with a new version, in the order the agent sent them. */
  readonly changed: readonly Element<T>[];
  /** The keys that no longer have a version for this client. */
  readonly removed: readonly string[];
}

/** Options of one watch. */
export interface WatchOptions<T> {
  /** Turns each parsed value into a `T` (e.g. a schema's parse); a throw is a {@linkcode ContentError}. */
  parse?: ValueParser<T>;
  /**
   * Hears every error of the watch. `error.terminal` (bad input, missing
   * or wrong secret) means the watch has stopped; any other error (no agent
   * answered, a version that does not parse, `onChange` threw) is reported
   * while the watch goes on. Default: the client's `onError`.
   */
  onError?: (error: CassemError) => void;
}

/** A running watch. */
export interface WatchHandle<T = unknown> {
  /**
   * Resolves once the first update was delivered (live, or stale from the
   * disk cache); rejects when the watch stops first.
   */
  readonly ready: Promise<void>;
  /** The current version of `key`, `undefined` when it has none (or is not watched). */
  current(key: string): Element<T> | undefined;
  /** The revision of the last update delivered (0 before the first). */
  readonly revision: number;
  /** Whether what it holds came from the disk cache and no agent has answered since. */
  readonly stale: boolean;
  /** The agent it is streaming from, `undefined` while it is not connected. */
  readonly agent: string | undefined;
  /** Stops the watch (idempotent); `onChange` is not called after it returns. */
  close(): void;
  /** Resolves once the watch has stopped (closed, or a terminal error). */
  readonly done: Promise<void>;
}

/** What a watch needs from its client. */
export interface WatchContext {
  readonly pool: AgentPool;
  readonly fetch: FetchLike;
  readonly app: string;
  readonly env: string;
  readonly requestTimeoutMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly cache: ConfigCache;
  /** Ends every watch of the client. */
  readonly signal: AbortSignal;
  /** The identity headers. */
  headers(): Record<string, string>;
  /** A fresh backoff. */
  backoff(): Backoff;
  /** The highest revision the client has seen from a live agent. */
  floor(): number;
  /** Tells the client of a revision seen from a live agent. */
  observe(revision: number): void;
  /** Where errors go when the watch has no `onError`. */
  report(error: CassemError): void;
}

/** One event of a batch: a key's new version, or `undefined` when it has none. */
interface BatchItem {
  readonly key: string;
  readonly element: ElementJson | undefined;
}

/** How a connection went. */
interface Connection {
  live: boolean;
  liveSince: number;
}

/** A stream that was live this short a time before breaking counts as a failed attempt. */
const FLAP_MS = 1_000;

function revisionOf(text: string, url: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new ProtocolError(
      `Cannot use the stream of ${url} as an event id must be a revision: current value is ${
        JSON.stringify(text.slice(0, 40))
      }`,
    );
  }
  return n;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A promise with its resolve and reject (`Promise.withResolvers` needs Node 22). */
function deferred(): {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
} {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The watch behind a {@linkcode WatchHandle} (see the module doc). */
export class Watch<T> implements WatchHandle<T> {
  readonly #ctx: WatchContext;
  readonly #keys: readonly string[];
  readonly #keySet: ReadonlySet<string>;
  readonly #onChange: (update: WatchUpdate<T>) => void;
  readonly #opts: WatchOptions<T>;
  readonly #abort = new AbortController();
  readonly #ready = deferred();
  /** Key → what the agents last sent (null: no version); absent: not known yet. */
  readonly #held = new Map<string, ElementJson | null>();
  /** Key → the version delivered to the application (parsed). */
  readonly #current = new Map<string, Element<T>>();
  #lastEventId: string | undefined;
  #revision = 0;
  #delivered = false;
  #stale = false;
  #closed = false;
  #agent: string | undefined;
  readonly done: Promise<void>;

  /** Starts watching `keys` (1 to 100, distinct) through `ctx`. */
  constructor(
    ctx: WatchContext,
    keys: readonly string[],
    onChange: (update: WatchUpdate<T>) => void,
    opts: WatchOptions<T>,
  ) {
    this.#ctx = ctx;
    this.#keys = [...new Set(keys)];
    this.#keySet = new Set(this.#keys);
    this.#onChange = onChange;
    this.#opts = opts;
    this.#ready.promise.catch(() => {}); // a caller that never awaits it must not crash the process
    const onClientClose = () => this.close();
    ctx.signal.addEventListener("abort", onClientClose, { once: true });
    this.done = this.#run().finally(() => {
      ctx.signal.removeEventListener("abort", onClientClose);
      this.#closed = true;
      this.#ready.reject(
        new CassemError("CANCELLED", "Cannot deliver a first update as the watch stopped"),
      );
    });
  }

  /** The keys watched. */
  get keys(): readonly string[] {
    return this.#keys;
  }

  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  get revision(): number {
    return this.#revision;
  }

  get stale(): boolean {
    return this.#stale;
  }

  get agent(): string | undefined {
    return this.#agent;
  }

  current(key: string): Element<T> | undefined {
    return this.#current.get(key);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new CassemError("CANCELLED", "Cannot go on watching as the watch is closed"));
  }

  #report(e: CassemError): void {
    try {
      (this.#opts.onError ?? this.#ctx.report)(e);
    } catch { /* an error handler that throws must not stop the watch */ }
  }

  async #run(): Promise<void> {
    await this.#ctx.cache.load();
    const backoff = this.#ctx.backoff();
    let failures = 0;
    let attempts: string[] = [];
    while (!this.#closed) {
      const url = this.#ctx.pool.order()[0]!;
      const conn: Connection = { live: false, liveSince: 0 };
      let why: string;
      try {
        await this.#stream(url, conn);
        why = "the stream ended";
      } catch (e) {
        if (this.#closed) break;
        if (e instanceof CassemError && e.terminal) {
          this.#ready.reject(e);
          this.#report(e);
          break;
        }
        why = describe(e);
      }
      if (this.#closed) break;
      this.#ctx.pool.failed(url);
      attempts.push(`${url}: ${why}`);
      if (conn.live && Date.now() - conn.liveSince >= FLAP_MS) {
        // It served, then broke (killed, stalled, cut off): the next agent, at once.
        failures = 0;
        attempts = [attempts.at(-1)!];
        backoff.reset();
        continue;
      }
      failures++;
      if (failures >= this.#ctx.pool.size) {
        failures = 0;
        if (!this.#delivered) this.#deliverFromCache();
        this.#report(new UnavailableError(`watch ${this.#keys.join(",")}`, attempts));
        attempts = [];
        await sleep(backoff.next(), this.#abort.signal);
      }
    }
  }

  /** One connection to `url`, until it ends; throws why it ended. */
  async #stream(url: string, conn: Connection): Promise<void> {
    const ctx = this.#ctx;
    const headers: Record<string, string> = { accept: "text/event-stream", ...ctx.headers() };
    if (this.#lastEventId !== undefined) headers["last-event-id"] = this.#lastEventId;
    const path = `${url}/v1/apps/${encodeURIComponent(ctx.app)}/envs/${
      encodeURIComponent(ctx.env)
    }/watch?keys=${this.#keys.map(encodeURIComponent).join(",")}`;
    const sent = await send(ctx.fetch, path, {
      method: "GET",
      headers,
      timeoutMs: ctx.requestTimeoutMs,
      signal: this.#abort.signal,
    });
    let idleFired = false;
    let idle: ReturnType<typeof setTimeout> | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    // Cancel the body as well as the fetch: a custom fetch may not tie its body to the signal.
    const stop = () => void reader?.cancel().catch(() => {});
    this.#abort.signal.addEventListener("abort", stop, { once: true });
    const stalled = () =>
      new CassemError(
        "DEADLINE_EXCEEDED",
        `Cannot go on watching through ${url} as it sent nothing for ${ctx.heartbeatTimeoutMs} ms (heartbeatTimeoutMs)`,
        "heartbeatTimeoutMs",
      );
    try {
      const r = sent.response;
      if (!r.ok) throw errorFromAnswer(url, r.status, await r.text());
      if (!r.body) throw new ProtocolError(`Cannot watch through ${url} as its answer has no body`);
      this.#agent = url;
      reader = r.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser();
      const state = { initial: true, batch: [] as BatchItem[] };
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          idleFired = true;
          stop();
          sent.abort();
        }, ctx.heartbeatTimeoutMs);
      };
      arm();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          throw idleFired ? stalled() : e;
        }
        if (idleFired) throw stalled();
        if (chunk.done) return;
        arm();
        for (const item of parser.feed(decoder.decode(chunk.value, { stream: true }))) {
          this.#item(item, state, url, conn);
          if (this.#closed) return;
        }
      }
    } finally {
      clearTimeout(idle);
      this.#abort.signal.removeEventListener("abort", stop);
      this.#agent = undefined;
      stop();
      sent.abort();
      sent.release();
    }
  }

  /** Handles one SSE item of the stream from `url`. */
  #item(
    item: SseItem,
    state: { initial: boolean; batch: BatchItem[] },
    url: string,
    conn: Connection,
  ): void {
    if (item.kind === "comment") return;
    if (item.kind === "id") {
      if (!state.initial) this.#apply(state.batch.splice(0), revisionOf(item.id, url));
      return;
    }
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(item.data);
    } catch {
      throw new ProtocolError(
        `Cannot use the stream of ${url} as a ${item.type} event is not JSON: ${
          JSON.stringify(item.data.slice(0, 100))
        }`,
      );
    }
    switch (item.type) {
      case "message": {
        const element = checkElementJson(data, url);
        state.batch.push({ key: element.key, element });
        break;
      }
      case "missing": {
        if (typeof data.key !== "string") {
          throw new ProtocolError(
            `Cannot use the stream of ${url} as a missing event names no key`,
          );
        }
        state.batch.push({ key: data.key, element: undefined });
        break;
      }
      case "ready": {
        const revision = Number(data.revision);
        if (!Number.isSafeInteger(revision)) {
          throw new ProtocolError(`Cannot use the stream of ${url} as ready carries no revision`);
        }
        const floor = this.#ctx.floor();
        if (revision < floor) {
          throw new CassemError(
            "UNAVAILABLE",
            `Cannot use the stream of ${url} as it is at revision ${revision}, behind revision ${floor} that this client has seen: trying another agent`,
          );
        }
        state.initial = false;
        this.#apply(state.batch.splice(0), revision);
        conn.live = true;
        conn.liveSince = Date.now();
        this.#ctx.pool.succeeded(url);
        return;
      }
      case "close": {
        const code = String(data.code ?? "UNAVAILABLE") as ErrorCode;
        const message = String(data.message ?? "the agent ended the stream");
        if (isTerminalCode(code)) throw new AgentAnswerError(url, 200, code, message);
        throw new CassemError(code, message);
      }
      default:
        return; // an event type this SDK does not know: ignored
    }
    if (item.id !== undefined && !state.initial) {
      this.#apply(state.batch.splice(0), revisionOf(item.id, url));
    }
  }

  /** Applies the events of one revision and delivers what changed. */
  #apply(batch: BatchItem[], revision: number): void {
    const changed: Element<T>[] = [];
    const removed: string[] = [];
    const forCache: [string, ElementJson | undefined][] = [];
    for (const { key, element } of batch) {
      if (!this.#keySet.has(key)) continue;
      forCache.push([key, element]);
      const held = this.#held.get(key);
      if (element) {
        if (held && sameVersion(held, element)) continue; // a repeat after a cut
        this.#held.set(key, element);
        try {
          const el = parseElement(element, this.#opts.parse);
          this.#current.set(key, el);
          changed.push(el);
        } catch (e) {
          // The application keeps the last version that parsed.
          this.#report(e as CassemError);
        }
      } else {
        if (held === null) continue;
        this.#held.set(key, null);
        if (this.#current.delete(key) || held !== undefined) removed.push(key);
      }
    }
    this.#lastEventId = String(revision);
    this.#revision = revision;
    this.#ctx.observe(revision);
    this.#ctx.cache.update(forCache, revision);
    const wasStale = this.#stale;
    this.#stale = false;
    if (!this.#delivered) {
      this.#deliverAll(revision, false);
    } else if (changed.length > 0 || removed.length > 0 || wasStale) {
      this.#deliver({ revision, initial: false, stale: false, changed, removed });
    }
  }

  /** The first update: every key's current version. */
  #deliverAll(revision: number, stale: boolean): void {
    this.#delivered = true;
    this.#stale = stale;
    const changed: Element<T>[] = [];
    const removed: string[] = [];
    for (const k of this.#keys) {
      const el = this.#current.get(k);
      if (el) changed.push(el);
      else removed.push(k);
    }
    this.#deliver({ revision, initial: true, stale, changed, removed });
    this.#ready.resolve();
  }

  /** Every agent failed before the first update: start from the disk cache if it knows every key. */
  #deliverFromCache(): void {
    const cache = this.#ctx.cache;
    if (!cache.enabled || !cache.knowsAll(this.#keys)) return;
    let revision = 0;
    for (const k of this.#keys) {
      const c = cache.get(k)!;
      revision = Math.max(revision, c.asOf);
      this.#held.set(k, c.element ?? null);
      if (!c.element) continue;
      try {
        this.#current.set(k, parseElement(c.element, this.#opts.parse));
      } catch (e) {
        this.#report(e as CassemError);
      }
    }
    this.#revision = revision;
    this.#deliverAll(revision, true);
  }

  #deliver(update: WatchUpdate<T>): void {
    if (this.#closed) return;
    try {
      this.#onChange(update);
    } catch (e) {
      this.#report(
        new CassemError(
          "INTERNAL",
          `Cannot deliver revision ${update.revision} as onChange threw: ${
            e instanceof Error ? e.message : String(e)
          }`,
          "onChange",
          { cause: e },
        ),
      );
    }
  }
}
