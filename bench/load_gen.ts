/**
 * A closed-loop gRPC load generator, run by the benchmarks as a process of
 * its own so that its CPU is not the server's. It makes raw grpc-js unary
 * calls (no DbClient: no retries, no leader following) to the one address it
 * is given, and prints one JSON line: ops/s, p50 and p99 in ms, errors.
 *
 *   deno run -A bench/load_gen.ts --target 127.0.0.1:7021 --protocol cassem \
 *     --op set --concurrency 64 --duration 5 --value-size 256 --keys 1000
 *
 * protocol: cassem | etcd | echo
 * op:       set | get-lin | get-ser | fill (set every key once, in order) | echo
 *
 * Keys are `<prefix>k<i>` with i drawn uniformly from [0, keys). A warm-up
 * (default 0.5 s, not counted) opens the connection and warms the JIT first;
 * `{"phase":"measure"}` is printed when the counted phase starts (the bench
 * samples the servers' CPU time from there to the result line).
 * Bounded by --max-ops and --duration; a call's deadline is 10 s.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Protocol, RawClient, type UnaryCall } from "./_rpc.ts";
import { percentile } from "./_stats.ts";

const { values: v } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    target: { type: "string" },
    protocol: { type: "string", default: "cassem" },
    op: { type: "string", default: "set" },
    concurrency: { type: "string", default: "1" },
    duration: { type: "string", default: "5" },
    "value-size": { type: "string", default: "256" },
    keys: { type: "string", default: "1000" },
    "max-ops": { type: "string", default: "1000000" },
    warmup: { type: "string", default: "0.5" },
    prefix: { type: "string", default: "bench/" },
  },
});

function num(name: string, raw: string | undefined, min: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    console.error(
      `Cannot run the load generator as --${name} must be a number ≥ ${min}: current value is ${raw}`,
    );
    Deno.exit(2);
  }
  return n;
}

const target = v.target;
if (!target) {
  console.error("Cannot run the load generator as --target HOST:PORT is missing");
  Deno.exit(2);
}
const protocol = v.protocol as Protocol;
const op = v.op!;
const concurrency = num("concurrency", v.concurrency, 1);
const durationMs = num("duration", v.duration, 0.1) * 1000;
const valueSize = num("value-size", v["value-size"], 0);
const keyCount = num("keys", v.keys, 1);
const maxOps = num("max-ops", v["max-ops"], 1);
const warmupMs = num("warmup", v.warmup, 0) * 1000;

const value = new Uint8Array(valueSize);
for (let i = 0; i < valueSize; i++) value[i] = (i * 31 + 7) & 0xff;
const enc = new TextEncoder();
const keys = Array.from({ length: keyCount }, (_, i) => `${v.prefix}k${i}`);

/** Per protocol and op: which method, and the request for key number i (built once). */
function plan(): { service: string; method: string; requests: unknown[] } {
  const isSet = op === "set" || op === "fill";
  if (protocol === "cassem") {
    if (isSet) {
      return {
        service: "KV",
        method: "SetKV",
        requests: keys.map((key) => ({ key, val: value, overwrite: true })),
      };
    }
    if (op === "get-lin" || op === "get-ser") {
      const read = { serializable: op === "get-ser" };
      return { service: "KV", method: "GetKV", requests: keys.map((key) => ({ key, read })) };
    }
  } else if (protocol === "etcd") {
    if (isSet) {
      return {
        service: "KV",
        method: "Put",
        requests: keys.map((k) => ({ key: enc.encode(k), value })),
      };
    }
    if (op === "get-lin" || op === "get-ser") {
      const serializable = op === "get-ser";
      return {
        service: "KV",
        method: "Range",
        requests: keys.map((k) => ({ key: enc.encode(k), serializable })),
      };
    }
  } else if (protocol === "echo" && op === "echo") {
    return { service: "Echo", method: "Echo", requests: [{ data: value }] };
  }
  console.error(`Cannot run the load generator as op ${op} is not known for protocol ${protocol}`);
  Deno.exit(2);
}

const { service, method, requests } = plan();
const client = new RawClient(target, protocol, service);
const call: UnaryCall = client.method(method);

interface Phase {
  latencies: number[];
  errors: number;
  firstError?: string;
  elapsedMs: number;
}

/** `concurrency` loops until `limit` calls started or `ms` passed; `pick` chooses each request. */
async function phase(ms: number, limit: number, pick: () => unknown | undefined): Promise<Phase> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + ms;
  const loop = async () => {
    while (started < limit && performance.now() < deadline) {
      const req = pick();
      if (req === undefined) return;
      started++;
      const s = performance.now();
      try {
        await call(req);
        latencies.push(performance.now() - s);
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { latencies, errors, firstError, elapsedMs: performance.now() - t0 };
}

/** CPU time (user + system) of this process so far, in ms (Linux). */
function cpuMs(): number {
  try {
    const f = Deno.readTextFileSync("/proc/self/stat").split(")").pop()!.trim().split(" ");
    return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
  } catch {
    return NaN;
  }
}
let clientCpuMs = NaN;

const random = () => requests[Math.floor(Math.random() * requests.length)];
let result: Phase;
if (op === "fill") {
  let next = 0;
  result = await phase(durationMs, requests.length, () => requests[next++]);
} else {
  if (warmupMs > 0) await phase(warmupMs, maxOps, random);
  // The parent samples the servers' CPU time between this line and the result.
  console.log(JSON.stringify({ phase: "measure" }));
  const cpu0 = cpuMs();
  result = await phase(durationMs, maxOps, random);
  clientCpuMs = cpuMs() - cpu0;
}
client.close();

const sorted = result.latencies.sort((a, b) => a - b);
const seconds = result.elapsedMs / 1000;
console.log(JSON.stringify({
  protocol,
  op,
  target,
  concurrency,
  ops: sorted.length,
  seconds: Number(seconds.toFixed(3)),
  opsPerSec: Math.round(sorted.length / seconds),
  p50: Number(percentile(sorted, 50).toFixed(3)),
  p99: Number(percentile(sorted, 99).toFixed(3)),
  errors: result.errors,
  clientCpuMs,
  ...(result.firstError ? { firstError: result.firstError } : {}),
}));
Deno.exit(0);
