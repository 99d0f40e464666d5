/**
 * The fast path of the two read routes, in front of the Hono app: a GET of
 * `/v1/apps/{app}/envs/{env}/elements?keys=…` or `…/elements/{key}/raw`
 * whose answer is already in memory ({@linkcode AgentCore.readNow}) is
 * answered here, synchronously, without the router, middleware or a
 * promise. Anything else — another route, an unusual query, any error, a
 * body to fetch, a secret to verify, an `X-Cassem-Min-Revision` the agent
 * has not reached — returns
 * `undefined` and goes through the Hono routes, which answer the same
 * request the same way (`http_reads.ts` builds both answers). Profiling a
 * cached read showed the router and async plumbing at about a third of its
 * CPU.
 *
 * A cached read is, in order: one lookup of the request URL in a small map
 * of parsed routes, one of the client's headers in a small map of readers,
 * {@linkcode AgentCore.readNow} (map lookups and the versions' prepared
 * texts), and the `Response`, whose JSON text is the one the same URL got
 * last when nothing changed since (same versions, revision and staleness).
 * A per-request counter belongs in {@linkcode fastReader}'s function, beside the
 * `return` of an answer.
 *
 * @module
 */

import { isName, MAX_KEYS, MIN_REVISION_HEADER } from "../shared/config/mod.ts";
import type { Prepared, ReadResult } from "./body.ts";
import { type AgentCore, revisionOfText } from "./core.ts";
import { MAX_URL } from "./http_common.ts";
import { elementsResponse, rawResponse } from "./http_reads.ts";
import {
  CLIENT_ID_HEADER,
  LABELS_HEADER,
  type Reader,
  readerFrom,
  SECRET_HEADER,
} from "./identity.ts";

const PREFIX = "/v1/apps/";

/** A read route parsed from a URL: valid names only. */
export interface Route {
  readonly app: string;
  readonly env: string;
  /** The keys asked (unique, in order). */
  readonly keys: readonly string[];
  /** The key of a raw read; undefined for the elements route. */
  readonly rawKey: string | undefined;
  /** The last elements answer of this URL. */
  last: LastAnswer | undefined;
}

/** An elements answer, kept to be sent again while nothing it depends on changed. */
export interface LastAnswer {
  readonly found: readonly Prepared[];
  readonly missing: number;
  readonly revision: number;
  readonly stale: boolean;
  readonly text: string;
}

/** Most parsed URLs kept per agent: clients read the same few URLs over and over. */
export const MAX_ROUTES = 1_024;
/**
 * Most characters the parsed routes hold together (their URLs, counted twice
 * for the keys parsed from them, and their kept answers): 1,024 routes of
 * long URLs and 16 KiB answers would otherwise hold tens of MiB.
 */
export const MAX_ROUTE_CHARS = 1 << 20;
/** Longest answer text a route keeps to send again. */
const MAX_LAST_CHARS = 16 * 1024;
/** Most readers kept. */
const MAX_READERS = 4_096;
/**
 * `X-Cassem-Client-Id` → the reader of a request naming no labels and no
 * secret: derived from the header alone, so one map serves every agent.
 */
const readers = new Map<string, Reader>();

/**
 * The fast path of `core`'s agent: a function answering a request when the
 * fast path can, else `undefined`. Its parsed routes, and the last answer
 * each kept, are this agent's (see {@linkcode RouteTable}). Reads need no peer address (see
 * `main.ts`): it is never asked for here.
 */
export function fastReader(core: AgentCore): (req: Request) => Response | undefined {
  const routes = new RouteTable();
  return (req) => {
    if (req.method !== "GET") return undefined;
    const route = routes.of(req.url);
    return route === null ? undefined : answer(core, req, route, routes);
  };
}

/**
 * URL → its parsed route (null when the fast path does not take it), at most
 * {@linkcode MAX_ROUTES} holding at most {@linkcode MAX_ROUTE_CHARS}: when
 * full it starts over (clients read the same few URLs, which come back at
 * once).
 */
export class RouteTable {
  readonly #routes = new Map<string, Route | null>();
  #chars = 0;

  /** URLs held. */
  get size(): number {
    return this.#routes.size;
  }

  /** Characters counted against {@linkcode MAX_ROUTE_CHARS}. */
  get chars(): number {
    return this.#chars;
  }

  /** The route of `url`, parsed on its first read. */
  of(url: string): Route | null {
    let route = this.#routes.get(url);
    if (route === undefined) {
      route = parseRoute(url);
      this.#count(2 * url.length);
      this.#routes.set(url, route);
    }
    return route;
  }

