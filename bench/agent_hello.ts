/**
 * The baselines of `deno task bench agent`, in a process of its own like
 * the agent: a bare `Deno.serve` hello world, or (`--mimic URL`) a bare
 * `Deno.serve` answering every request with the exact body, content type
 * and `X-Cassem-Revision` that URL answered once at start — the same bytes
 * as the agent, without the agent. Prints `listening PORT`.
 *
 *   deno run -A bench/agent_hello.ts --port 0 [--mimic http://127.0.0.1:7081/v1/...]
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string", default: "0" }, mimic: { type: "string" } },
});
let body: Uint8Array<ArrayBuffer> = new TextEncoder().encode("hello world");
let headers: Record<string, string> | undefined;
if (values.mimic) {
  const r = await fetch(values.mimic, { headers: { "x-cassem-client-id": "bench-1" } });
  body = new Uint8Array(await r.arrayBuffer());
  headers = {};
  for (const name of ["content-type", "x-cassem-revision", "etag", "x-cassem-version", "vary"]) {
    const v = r.headers.get(name);
    if (v !== null) headers[name] = v;
  }
}
const server = Deno.serve({
  hostname: "127.0.0.1",
  port: Number(values.port),
  onListen: ({ port }) => console.log(`listening ${port}`),
}, () => new Response(body, headers ? { headers } : undefined));
Deno.addSignalListener("SIGTERM", () => void server.shutdown().then(() => Deno.exit(0)));
