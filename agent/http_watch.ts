/**
 * The change-push routes over HTTP:
 *
 *   GET  /v1/apps/:app/envs/:env/watch?keys=a,b     Server-Sent Events (`sse.ts`)
 *   POST /v1/apps/:app/envs/:env/poll               long poll
 *
 * @module
 */

import { Hono } from "hono";
import { z } from "zod";
import { describeIssue, MAX_KEYS, REVISION_HEADER } from "../shared/config/mod.ts";
import { type AgentCore, parseRevision, type Subscription } from "./core.ts";
import { BadRequestError } from "./errors.ts";
import {
  type AgentEnv,
  appEnvOf,
  clientOf,
  jsonBody,
  keysParam,
  nameParam,
} from "./http_common.ts";
import { elementsResponse } from "./http_reads.ts";
import { SseSink } from "./sse.ts";
import { SpreadWrites } from "./spread_writes.ts";

/** Options of {@linkcode watchRoutes}. */
export interface WatchRouteOptions {
  /** Bytes an SSE client may leave unread before it is cut off (default 4 MiB). */
  maxQueuedBytes?: number;
  /** Longest long poll, in ms (default 60,000). */
  maxPollMs?: number;
  /** Most SSE events enqueued in one turn of the event loop over every stream (default 128). */
  writesPerTurn?: number;
}

/** Default wait of a long poll, in ms. */
export const DEFAULT_POLL_MS = 30_000;

const PollBody = z.strictObject({
  /** Key → the fingerprint the client holds (null: it holds nothing). */
  held: z.record(z.string(), z.string().max(128).nullable()),
  /** The last revision the client saw (a lagging agent waits for it). */
  revision: z.number().int().min(0).optional(),
  /** How long to wait for a change, in ms. */
  timeoutMs: z.number().int().min(0).optional(),
});

/** The SSE and long-poll routes over `core`. */
export function watchRoutes(core: AgentCore, options: WatchRouteOptions = {}): Hono<AgentEnv> {
  const app = new Hono<AgentEnv>();
  const maxPollMs = options.maxPollMs ?? 60_000;
  // One for every stream: a push's events go out a turn's worth at a time, in order.
  const spread = new SpreadWrites(options.writesPerTurn);

  app.get("/v1/apps/:app/envs/:env/watch", async (c) => {
    const { app: appId, env } = appEnvOf(c);
    const accept = c.req.header("accept");
    if (accept !== undefined && !/text\/event-stream|\*\/\*/.test(accept)) {
      throw new BadRequestError(
        "Accept",
        `Cannot watch as this route answers text/event-stream: current Accept is ${
          JSON.stringify(accept.slice(0, 100))
        }`,
      );
    }
    const keys = keysParam(c.req.queries("keys"));
    const client = clientOf(c);
    const header = c.req.header("last-event-id");
    const since = header !== undefined
      ? parseRevision("Last-Event-ID", header)
      : parseRevision("lastEventId", c.req.query("lastEventId"));
    // The stream may end (client gone) before subscribe returns: the holder closes it then.
    const held: { sub?: Subscription; ended: boolean } = { ended: false };
    const sink = new SseSink({
      maxQueuedBytes: options.maxQueuedBytes,
      spread,
      onEnd: () => {
        held.ended = true;
        held.sub?.close();
      },
    });
    const sub = await core.subscribe(
      {
        app: appId,
        env,
        keys,
        client,
        since,
        sinceField: header !== undefined ? "Last-Event-ID" : "lastEventId",
      },
      sink,
    );
    held.sub = sub;
    if (held.ended) sub.close();
    // A client that goes away cancels the body stream, which ends the subscription (onEnd).
    return new Response(sink.body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
        [REVISION_HEADER]: String(core.state.revision),
      },
    });
  });

  app.post("/v1/apps/:app/envs/:env/poll", async (c) => {
    const { app: appId, env } = appEnvOf(c);
    const client = clientOf(c);
    const parsed = PollBody.safeParse(await jsonBody(c));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BadRequestError(
        issue && issue.path.length > 0 ? issue.path.join(".") : "body",
        `Cannot poll as ${describeIssue(parsed.error)}`,
      );
    }
    const body = parsed.data;
    const keys = Object.keys(body.held);
    if (keys.length === 0 || keys.length > MAX_KEYS) {
      throw new BadRequestError(
        "held",
        `Cannot poll as held must name 1 to ${MAX_KEYS} keys: current count is ${keys.length}`,
      );
    }
    keys.forEach((k) => nameParam("element", `held.${k.slice(0, 140)}`, k));
    const timeoutMs = body.timeoutMs ?? DEFAULT_POLL_MS;
    if (timeoutMs > maxPollMs) {
      throw new BadRequestError(
        "timeoutMs",
        `Cannot poll as timeoutMs must be at most ${maxPollMs}: current value is ${timeoutMs}`,
      );
    }
    const held = new Map(Object.entries(body.held));
    const r = await core.poll(
      { app: appId, env, keys, client, since: body.revision, held },
      timeoutMs,
      // Aborted when the client disconnects: its subscriber goes at once, not at the timeout.
      c.req.raw.signal,
    );
    return elementsResponse(r);
  });

  return app;
}
