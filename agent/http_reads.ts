/**
 * The read routes: elements as JSON, and one element's raw text with its
 * content type and ETag (so `curl` is a client).
 *
 *   GET /v1/apps/:app/envs/:env/elements?keys=a,b
 *   GET /v1/apps/:app/envs/:env/elements/:key/raw
 *
 * @module
 */

import { Hono } from "hono";
import {
  CLIENT_ID_HEADER,
  CONTENT_TYPES,
  type ContentType,
  contentTypeHeader,
  GRAY_HEADER,
  LABELS_HEADER,
  MIN_REVISION_HEADER,
  REVISION_HEADER,
  STALE_HEADER,
  VERSION_HEADER,
} from "../shared/config/mod.ts";
import type { ReadResult } from "./body.ts";
import { type AgentCore, parseRevision } from "./core.ts";
import { NotServedError } from "./errors.ts";
import { type AgentEnv, appEnvOf, clientOf, keysParam, nameParam } from "./http_common.ts";

/** The init of a JSON answer: its content type alone (see {@linkcode answer}). */
const JSON_INIT: ResponseInit = { headers: { "content-type": "application/json; charset=utf-8" } };

/**
 * A 200 answer of `body` with the content type of `init` and the headers
 * every read answer carries (kept few on purpose: each costs Deno time per
 * request): `X-Cassem-Revision`, and `X-Cassem-Stale` when stale. Made with the content type alone and the other headers
 * set after: Deno 2.9.6 builds a native response at once (and registers it
 * for finalization) for a `Response` constructed with two headers or more,
 * about 3 µs; a content type alone is kept as a static answer, and headers
 * set later go out with it for a fraction of that.
 */
function answer(
  body: string,
  init: ResponseInit,
  r: Pick<ReadResult, "revision" | "stale">,
): Response {
  const res = new Response(body, init);
  const h = res.headers;
  h.set(REVISION_HEADER, String(r.revision));
  if (r.stale) h.set(STALE_HEADER, "true");
  return res;
}

/** The answer of the elements route for `r` (whose JSON text is `json`, when given). */
export function elementsResponse(r: ReadResult, json: string = r.json()): Response {
  return answer(json, JSON_INIT, r);
}

/**
 * The answer of the raw route for `r` (a read of `key` alone): the raw text,
 * or 304 when `ifNoneMatch` matches its ETag.
 * @throws {NotServedError} when the key has no version for this client.
 */
export function rawResponse(
  r: ReadResult,
  where: { app: string; env: string; key: string },
  ifNoneMatch: string | undefined,
): Response {
  const found = r.found[0];
  if (!found) throw new NotServedError("key", where.key, `element of ${where.app}/${where.env}`);
  const el = found.version;
  const etag = found.etag;
  if (etagMatches(ifNoneMatch, etag)) {
    const headers: Record<string, string> = {
      [REVISION_HEADER]: String(r.revision),
      etag,
      [VERSION_HEADER]: String(el.version),
      vary: VARY,
    };
    if (r.stale) headers[STALE_HEADER] = "true";
    if (el.kind === "gray") headers[GRAY_HEADER] = "true";
    return new Response(null, { status: 304, headers });
  }
  const res = answer(found.raw, RAW_INIT[el.contentType], r);
  const h = res.headers;
  h.set("etag", etag);
  h.set(VERSION_HEADER, String(el.version));
  h.set("vary", VARY);
  if (el.kind === "gray") h.set(GRAY_HEADER, "true");
  return res;
}

/** Another client may get another version (gray rules): shared caches must tell them apart. */
const VARY = `${CLIENT_ID_HEADER}, ${LABELS_HEADER}`;

/** The init of a raw answer per content type: its MIME type alone (see {@linkcode answer}). */
const RAW_INIT = {} as Record<ContentType, ResponseInit>;
for (const t of CONTENT_TYPES) RAW_INIT[t] = { headers: { "content-type": contentTypeHeader(t) } };

/** Whether an `If-None-Match` value matches `etag` (quoted). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(",").some((t) => {
    const v = t.trim().replace(/^W\//, "");
    return v === "*" || v === etag || `"${v}"` === etag;
  });
}

/** The read routes over `core`. */
export function readRoutes(core: AgentCore): Hono<AgentEnv> {
  const app = new Hono<AgentEnv>();

  app.get("/v1/apps/:app/envs/:env/elements", async (c) => {
    const { app: appId, env } = appEnvOf(c);
    const keys = keysParam(c.req.queries("keys"));
    const client = clientOf(c);
    const minRevision = parseRevision(MIN_REVISION_HEADER, c.req.header(MIN_REVISION_HEADER));
    return elementsResponse(await core.read(appId, env, keys, client, { minRevision }));
  });

  app.get("/v1/apps/:app/envs/:env/elements/:key/raw", async (c) => {
    const { app: appId, env } = appEnvOf(c);
    const key = nameParam("element", "key", c.req.param("key"));
    const client = clientOf(c);
    const minRevision = parseRevision(MIN_REVISION_HEADER, c.req.header(MIN_REVISION_HEADER));
    const r = await core.read(appId, env, [key], client, { minRevision });
    return rawResponse(r, { app: appId, env, key }, c.req.header("if-none-match"));
  });

  return app;
}
