/**
 * How the dashboard's pages reach adm's REST API: in process, through the
 * same app (`createApp` hands the UI its `fetch`), with the session's
 * Bearer token. Every page is built from what the API answers, and every
 * action is an API request, so the dashboard has no permission check,
 * validation or write path of its own: what the API refuses, the page
 * shows.
 *
 * @module
 */

/** The adm app's fetch: the API the pages call. */
export type ApiFetch = (request: Request) => Response | Promise<Response>;

/** A query string's parameters; undefined and "" are left out. */
export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * A refusal of the API, as the page shows it: the API's HTTP status, its
 * error code and message (`Cannot X as Y: current value is Z`) and the
 * field at fault. The UI's error handler answers with the same status.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  /** The API's HTTP status (400..599). */
  readonly status: number;
  /** The API's error code (`not_found`, `invalid_content`, ...). */
  readonly code: string;
  /** The request field the API named (`body.raw`, `path.app`), if any. */
  readonly field: string | undefined;

  /** An error of `status` with the API's `code`, `message` and `field`. */
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** What a successful API request answered: its status, JSON body and ETag. */
export interface ApiAnswer<T> {
  /** 200, 201, 202, ... */
  readonly status: number;
  /** The parsed JSON body. */
  readonly body: T;
  /** The `ETag` header, when there is one. */
  readonly etag: string | undefined;
}

/** `/api/` + the segments, each percent-encoded (e.g. `api("apps", app, "envs")`). */
export function apiPath(...segments: readonly (string | number)[]): string {
  return "/api/" + segments.map((s) => encodeURIComponent(String(s))).join("/");
}

/** `path` with `query` appended (undefined and empty values left out). */
export function withQuery(path: string, query: Query = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s === "" ? path : `${path}?${s}`;
}

/** Options of {@linkcode UiApi}. */
export interface UiApiOptions {
  /** The adm app's fetch. */
  fetch: ApiFetch;
  /** The origin requests are addressed to (the page request's). */
  origin: string;
  /** The session token, if logged in. */
  token?: string;
  /** The page request's id, sent as `X-Request-Id` so the oplog names it. */
  requestId?: string;
}

/** The API, as one page request's caller (its token and request id). */
export class UiApi {
  readonly #o: UiApiOptions;

  /** A caller with `options`. */
  constructor(options: UiApiOptions) {
    this.#o = options;
  }

  /**
   * `GET path?query`, answering the JSON body.
   * @throws {ApiError} when the API answers an error status.
   */
  async get<T>(path: string, query?: Query): Promise<T> {
    return (await this.send<T>("GET", withQuery(path, query))).body;
  }

  /**
   * Sends `method path` with a JSON `body` (when given) and `If-Match`
   * (when `ifMatch` is given).
   * @throws {ApiError} when the API answers an error status.
   */
  async send<T>(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
    ifMatch?: string,
  ): Promise<ApiAnswer<T>> {
    const headers = new Headers({ Accept: "application/json" });
    if (this.#o.token !== undefined) headers.set("Authorization", `Bearer ${this.#o.token}`);
    if (this.#o.requestId !== undefined) headers.set("X-Request-Id", this.#o.requestId);
    if (ifMatch !== undefined && ifMatch !== "") headers.set("If-Match", ifMatch);
    if (body !== undefined) headers.set("Content-Type", "application/json");
    const res = await this.#o.fetch(
      new Request(new URL(path, this.#o.origin), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const err = (parsed as { error?: { code?: unknown; message?: unknown; field?: unknown } })
        ?.error;
      throw new ApiError(
        res.status,
        typeof err?.code === "string" ? err.code : "unknown",
        typeof err?.message === "string"
          ? err.message
          : `Cannot ${method} ${path} as the API answered ${res.status}`,
        typeof err?.field === "string" ? err.field : undefined,
      );
    }
    return { status: res.status, body: parsed as T, etag: res.headers.get("ETag") ?? undefined };
  }
}
