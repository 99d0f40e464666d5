/**
 * CORS for browser clients on other origins (`--cors-origins`): off unless
 * origins are named. With it, `/v1/*` answers preflights and marks answers
 * for the named origins (or any, `*`), allowing the headers clients send
 * (client id, labels, secret, min revision, `Last-Event-ID`, `If-None-Match`)
 * and exposing those they read (revision, staleness, version, gray, `ETag`).
 *
 * A request carrying `Origin` then skips the fast read path (which sets no
 * CORS headers): browsers pay the routed path, other clients do not.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { CLIENT_ID_HEADER, LABELS_HEADER, SECRET_HEADER } from "./identity.ts";
import {
  GRAY_HEADER,
  MIN_REVISION_HEADER,
  REVISION_HEADER,
  STALE_HEADER,
  VERSION_HEADER,
} from "../shared/config/mod.ts";

/** Headers a browser client may send. */
export const CORS_ALLOW_HEADERS: readonly string[] = [
  CLIENT_ID_HEADER,
  LABELS_HEADER,
  SECRET_HEADER,
  MIN_REVISION_HEADER,
  "Last-Event-ID",
  "If-None-Match",
  "Content-Type",
];

/** Answer headers a browser client may read. */
export const CORS_EXPOSE_HEADERS: readonly string[] = [
  REVISION_HEADER,
  STALE_HEADER,
  VERSION_HEADER,
  GRAY_HEADER,
  "ETag",
];

/** Whether `text` is an origin as browsers send it (`scheme://host[:port]`), or `*`. */
export function isCorsOrigin(text: string): boolean {
  if (text === "*") return true;
  try {
    const u = new URL(text);
    return (u.protocol === "http:" || u.protocol === "https:") && u.origin === text;
  } catch {
    return false;
  }
}

/** The CORS middleware for `origins` (`["*"]`: any origin). */
export function corsMiddleware(origins: readonly string[]): MiddlewareHandler {
  return cors({
    origin: origins.includes("*") ? "*" : [...origins],
    allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    allowHeaders: [...CORS_ALLOW_HEADERS],
    exposeHeaders: [...CORS_EXPOSE_HEADERS],
    maxAge: 600,
  });
}
