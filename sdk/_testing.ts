/**
 * For the SDK's in-process tests: agents (`createAgent` on a `MemoryDb`)
 * served over real HTTP on loopback, scripted stub agents for protocol
 * corner cases, and a URL where nothing listens.
 *
 * @module
 */

import type { Agent } from "../agent/mod.ts";
import { freePort, waitFor } from "../tests/support/procs.ts";

/** An HTTP server on 127.0.0.1; `close` ends its open streams first. */
export interface TestServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Requests it has had, in order. */
  readonly requests: Request[];
  /** Ends open stub streams and stops the server. */
  close(): Promise<void>;
}

/** Serves `handler` on a free loopback port. */
export function serve(
  handler: (req: Request, remoteAddr: string) => Response | Promise<Response>,
  streams: Set<ReadableStreamDefaultController<Uint8Array>> = new Set(),
): TestServer {
  const requests: Request[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => {
      requests.push(req);
      return handler(req, info.remoteAddr.hostname);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    async close() {
      for (const c of streams) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await server.shutdown();
    },
  };
}

/** Serves `agent`'s HTTP API as `agent/main.ts` does. */
export function serveAgent(agent: Agent): TestServer {
  return serve((req, remoteAddr) => agent.app.fetch(req, { remoteAddr }));
}

/** A stub SSE stream: `write` frames, `close` to end it. */
export interface StubStream {
  write(text: string): void;
  close(): void;
}

/**
 * A stub agent whose watch route runs `script` once per connection (with
 * the request and a stream to write SSE text to); other routes answer 404.
 */
export function stubAgent(
  script: (req: Request, stream: StubStream, n: number) => void | Promise<void>,
): TestServer {
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let n = 0;
  const enc = new TextEncoder();
  return serve((req) => {
    if (!new URL(req.url).pathname.endsWith("/watch")) {
      return new Response('{"error":{"code":"NOT_FOUND","message":"stub"}}', { status: 404 });
    }
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        ctl = c;
        streams.add(c);
      },
      cancel: () => void streams.delete(ctl),
    });
    const stream: StubStream = {
      write: (t) => {
        try {
          ctl.enqueue(enc.encode(t));
        } catch { /* the client is gone */ }
      },
      close: () => {
        streams.delete(ctl);
        try {
          ctl.close();
        } catch { /* closed */ }
      },
    };
    void script(req, stream, ++n);
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }, streams);
}

/** A loopback URL where nothing listens (a free port, handed out once). */
export function deadUrl(): string {
  return `http://127.0.0.1:${freePort()}`;
}

/** Polls `probe` every 20 ms until it is truthy; throws naming `what` after `timeoutMs`. */
export async function until(
  what: string,
  probe: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  await waitFor(what, () => probe() || undefined, { timeoutMs, everyMs: 20 });
}
