/**
 * The agents a client talks to, and one request to one of them: a
 * {@linkcode AgentPool} keeps the agent to use first (the last one that
 * answered) and the order to fail over in; {@linkcode send} makes one
 * `fetch` with a deadline on the answer's headers (a stream's body may then
 * last as long as it likes).
 *
 * @module
 */

import { CassemError, errorFromAnswer, isRetryable, UnavailableError } from "./errors.ts";

/** The agents of a client, in failover order from the preferred one. */
export class AgentPool {
  readonly #urls: readonly string[];
  #preferred = 0;

  /**
   * A pool of `agents` (base URLs such as `http://127.0.0.1:7081`; a
   * trailing slash is dropped).
   * @throws {TypeError} naming agents when the list is empty or holds a URL that is not http(s).
   */
  constructor(agents: readonly string[]) {
    if (!Array.isArray(agents) || agents.length === 0) {
      throw new TypeError(
        `Cannot create a cassem client as agents must list at least one agent URL: current value is ${
          JSON.stringify(agents)
        }`,
      );
    }
    this.#urls = agents.map((a, i) => {
      let u: URL;
      try {
        u = new URL(a);
      } catch {
        u = new URL("invalid:");
      }
      if (u.protocol !== "http:" && u.protocol !== "https:") {
        throw new TypeError(
          `Cannot create a cassem client as agents[${i}] must be an http(s) URL: current value is ${
            JSON.stringify(a)
          }`,
        );
      }
      return a.replace(/\/+$/, "");
    });
  }

  /** How many agents there are. */
  get size(): number {
    return this.#urls.length;
  }

  /** The agent to use first. */
  get preferred(): string {
    return this.#urls[this.#preferred]!;
  }

  /** Every agent, starting with the preferred one. */
  order(): string[] {
    const n = this.#urls.length;
    return Array.from({ length: n }, (_, i) => this.#urls[(this.#preferred + i) % n]!);
  }

  /** `url` answered: use it first from now on. */
  succeeded(url: string): void {
    const i = this.#urls.indexOf(url);
    if (i >= 0) this.#preferred = i;
  }

  /** `url` failed: when it is the preferred one, the next one becomes preferred. */
  failed(url: string): void {
    if (this.#urls[this.#preferred] === url) {
      this.#preferred = (this.#preferred + 1) % this.#urls.length;
    }
  }
}

/** A function with the shape of `fetch` (tests pass an in-process agent's). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** An answer of {@linkcode send}. */
export interface Sent {
  /** The answer (its body not read yet). */
  readonly response: Response;
  /** Aborts the request (and its body stream). */
  abort(reason?: unknown): void;
  /** Stops listening to the caller's signal: call it once the body is read. */
  release(): void;
}

/**
 * `fetch(url, init)`, aborted when `signal` aborts or when the answer's
 * headers take longer than `timeoutMs`; the body is then free to stream.
 * @throws {CassemError} DEADLINE_EXCEEDED naming the URL when the headers are late.
 * @throws the fetch error (a network failure) or `signal`'s reason.
 */
export async function send(
  fetchFn: FetchLike,
  url: string,
  init: RequestInit & { timeoutMs: number; signal?: AbortSignal },
): Promise<Sent> {
  const ctl = new AbortController();
  const outer = init.signal;
  const onAbort = () => ctl.abort(outer?.reason);
  if (outer?.aborted) ctl.abort(outer.reason);
  else outer?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, init.timeoutMs);
  try {
    const response = await fetchFn(url, { ...init, signal: ctl.signal });
    return {
      response,
      abort: (reason) => {
        outer?.removeEventListener("abort", onAbort);
        ctl.abort(reason);
      },
      release: () => outer?.removeEventListener("abort", onAbort),
    };
  } catch (e) {
    outer?.removeEventListener("abort", onAbort);
    if (timedOut) {
      throw new CassemError(
        "DEADLINE_EXCEEDED",
        `Cannot reach ${url} as it did not answer within ${init.timeoutMs} ms (requestTimeoutMs)`,
        "requestTimeoutMs",
      );
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** A short description of `e` for an attempt list ("TypeError: connection refused"). */
export function describe(e: unknown): string {
  if (e instanceof CassemError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const extra = cause?.code ?? cause?.message;
    return `${e.name}: ${e.message}${extra ? ` (${extra})` : ""}`;
  }
  return String(e);
}

/** A request {@linkcode callAgents} sends to each agent in turn. */
export interface AgentRequest {
  /** HTTP method. */
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** The path and query after the agent's base URL ("/v1/..."). */
  readonly path: string;
  /** Request headers (each attempt gets them fresh: a call may add to them). */
  headers(): Record<string, string>;
  /** A JSON body, if any. */
  readonly body?: unknown;
  /** Deadline of each attempt's headers, in ms. */
  readonly timeoutMs: number;
  /** Aborts the call. */
  readonly signal: AbortSignal;
  /** What the call does, for the error when every agent failed ("read a,b of shop/prod"). */
  readonly what: string;
}

/** A successful answer of {@linkcode callAgents}. */
export interface AgentAnswer {
  /** The agent that answered. */
  readonly url: string;
  /** Its answer (body already read into `text`). */
  readonly response: Response;
  /** The body. */
  readonly text: string;
}

/**
 * Sends `req` to the agents of `pool` in failover order until one answers
 * 2xx (it becomes the preferred agent); an agent that is down, times out or
 * answers a retryable error is skipped (and the next one preferred).
 * @throws {AgentAnswerError} at once for an answer no other agent would change.
 * @throws {UnavailableError} listing each agent's failure when none answered.
 * @throws `req.signal`'s reason when it aborts.
 */
export async function callAgents(
  pool: AgentPool,
  fetchFn: FetchLike,
  req: AgentRequest,
): Promise<AgentAnswer> {
  const attempts: string[] = [];
  for (const url of pool.order()) {
    try {
      const headers = req.headers();
      if (req.body !== undefined) headers["content-type"] = "application/json";
      const sent = await send(fetchFn, url + req.path, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        timeoutMs: req.timeoutMs,
        signal: req.signal,
      });
      let text: string;
      try {
        text = await sent.response.text();
      } finally {
        sent.release();
      }
      if (!sent.response.ok) throw errorFromAnswer(url, sent.response.status, text);
      pool.succeeded(url);
      return { url, response: sent.response, text };
    } catch (e) {
      if (req.signal.aborted) throw req.signal.reason ?? e;
      if (!isRetryable(e)) throw e;
      attempts.push(`${url}: ${describe(e)}`);
      pool.failed(url);
    }
  }
  throw new UnavailableError(req.what, attempts);
}
