/**
 * A watcher process of `deno task bench agent`: opens `--count` SSE streams
 * or gRPC Watch streams to one agent on one key, prints `ready` once every
 * stream has received its initial state, then records the wall time
 * (`performance.timeOrigin + performance.now()`, ms) at which each stream
 * receives each version. When every stream has version `--last` (or
 * `--timeout` seconds pass) it prints one JSON line
 * `{ "times": { version: [ms, ...] }, "streams": n, "errors": n, "cpuMs": n }`
 * (`cpuMs`: its CPU time since every stream was ready) and exits. A stream
 * that has version `--last` is left open until then: closing each one as it
 * finishes made the agent tear down hundreds of streams (and end their
 * instance records in cassemdb) while it still delivered the last version
 * to the others, which then arrived up to 100 ms late — a cost of the
 * benchmark, not of a push.
 *
 *   deno run -A bench/agent_watchers.ts --kind sse --url http://127.0.0.1:7081 \
 *     --count 500 --app bench --env prod --key hot --last 31
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { CHANNEL_OPTIONS, grpc, loadProto, serviceOf } from "../shared/grpc.ts";

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    kind: { type: "string", default: "sse" },
    url: { type: "string", default: "" },
    grpc: { type: "string", default: "" },
    count: { type: "string", default: "100" },
    app: { type: "string", default: "bench" },
    env: { type: "string", default: "prod" },
    key: { type: "string", default: "hot" },
    last: { type: "string", default: "10" },
    timeout: { type: "string", default: "120" },
    channels: { type: "string", default: "10" },
  },
});
const count = Number(v.count);
const last = Number(v.last);
const now = () => performance.timeOrigin + performance.now();
const times = new Map<number, number[]>();
let readyStreams = 0;
let doneStreams = 0;
let errors = 0;
const finished = Promise.withResolvers<void>();

function got(version: number): void {
  const t = now();
  let list = times.get(version);
  if (!list) times.set(version, list = []);
  list.push(t);
}
/** This process's CPU time (user + system, µs) when every stream was ready. */
let cpuAtReady: NodeJS.CpuUsage | undefined;

function ready(): void {
  if (++readyStreams === count) {
    cpuAtReady = process.cpuUsage();
    console.log("ready");
  }
}
function done(): void {
  if (++doneStreams === count) finished.resolve();
}

/**
 * One SSE stream over a raw TCP connection: the request written by hand and
 * the bytes scanned for `event: ready` and `"version":N` (chunked framing
 * lines never match either). A client this thin keeps the watcher
 * processes' own CPU out of the measured latency as far as possible.
 */
async function sse(i: number): Promise<void> {
  const url = new URL(v.url!);
  try {
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    const req = `GET /v1/apps/${v.app}/envs/${v.env}/watch?keys=${v.key} HTTP/1.1\r\n` +
      `Host: ${url.host}\r\nAccept: text/event-stream\r\n` +
      `X-Cassem-Client-Id: bench-sse-${Deno.pid}-${i}\r\n\r\n`;
    await conn.write(new TextEncoder().encode(req));
    const decoder = new TextDecoder();
    const buf = new Uint8Array(64 * 1024);
    let isReady = false;
    let carry = "";
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      const text = carry + decoder.decode(buf.subarray(0, n), { stream: true });
      // Keep the tail: a version number or "ready" may be split across reads.
      const cut = text.lastIndexOf("\n");
      carry = cut < 0 ? text : text.slice(cut + 1);
      let whole = cut < 0 ? "" : text.slice(0, cut + 1);
      if (!isReady) {
        const at = whole.indexOf("event: ready");
        if (at < 0) continue;
        isReady = true;
        ready();
        whole = whole.slice(at); // the initial state came before ready
      }
      for (const m of whole.matchAll(/"version":(\d+)/g)) {
        const version = Number(m[1]);
        got(version);
        if (version >= last) {
          // Left open: the process exits once every stream is done (see the module doc).
          done();
          return;
        }
      }
    }
  } catch {
    errors++;
  }
  done();
}

// deno-lint-ignore no-explicit-any
function grpcStream(client: any, i: number): void {
  const md = new grpc.Metadata();
  md.set("x-cassem-client-id", `bench-grpc-${Deno.pid}-${i}`);
  const call = client.Watch({ app: v.app, env: v.env, keys: [v.key] }, md);
  let isReady = false;
  let finishedThis = false;
  const end = () => {
    if (!finishedThis) {
      finishedThis = true;
      done();
    }
  };
  call.on("data", (m: { kind: string; elements: { version: number }[] }) => {
    if (m.kind === "READY") {
      isReady = true;
      ready();
      return;
    }
    if (m.kind !== "CHANGE" || !isReady) return;
    for (const el of m.elements) {
      const version = Number(el.version);
      got(version);
      if (version >= last) end(); // left open (see the module doc)
    }
  });
  call.on("error", () => {
    if (!finishedThis) errors++;
    end();
  });
  call.on("end", end);
}

if (v.kind === "sse") {
  for (let i = 0; i < count; i++) void sse(i);
} else {
  const Svc = serviceOf(loadProto("agent.proto", "cassemagent"), "Agent");
  const channels = Array.from(
    { length: Number(v.channels) },
    () =>
      new Svc(v.grpc!, grpc.credentials.createInsecure(), {
        ...CHANNEL_OPTIONS,
        // One channel per client object: streams spread over several HTTP/2 connections.
        "grpc.use_local_subchannel_pool": 1,
      }),
  );
  for (let i = 0; i < count; i++) grpcStream(channels[i % channels.length], i);
}

const timer = setTimeout(() => finished.resolve(), Number(v.timeout) * 1000);
await finished.promise;
clearTimeout(timer);
// CPU spent receiving the pushes (after every stream was ready), in ms.
const cpu = process.cpuUsage(cpuAtReady);
const cpuMs = (cpu.user + cpu.system) / 1000;
console.log(JSON.stringify({ times: Object.fromEntries(times), streams: count, errors, cpuMs }));
// Streams and channels must not keep the process alive; exiting also closes them.
Deno.exit(0);
