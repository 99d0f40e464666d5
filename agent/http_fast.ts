/**
 * The fast path of the two read routes, in front of the Hono app: a GET of
 * `/v1/apps/{app}/envs/{env}/elements?keys=…` or `…/elements/{key}/raw`
 * whose answer is already in memory ({@linkcode AgentCore.readNow}) is
 * answered here, synchronously, without the router, middleware or a
 * promise. Anything else — another route, an unusual query, any error, a
 * body to fetch, a secret to verify, `X-Cassem-Min-Revision` — returns
 * `undefined` and goes through the Hono routes, which answer the same
 * request the same way (`http_reads.ts` builds both answers). Profiling a
 * cached read showed the router and async plumbing at about a third of its
 * CPU.
 *
 * @module
 */

import { isName } from "../shared/config/mod.ts";
import type { AgentCore } from "./core.ts";
import { MAX_KEYS, MAX_URL } from "./http_common.ts";
import { elementsResponse, MIN_REVISION_HEADER, rawResponse } from "./http_reads.ts";
import { identityFrom } from "./identity.ts";

const PREFIX = "/v1/apps/";

/** The answer to `req` when the fast path can give it, else `undefined`. */
export function fastRead(core: AgentCore, req: Request, remoteAddr: string): Response | undefined {
  if (req.method !== "GET") return undefined;
  const url = req.url;
  if (url.length > MAX_URL) return undefined;
  // Skip "scheme://host": the path starts at the first "/" after it.
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0 || !url.startsWith(PREFIX, start)) return undefined;
  const q = url.indexOf("?", start);
  const path = url.slice(start + PREFIX.length, q < 0 ? undefined : q);
  const parts = path.split("/");
  // app, "envs", env, "elements"[, key, "raw"]
  if (parts[1] !== "envs" || parts[3] !== "elements") return undefined;
  const app = parts[0]!;
  const env = parts[2]!;
  if (!isName("app", app) || !isName("env", env)) return undefined;
  const headers = req.headers;
  if (headers.has(MIN_REVISION_HEADER)) return undefined;
  let keys: string[];
  let rawKey: string | undefined;
  if (parts.length === 4) {
    // Exactly one parameter, keys=…, of plain names (nothing to decode).
    if (q < 0 || !url.startsWith("keys=", q + 1)) return undefined;
    const list = url.slice(q + 6);
    if (list.includes("&") || list.includes("%")) return undefined;
    keys = [...new Set(list.split(",").filter((k) => k !== ""))];
    if (keys.length === 0 || keys.length > MAX_KEYS) return undefined;
    for (const k of keys) if (!isName("element", k)) return undefined;
  } else if (parts.length === 6 && parts[5] === "raw" && q < 0) {
    rawKey = parts[4]!;
    if (!isName("element", rawKey)) return undefined;
    keys = [rawKey];
  } else return undefined;
  let client;
  try {
    client = identityFrom((name) => headers.get(name) ?? undefined, remoteAddr);
  } catch {
    return undefined; // the Hono route reports it
  }
  const r = core.readNow(app, env, keys, client);
  if (!r) return undefined;
  if (rawKey === undefined) return elementsResponse(r);
  if (r.found.length === 0) return undefined; // a 404, answered by the route
  return rawResponse(r, { app, env, key: rawKey }, headers.get("if-none-match") ?? undefined);
}
