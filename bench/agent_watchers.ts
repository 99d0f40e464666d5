/**
 * A watcher process of `deno task bench agent`: opens `--count` SSE streams
 * or gRPC Watch streams to one agent on one key, prints `ready` once every
 * stream has received its initial state, then records the wall time
 * (`performance.timeOrigin + performance.now()`, ms) at which each stream
 * receives each version. When every stream has version `--last` (or
 * `--timeout` seconds pass) it prints one JSON line
 * `{ "times": { version: [ms, ...] }, "streams": n, "errors": n }` and exits.
 *
 *   deno run -A bench/agent_watchers.ts --kind sse --url http://127.0.0.1:7081 \
 *     --count 500 --app bench --env prod --key hot --last 31
 *
 * @module
 */

import { parseArgs } from "node:util";
import { SseReader } from "../agent/_sse_reader.ts";
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
function ready(): void {
  if (++readyStreams === count) console.log("ready");
}
function done(): void {
  if (++doneStreams === count) finished.resolve();
}

async function sse(i: number): Promise<void> {
  try {
    const r = await fetch(`${v.url}/v1/apps/${v.app}/envs/${v.env}/watch?keys=${v.key}`, {
      headers: { accept: "text/event-stream", "x-cassem-client-id": `bench-sse-${Deno.pid}-${i}` },
    });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    const reader = new SseReader(r.body!);
    let isReady = false;
    for (;;) {
      const ev = await reader.next(Number(v.timeout) * 1000);
      if (!ev) break;
      if (ev.event === "ready") {
        isReady = true;
        ready();
      } else if (ev.event === "message" && isReady) {
        const version = JSON.parse(ev.data).version as number;
        got(version);
        if (version >= last) {
          done();
          await reader.cancel();
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
      if (version >= last) {
        end();
        call.cancel();
      }
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
console.log(JSON.stringify({ times: Object.fromEntries(times), streams: count, errors }));
// Streams and channels must not keep the process alive; exiting also closes them.
Deno.exit(0);