  /** Keeps `answer` as the last one of `route` when it fits within the bounds. */
  keepAnswer(route: Route, answer: LastAnswer): void {
    const chars = answer.text.length - (route.last?.text.length ?? 0);
    if (answer.text.length > MAX_LAST_CHARS || this.#chars + chars > MAX_ROUTE_CHARS) return;
    this.#chars += chars;
    route.last = answer;
  }

  /** Counts `chars` more held for a new URL, starting over when a bound would be passed. */
  #count(chars: number): void {
    if (this.#routes.size >= MAX_ROUTES || this.#chars + chars > MAX_ROUTE_CHARS) {
      this.#routes.clear();
      this.#chars = 0;
    }
    this.#chars += chars;
  }
}

/** The fast answer of `req` for its parsed `route`, or undefined. */
function answer(
  core: AgentCore,
  req: Request,
  route: Route,
  routes: RouteTable,
): Response | undefined {
  const headers = req.headers;
  const floor = headers.get(MIN_REVISION_HEADER);
  // A floor this agent has reached asks nothing more; one ahead of it (to wait
  // for) or malformed (a 400) goes to the route.
  if (floor !== null && !reached(core, floor)) return undefined;
  const client = readerOf(headers);
  if (client === undefined) return undefined; // a malformed header: the Hono route reports it
  const r = core.readNow(route.app, route.env, route.keys, client);
  if (!r) return undefined;
  if (route.rawKey === undefined) return elementsResponse(r, jsonOf(route, r, routes));
  if (r.found.length === 0) return undefined; // a 404, answered by the route
  return rawResponse(
    r,
    { app: route.app, env: route.env, key: route.rawKey },
    headers.get("if-none-match") ?? undefined,
  );
}

/** Whether `core` has reached the revision `text` (false when it is not a revision). */
function reached(core: AgentCore, text: string): boolean {
  const n = revisionOfText(text);
  return n !== undefined && core.hasReached(n);
}

/** The reader of a request, or undefined when a header is malformed. */
function readerOf(headers: Headers): Reader | undefined {
  const id = headers.get(CLIENT_ID_HEADER);
  const plain = headers.get(LABELS_HEADER) === null && headers.get(SECRET_HEADER) === null;
  if (plain) {
    const known = readers.get(id ?? "");
    if (known) return known;
  }
  let reader;
  try {
    reader = readerFrom((name) => headers.get(name) ?? undefined);
  } catch {
    return undefined;
  }
  if (plain) {
    if (readers.size >= MAX_READERS) readers.clear();
    readers.set(id ?? "", reader);
  }
  return reader;
}

/** The JSON text of `r`: the last one of `route` when it answered the same. */
function jsonOf(route: Route, r: ReadResult, routes: RouteTable): string {
  const last = route.last;
  if (
    last !== undefined && last.revision === r.revision && last.stale === r.stale &&
    last.missing === r.missing.length && sameFound(last.found, r.found)
  ) return last.text;
  const text = r.json();
  routes.keepAnswer(route, {
    found: r.found,
    missing: r.missing.length,
    revision: r.revision,
    stale: r.stale,
    text,
  });
  return text;
}

/** Whether two answers found the same prepared versions (for the same keys, in order). */
function sameFound(a: readonly Prepared[], b: readonly Prepared[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The read route of `url`, or null when the fast path leaves it to the Hono routes. */
function parseRoute(url: string): Route | null {
  if (url.length > MAX_URL) return null;
  // Skip "scheme://host": the path starts at the first "/" after it.
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0 || !url.startsWith(PREFIX, start)) return null;
  const q = url.indexOf("?", start);
  const path = url.slice(start + PREFIX.length, q < 0 ? undefined : q);
  const parts = path.split("/");
  // app, "envs", env, "elements"[, key, "raw"]
  if (parts[1] !== "envs" || parts[3] !== "elements") return null;
  const app = parts[0]!;
  const env = parts[2]!;
  if (!isName("app", app) || !isName("env", env)) return null;
  if (parts.length === 4) {
    // Exactly one parameter, keys=…, of plain names (nothing to decode).
    if (q < 0 || !url.startsWith("keys=", q + 1)) return null;
    const list = url.slice(q + 6);
    if (list.includes("&") || list.includes("%")) return null;
    const keys = [...new Set(list.split(",").filter((k) => k !== ""))];
    if (keys.length === 0 || keys.length > MAX_KEYS) return null;
    for (const k of keys) if (!isName("element", k)) return null;
    return { app, env, keys, rawKey: undefined, last: undefined };
  }
  if (parts.length === 6 && parts[5] === "raw" && q < 0) {
    const key = parts[4]!;
    if (!isName("element", key)) return null;
    return { app, env, keys: [key], rawKey: key, last: undefined };
  }
  return null;
}
