/**
 * The cassem client: {@linkcode createClient} and {@linkcode CassemClient}.
 * Reads (`get`, `getMany`) and watches (`watch`) go to the first agent that
 * answers, in failover order from the last one that did. A read carries
 * `X-Cassem-Min-Revision` (the highest revision this client has seen), so a
 * lagging agent waits or is skipped and the client never goes back in
 * version; an agent that has reached it answers at once, on its fast path.
 * What it learns is kept in a disk cache when one is configured; when no
 * agent answers, reads and a new watch are served from it and say `stale`.
 *
 * Uses only `fetch`, web streams and timers: it runs in Deno, Node ≥ 20
 * and browsers (the file cache loads `node:fs/promises` only when
 * `cacheDir` is given).
 *
 * @module
 */

// The file, not shared/config/mod.ts: the browser bundle takes no schema library.
import {
  CLIENT_ID_HEADER,
  LABELS_HEADER,
  MAX_KEYS,
  MIN_REVISION_HEADER,
  SECRET_HEADER,
  STALE_HEADER,
} from "../shared/config/agent_wire.ts";
import { AgentPool, callAgents, type FetchLike } from "./agents.ts";
import { Backoff, type BackoffOptions } from "./backoff.ts";
import type { CacheStore } from "./cache_store.ts";
import { ConfigCache } from "./config_cache.ts";
import {
  checkElementJson,
  type Element,
  type ElementJson,
  parseElement,
  type ValueParser,
} from "./element.ts";
import { CassemError, ClosedError, ProtocolError, UnavailableError } from "./errors.ts";
import { fileCache } from "./file_cache.ts";
import { type InstanceAnswer, Instances } from "./instances.ts";
import {
  Watch,
  type WatchContext,
  type WatchHandle,
  type WatchOptions,
  type WatchUpdate,
} from "./watch.ts";

/** Options of {@linkcode createClient}. */
export interface ClientOptions {
  /** Base URLs of the agents, in the order to try them (`http://127.0.0.1:7081`). */
  agents: readonly string[];
  /** The app. */
  app: string;
  /** The env. */
  env: string;
  /** This client's id (gray rules by id and percentage pick only named clients; needed to register). */
  clientId?: string;
  /** This client's labels (gray rules by label), at most 20. */
  labels?: Readonly<Record<string, string>>;
  /** The client secret of an env that has one. */
  secret?: string;
  /** A directory for the disk cache (Deno and Node). */
  cacheDir?: string;
  /** Another cache store (e.g. {@linkcode localStorageCache} in a browser); wins over `cacheDir`. */
  cache?: CacheStore;
  /** How long an agent may take to answer (its headers), in ms (default 10,000; above the agent's 5 s catch-up wait). */
  requestTimeoutMs?: number;
  /** A watch stream silent this long is taken as dead, in ms (default 45,000: three of the agent's 15 s heartbeats). */
  heartbeatTimeoutMs?: number;
  /** Delays between rounds of reconnecting once every agent failed (default 250 ms doubling to 10 s). */
  backoff?: BackoffOptions;
  /** The `fetch` to use (default the global one). */
  fetch?: FetchLike;
  /**
   * Hears background errors: of watches without their own `onError`, of
   * the disk cache and of instance renewals (default: `console.warn`).
   */
  onError?: (error: CassemError) => void;
}

/** Options of a read. */
export interface GetOptions<T> {
  /** Turns each parsed value into a `T`; a throw is a {@linkcode ContentError}. */
  parse?: ValueParser<T>;
  /** Aborts the read. */
  signal?: AbortSignal;
}

/** One element as `get` answers it. */
export type GetResult<T> = Element<T> & {
  /** Served from the disk cache (no agent answered), or by an agent that cannot reach cassemdb. */
  readonly stale: boolean;
};

