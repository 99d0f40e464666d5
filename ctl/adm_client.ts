/**
 * A small client of cassemadm's REST API (`/api`, described by
 * `/api/openapi.json`): JSON in and out, the bearer token, `If-Match`, and
 * every failure turned into one of cassemctl's error classes (`errors.ts`):
 * an HTTP error status by {@linkcode fromHttp}, a server out of reach as
 * {@linkcode UnreachableError}.
 *
 * @module
 */

import { type AdmErrorBody, AuthError, CtlError, fromHttp, UnreachableError } from "./errors.ts";

/** Options of one {@linkcode AdmClient.call}. */
export interface CallOptions {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body. */
  body?: unknown;
  /** `If-Match`: apply only at this ETag. */
  ifMatch?: string;
  /** Send the token (default true). */
  auth?: boolean;
}

/** An answer of cassemadm. */
export interface Answer<T> {
  /** The HTTP status (2xx). */
  status: number;
  /** The JSON body. */
  body: T;
  /** The response headers. */
  headers: Headers;
}

/** What an {@linkcode AdmClient} is made with. */
export interface AdmClientOptions {
  /** cassemadm's base URL (`http://127.0.0.1:7061`). */
  server: string;
  /** The bearer token, if logged in. */
  token: string | undefined;
  /** How requests are sent. */
  fetch: (request: Request) => Promise<Response>;
  /** The deadline of one request, in ms (default 30,000). */
  timeoutMs?: number;
}

/** One path segment, encoded. */
export function seg(s: string | number): string {
  return encodeURIComponent(String(s));
}

/** A client of one cassemadm server. */
export class AdmClient {
  /** The server's base URL. */
  readonly server: string;
  readonly #token: string | undefined;
  readonly #fetch: (request: Request) => Promise<Response>;
  readonly #timeoutMs: number;

  /** A client of `options.server`. */
  constructor(options: AdmClientOptions) {
    this.server = options.server;
    this.#token = options.token;
    this.#fetch = options.fetch;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Whether a token is set. */
  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  /**
   * Sends `method path` (`path` starts with `/api/`) and answers the JSON
   * body of a 2xx answer.
   * @throws {CtlError} of the class for the status; {@linkcode UnreachableError}
   * when the server cannot be reached; {@linkcode AuthError} when the call needs
   * a token and none is set.
   */
  async call<T>(method: string, path: string, opts: CallOptions = {}): Promise<Answer<T>> {
    const what = `${method} ${path}`;
    const auth = opts.auth ?? true;
    if (auth && this.#token === undefined) {
      throw new AuthError(
        `Cannot ${what} as you are not logged in to ${this.server}: run cassemctl login --server ${this.server} (or set CASSEM_TOKEN)`,
      );
    }
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers = new Headers({ accept: "application/json" });
    if (auth && this.#token !== undefined) headers.set("authorization", `Bearer ${this.#token}`);
    if (opts.ifMatch !== undefined) headers.set("if-match", opts.ifMatch);
    if (opts.body !== undefined) headers.set("content-type", "application/json");
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.#timeoutMs);
    let res: Response;
    try {
      res = await this.#fetch(
        new Request(url, {
          method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: ctl.signal,
        }),
      );
    } catch (e) {
      clearTimeout(timer);
      const why = ctl.signal.aborted
        ? `it did not answer within ${this.#timeoutMs / 1000} s`
        : causeOf(e);
      throw new UnreachableError(
        `Cannot reach cassemadm at ${this.server} as ${why}: is it running? (deno task start; or pass --server)`,
        { cause: e },
      );
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new UnreachableError(
        `Cannot read cassemadm's answer to ${what} as the connection broke: ${causeOf(e)}`,
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
    }
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const err = (body as { error?: AdmErrorBody } | undefined)?.error;
      throw fromHttp(res.status, err, what);
    }
    if (body === undefined && text !== "") {
      throw new CtlError(
        `Cannot read cassemadm's answer to ${what} as it is not JSON: is ${this.server} cassemadm?`,
      );
    }
    return { status: res.status, body: body as T, headers: res.headers };
  }

  /** {@linkcode call} answering the body only. */
  async json<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    return (await this.call<T>(method, path, opts)).body;
  }

  /**
   * Every item of a paged list (`{ items, next }`, continued with
   * `seek` or `cursor`), at most `max`.
   */
  async all<T>(
    path: string,
    opts: { query?: CallOptions["query"]; cursor?: "seek" | "cursor"; max?: number } = {},
  ): Promise<T[]> {
    const items: T[] = [];
    const max = opts.max ?? Infinity;
    let next: string | null | undefined = undefined;
    do {
      const query = { ...opts.query, limit: 100, [opts.cursor ?? "seek"]: next ?? undefined };
      const page: { items: T[]; next?: string | null } = await this.json("GET", path, { query });
      items.push(...page.items);
      next = page.next;
    } while (next && items.length < max);
    return items.slice(0, max);
  }
}

/** The innermost message of a fetch failure ("Connection refused (os error 111)"). */
function causeOf(e: unknown): string {
  let cur = e;
  while (cur instanceof Error && cur.cause instanceof Error) cur = cur.cause;
  const msg = cur instanceof Error ? cur.message : String(cur);
  return msg.replace(/^error sending request(?: for url \([^)]*\))?:\s*/i, "").split("\n")[0]!;
}
