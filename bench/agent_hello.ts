/**
 * The baselines of `deno task bench agent`, in a process of its own like
 * the agent: a bare `Deno.serve` hello world, or (`--mimic URL`) a bare
 * `Deno.serve` answering every request with the exact body, content type
 * and `X-Cassem-Revision` that URL answered once at start — the same bytes
 * as the agent, without the agent. With `--read-request` the handler also
 * reads what any real handler must (the URL and the client id header): a
 * handler that takes no argument lets Deno skip building the request. With
 * `--body-bytes N` the hello world answers N bytes of text instead (how the
 * runtime's cost grows with the body: from 512 bytes of this byte body, or
 * about 390 of a string body, it writes the head and the body in two system
 * calls). Prints `listening PORT`.
 *
 *   deno run -A bench/agent_hello.ts --port 0 [--mimic http://127.0.0.1:7081/v1/...] [--read-request]
 *   deno run -A bench/agent_hello.ts --port 9901 --body-bytes 1200
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "0" },
    mimic: { type: "string" },
    "read-request": { type: "boolean", default: false },
    "body-bytes": { type: "string" },
  },
});
let body: Uint8Array<ArrayBuffer> = new TextEncoder().encode(
  values["body-bytes"] === undefined ? "hello world" : "x".repeat(Number(values["body-bytes"])),
);
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
const init = headers ? { headers } : undefined;
const answer = () => new Response(body, init);
const server = Deno.serve(
  {
    hostname: "127.0.0.1",
    port: Number(values.port),
    onListen: ({ port }) => console.log(`listening ${port}`),
  },
  values["read-request"]
    ? (req: Request) =>
      req.url.length > 0 && req.headers.get("x-cassem-client-id") !== "" ? answer() : answer()
    : answer,
);
Deno.addSignalListener("SIGTERM", () => void server.shutdown().then(() => Deno.exit(0)));