/** What `getMany` answers. */
export interface ReadResult<T> {
  /** The keys that have a version for this client, in the order the agent sent them. */
  readonly elements: readonly Element<T>[];
  /** The keys that have none. */
  readonly missing: readonly string[];
  /** The revision the answer is at. */
  readonly revision: number;
  /** See {@linkcode GetResult.stale}. */
  readonly stale: boolean;
  /** The agent that answered (`undefined`: the disk cache). */
  readonly agent: string | undefined;
}

/** Most keys one read or watch may name (the agent's limit). */
export { MAX_KEYS };

function checkKeys(what: string, keys: readonly string[]): string[] {
  const list = [...new Set(keys)];
  if (
    list.length === 0 || list.length > MAX_KEYS ||
    list.some((k) => typeof k !== "string" || k === "")
  ) {
    throw new TypeError(
      `Cannot ${what} as keys must be 1 to ${MAX_KEYS} non-empty keys: current value is ${
        JSON.stringify(keys).slice(0, 200)
      }`,
    );
  }
  return list;
}

function checkName(field: string, value: unknown): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `Cannot create a cassem client as ${field} must be a non-empty string: current value is ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

/** A client of the cassem agents for one app and env (see the module doc). */
export class CassemClient {
  /** The app. */
  readonly app: string;
  /** The env. */
  readonly env: string;
  /** The client id, if any. */
  readonly clientId: string | undefined;
  readonly #pool: AgentPool;
  readonly #fetch: FetchLike;
  readonly #headers: Record<string, string>;
  readonly #requestTimeoutMs: number;
  readonly #heartbeatTimeoutMs: number;
  readonly #backoff: BackoffOptions;
  readonly #cache: ConfigCache;
  readonly #onError: (e: CassemError) => void;
  readonly #closer = new AbortController();
  readonly #watches = new Set<Watch<unknown>>();
  readonly #readKeys = new Set<string>();
  readonly #instances: Instances;
  #highest = 0;

  /**
   * A client with `options`.
   * @throws {TypeError} naming the option when one is missing or malformed.
   */
  constructor(options: ClientOptions) {
    this.app = checkName("app", options.app);
    this.env = checkName("env", options.env);
    this.#pool = new AgentPool(options.agents);
    this.clientId = options.clientId;
    const labels = options.labels ?? {};
    this.#headers = {};
    if (options.clientId !== undefined) {
      this.#headers[CLIENT_ID_HEADER] = checkName("clientId", options.clientId);
    }
    const labelText = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
    if (labelText !== "") this.#headers[LABELS_HEADER] = labelText;
    if (options.secret !== undefined) {
      this.#headers[SECRET_HEADER] = checkName("secret", options.secret);
    }
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 45_000;
    this.#backoff = options.backoff ?? {};
    new Backoff(this.#backoff); // checks the options now, not at the first reconnect
    const fetchFn = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (!fetchFn) {
      throw new TypeError("Cannot create a cassem client as this runtime has no fetch: pass fetch");
    }
    this.#fetch = fetchFn;
    this.#onError = options.onError ??
      ((e) => console.warn(`cassem client ${this.app}/${this.env}: ${e.message}`));
    const store = options.cache ??
      (options.cacheDir !== undefined ? fileCache(options.cacheDir) : undefined);
    this.#cache = new ConfigCache(
      store,
      { app: this.app, env: this.env, clientId: options.clientId, labels },
      (e) => this.#onError(new CassemError("DATA_LOSS", e.message, "cacheDir")),
    );
    this.#instances = new Instances({
      pool: this.#pool,
      fetch: this.#fetch,
      timeoutMs: this.#requestTimeoutMs,
      signal: this.#closer.signal,
      clientId: options.clientId,
      headers: () => this.#identity(),
      body: () => this.#instanceBody(),
      onError: (e) => this.#onError(e),
    });
  }

  /** The highest revision this client has seen from a live agent (0: none yet). */
  get revision(): number {
    return this.#highest;
  }

  /** Where the disk cache is ("nowhere" without one). */
  get cacheLocation(): string {
    return this.#cache.where;
  }

  #identity(): Record<string, string> {
    return { ...this.#headers };
  }

  #observe(revision: number): void {
    if (revision > this.#highest) this.#highest = revision;
  }

  #live(what: string): void {
    if (this.#closer.signal.aborted) throw new ClosedError(what);
  }

  /**
   * The version of `key` this client gets, parsed.
   * @throws {CassemError} NOT_FOUND when the key has no version for this client.
   * @throws the errors of {@linkcode getMany}.
   */
  async get<T = unknown>(key: string, options: GetOptions<T> = {}): Promise<GetResult<T>> {
    const r = await this.getMany<T>([key], options);
    const el = r.elements[0];
    if (!el) {
      throw new CassemError(
        "NOT_FOUND",
        `Cannot get ${key} of ${this.app}/${this.env} as it has no version for this client${
          r.stale ? " (from the disk cache)" : ""
        }`,
        "key",
      );
    }
    return { ...el, stale: r.stale };
  }

  /**
   * The versions of `keys` (1 to 100) this client gets, from the first
   * agent that answers; when none does, from the disk cache if it knows
   * every key (`stale: true`).
   * @throws {AgentAnswerError} for an answer no other agent would change (bad input, secret, not served).
   * @throws {UnavailableError} listing each agent's failure when none answered and the cache cannot serve.
   * @throws {ContentError} when a version does not parse.
   */
  async getMany<T = unknown>(
    keys: readonly string[],
    options: GetOptions<T> = {},
  ): Promise<ReadResult<T>> {
    this.#live("read");
    const list = checkKeys("read", keys);
    for (const k of list) this.#readKeys.add(k);
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.#closer.signal])
      : this.#closer.signal;
    const what = `read ${list.join(",")} of ${this.app}/${this.env}`;
    let unavailable: UnavailableError;
    const floor = this.#highest;
    try {
      const { url, response, text } = await callAgents(this.#pool, this.#fetch, {
        method: "GET",
        path: `/v1/apps/${encodeURIComponent(this.app)}/envs/${
          encodeURIComponent(this.env)
        }/elements?keys=${list.map(encodeURIComponent).join(",")}`,
        headers: () => {
          const h = this.#identity();
          if (floor > 0) h[MIN_REVISION_HEADER] = String(floor);
          return h;
        },
        timeoutMs: this.#requestTimeoutMs,
        signal,
        what,
      });
      const answer = this.#readAnswer(url, text);
      this.#observe(answer.revision);
      this.#cache.update(
        [
          ...answer.elements.map((e) => [e.key, e] as [string, ElementJson]),
          ...answer.missing.map((k) => [k, undefined] as [string, undefined]),
        ],
        answer.revision,
      );
      return {
        elements: answer.elements.map((e) => parseElement(e, options.parse)),
        missing: answer.missing,
        revision: answer.revision,
        stale: response.headers.get(STALE_HEADER) === "true",
        agent: url,
      };
    } catch (e) {
      if (!(e instanceof UnavailableError)) throw e;
      unavailable = e;
    }
    await this.#cache.load();
    if (this.#cache.knowsAll(list)) {
      const elements: Element<T>[] = [];
      const missing: string[] = [];
      let revision = 0;
      for (const k of list) {
        const c = this.#cache.get(k)!;
        revision = Math.max(revision, c.asOf);
        if (c.element) elements.push(parseElement(c.element, options.parse));
        else missing.push(k);
      }
      return { elements, missing, revision, stale: true, agent: undefined };
    }
    throw unavailable;
  }

  #readAnswer(
    url: string,
    text: string,
  ): { elements: ElementJson[]; missing: string[]; revision: number } {
    let body: { elements?: unknown; missing?: unknown; revision?: unknown };
    try {
      body = JSON.parse(text);
    } catch {
      throw new ProtocolError(
        `Cannot use the answer of ${url} as it is not JSON: ${text.slice(0, 100)}`,
      );
    }
    if (
      !Array.isArray(body.elements) || !Array.isArray(body.missing) ||
      !Number.isSafeInteger(body.revision) ||
      body.missing.some((k) => typeof k !== "string")
    ) {
      throw new ProtocolError(
        `Cannot use the answer of ${url} as it must have elements, missing and revision: current value is ${
          text.slice(0, 200)
        }`,
      );
    }
    return {
      elements: body.elements.map((e) => checkElementJson(e, url)),
      missing: body.missing as string[],
      revision: body.revision as number,
    };
  }

  /**
   * Watches `keys` (1 to 100): `onChange` gets the current version of each
   * first (`initial`), then every change, one revision at a time, across
   * agent failures (see `watch.ts`). When no agent answers at start and
   * the disk cache knows every key, the first update comes from it
   * (`stale: true`) and a live one follows once an agent answers.
   */
  watch<T = unknown>(
    keys: readonly string[],
    onChange: (update: WatchUpdate<T>) => void,
    options: WatchOptions<T> = {},
  ): WatchHandle<T> {
    this.#live("watch");
    const list = checkKeys("watch", keys);
    const ctx: WatchContext = {
      pool: this.#pool,
      fetch: this.#fetch,
      app: this.app,
      env: this.env,
      requestTimeoutMs: this.#requestTimeoutMs,
      heartbeatTimeoutMs: this.#heartbeatTimeoutMs,
      cache: this.#cache,
      signal: this.#closer.signal,
      headers: () => this.#identity(),
      backoff: () => new Backoff(this.#backoff),
      floor: () => this.#highest,
      observe: (r) => this.#observe(r),
      report: (e) => this.#onError(e),
    };
    const w = new Watch<T>(ctx, list, onChange, options);
    this.#watches.add(w as Watch<unknown>);
    void w.done.then(() => this.#watches.delete(w as Watch<unknown>));
    return w;
  }

  #instanceBody(): unknown {
    const watching = new Set<string>();
    for (const w of this.#watches) for (const k of w.keys) watching.add(k);
    const running = [];
    for (const k of new Set([...watching, ...this.#readKeys])) {
      const el = this.#cache.get(k)?.element;
      if (el) {
        running.push({
          app: this.app,
          env: this.env,
          key: k,
          version: el.version,
          fingerprint: el.fingerprint,
          gray: el.gray,
        });
      }
    }
    return {
      watching: watching.size > 0
        ? [{ app: this.app, env: this.env, keys: [...watching].slice(0, MAX_KEYS) }]
        : [],
      running: running.slice(0, 2_000),
    };
  }

  /**
   * Registers this client's instance with an agent (what it watches and
   * runs), and renews it every `renewAfterSeconds` until
   * {@linkcode unregister} or {@linkcode close}. For clients that only
   * read: a watching client is registered by its stream anyway.
   * @throws {TypeError} when the client has no `clientId`.
   * @throws the errors of a read when no agent takes the registration.
   */
  register(): Promise<InstanceAnswer> {
    this.#live("register");
    return this.#instances.register();
  }

  /** Removes this client's instance record and stops renewing it. */
  unregister(): Promise<boolean> {
    return this.#instances.unregister();
  }

  /**
   * Stops every watch and renewal, unregisters a registered instance
   * (bounded by `requestTimeoutMs`), and waits for the disk cache to be
   * saved. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closer.signal.aborted) return;
    const registered = this.#instances.registered;
    this.#instances.stop();
    if (registered) await this.#instances.unregister().catch(() => false);
    this.#closer.abort(new ClosedError("go on"));
    await Promise.all([...this.#watches].map((w) => w.done));
    await this.#cache.flush();
  }
}

/**
 * A client of the cassem agents: `get`, `getMany`, `watch`, `register`,
 * `close`. See {@linkcode ClientOptions}.
 * @throws {TypeError} naming the option when one is missing or malformed.
 */
export function createClient(options: ClientOptions): CassemClient {
  return new CassemClient(options);
}
