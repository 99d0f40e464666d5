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
import { contentTypeHeader } from "../shared/config/mod.ts";
import type { ReadResult } from "./body.ts";
import { type AgentCore, parseRevision } from "./core.ts";
import { NotServedError } from "./errors.ts";
import { type AgentEnv, appEnvOf, clientOf, keysParam, nameParam } from "./http_common.ts";

/** Header: the agent's revision when it answered. */
export const REVISION_HEADER = "X-Cassem-Revision";
/** Header: `true` when cassemdb is out of reach and the answer may be out of date. */
export const STALE_HEADER = "X-Cassem-Stale";
/** Request header: do not answer from a revision older than this one (waits, bounded). */
export const MIN_REVISION_HEADER = "X-Cassem-Min-Revision";

/**
 * The headers every read answer carries. Kept few on purpose: each header
 * of a `Response` costs Deno about a microsecond, a tenth of a cached read.
 */
export function readHeaders(r: Pick<ReadResult, "revision" | "stale">): Record<string, string> {
  const h: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    [REVISION_HEADER]: String(r.revision),
  };
  if (r.stale) h[STALE_HEADER] = "true";
  return h;
}

/** The answer of the elements route for `r`. */
export function elementsResponse(r: ReadResult): Response {
  return new Response(r.json(), { headers: readHeaders(r) });
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
  const etag = `"${el.fingerprint}"`;
  const headers: Record<string, string> = {
    [REVISION_HEADER]: String(r.revision),
    etag,
    "x-cassem-version": String(el.version),
    // Another client may get another version (gray rules): shared caches must tell them apart.
    vary: "X-Cassem-Client-Id, X-Cassem-Labels",
  };
  if (r.stale) headers[STALE_HEADER] = "true";
  if (el.kind === "gray") headers["x-cassem-gray"] = "true";
  if (etagMatches(ifNoneMatch, etag)) return new Response(null, { status: 304, headers });
  headers["content-type"] = contentTypeHeader(el.contentType);
  return new Response(found.body.raw, { headers });
}

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
