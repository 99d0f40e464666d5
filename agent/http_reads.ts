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
import { type AgentCore, parseRevision, type ReadResult } from "./core.ts";
import { NotServedError } from "./errors.ts";
import { type AgentEnv, appEnvOf, clientOf, json, keysParam, nameParam } from "./http_common.ts";

/** Header: the agent's revision when it answered. */
export const REVISION_HEADER = "X-Cassem-Revision";
/** Header: `true` when cassemdb is out of reach and the answer may be out of date. */
export const STALE_HEADER = "X-Cassem-Stale";
/** Request header: do not answer from a revision older than this one (waits, bounded). */
export const MIN_REVISION_HEADER = "X-Cassem-Min-Revision";

/** The headers every read answer carries. */
export function readHeaders(r: Pick<ReadResult, "revision" | "stale">): Record<string, string> {
  const h: Record<string, string> = {
    [REVISION_HEADER]: String(r.revision),
    "cache-control": "no-cache",
    vary: "X-Cassem-Client-Id, X-Cassem-Labels, X-Cassem-Secret",
  };
  if (r.stale) h[STALE_HEADER] = "true";
  return h;
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
    const r = await core.read(appId, env, keys, client, { minRevision });
    return json(
      { elements: r.elements, missing: r.missing, revision: r.revision },
      200,
      readHeaders(r),
    );
  });

  app.get("/v1/apps/:app/envs/:env/elements/:key/raw", async (c) => {
    const { app: appId, env } = appEnvOf(c);
    const key = nameParam("element", "key", c.req.param("key"));
    const client = clientOf(c);
    const minRevision = parseRevision(MIN_REVISION_HEADER, c.req.header(MIN_REVISION_HEADER));
    const r = await core.read(appId, env, [key], client, { minRevision });
    const el = r.elements[0];
    if (!el) throw new NotServedError("key", key, `element of ${appId}/${env}`);
    const etag = `"${el.fingerprint}"`;
    const headers = {
      ...readHeaders(r),
      etag,
      "x-cassem-version": String(el.version),
      ...(el.gray ? { "x-cassem-gray": "true" } : {}),
    };
    if (etagMatches(c.req.header("if-none-match"), etag)) {
      return new Response(null, { status: 304, headers });
    }
    const type = el.contentType as Parameters<typeof contentTypeHeader>[0];
    return new Response(el.raw, {
      status: 200,
      headers: { ...headers, "content-type": contentTypeHeader(type) },
    });
  });

  return app;
}
