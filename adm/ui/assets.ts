/**
 * The dashboard's static files: `/ui/style.css` and `/ui/client.js` (the
 * client script, bundled on first request by `bundle.ts` and kept in
 * memory for the life of the process). Both are served with an ETag and
 * `Cache-Control: no-cache`, so a browser revalidates (304) instead of
 * keeping a stale copy across an upgrade.
 *
 * A compiled binary serves the script `deno task compile` bundled into it
 * (`bundle.ts`). If the bundle cannot be built (no `deno` able to bundle and
 * nothing prebuilt), `/ui/client.js` is a small script that says so
 * in each editor's status line: the pages work without it and the server
 * still checks every save. The failure is logged and retried after a
 * minute.
 *
 * @module
 */

import { Hono } from "hono";
import { sha256Hex } from "../../shared/config/mod.ts";
import type { Logger } from "../../shared/log.ts";
import { bundleClientScript } from "./bundle.ts";
import type { UiEnv } from "./context.ts";
import { STYLE_CSS } from "./style.ts";

/** A file served from memory. */
export interface Asset {
  /** Its text. */
  readonly body: string;
  /** Its `Content-Type`. */
  readonly type: string;
  /** Its strong ETag (from a SHA-256 of the text). */
  readonly etag: string;
}

async function asset(body: string, type: string): Promise<Asset> {
  return { body, type, etag: `"${(await sha256Hex(body)).slice(0, 32)}"` };
}

/** How long a failed bundle is answered with the fallback before it is tried again. */
const RETRY_MS = 60_000;

let client: { promise: Promise<Asset>; failedAt?: number } | undefined;
let style: Promise<Asset> | undefined;

/** The script served when the bundle failed: it says so where the editor's verdict goes. */
function fallbackScript(reason: string): string {
  const text = `Live checking is unavailable (${reason}); the server checks the content on save.`;
  return `document.documentElement.dataset.client = "unavailable";
for (const el of document.querySelectorAll("[data-validation]")) el.textContent = ${
    JSON.stringify(text)
  };
`;
}

/** The client script (bundled once per process; see the module doc). */
export function clientScript(logger: Logger, now: number): Promise<Asset> {
  if (client && (client.failedAt === undefined || now - client.failedAt < RETRY_MS)) {
    return client.promise;
  }
  const entry: { promise: Promise<Asset>; failedAt?: number } = {
    promise: bundleClientScript().then(
      (js) => asset(js, "text/javascript; charset=utf-8"),
      (e) => {
        entry.failedAt = now;
        const reason = e instanceof Error ? e.message : String(e);
        logger.warn("the dashboard's editor runs without live checking", { cause: reason });
        return asset(
          fallbackScript("the script could not be built"),
          "text/javascript; charset=utf-8",
        );
      },
    ),
  };
  client = entry;
  return entry.promise;
}

/** The stylesheet. */
export function styleSheet(): Promise<Asset> {
  return (style ??= asset(STYLE_CSS, "text/css; charset=utf-8"));
}

function serve(a: Asset, ifNoneMatch: string | undefined): Response {
  const headers = { ETag: a.etag, "Cache-Control": "no-cache", "Content-Type": a.type };
  if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((t) => t.trim() === a.etag)) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(a.body, { status: 200, headers });
}

/** The asset routes, mounted at `/ui`. */
export function assetRoutes(): Hono<UiEnv> {
  const r = new Hono<UiEnv>();
  r.get("/style.css", async (c) => serve(await styleSheet(), c.req.header("If-None-Match")));
  r.get("/client.js", async (c) => {
    const deps = c.get("deps");
    return serve(await clientScript(deps.logger, deps.clock()), c.req.header("If-None-Match"));
  });
  return r;
}
