/**
 * Top-N of a V8 `.cpuprofile` (from `deno run --cpu-prof`): self time by
 * function, self time by source (file or package), and total (inclusive)
 * time by function.
 *
 *   deno run -A bench/cpuprof_top.ts FILE.cpuprofile [--top 30] [--from S] [--to S]
 *
 * --from/--to keep only the samples taken in that window (seconds since the
 * profile started), e.g. to leave out start-up and shutdown. The first table
 * sorts self time into categories (sockets, HTTP/2, gRPC, protobuf, GC, Deno
 * KV, cassem's own raft / store / server code).
 *
 * @module
 */

import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    top: { type: "string", default: "30" },
    // Leave out start-up and shutdown: only samples in [from, to) seconds of the profile.
    from: { type: "string", default: "0" },
    to: { type: "string", default: "Infinity" },
  },
});
const file = positionals[0];
if (!file) {
  console.error(
    "Cannot read a profile as none was given: deno run -A bench/cpuprof_top.ts FILE.cpuprofile",
  );
  Deno.exit(2);
}
const top = Number(values.top);
const prof = JSON.parse(await Deno.readTextFile(file)) as Profile;

const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** The repository root as a file URL, so sources below it print as repository paths. */
const REPO = new URL("..", import.meta.url).href;

/** Short source name: the npm package, or the path below the repository, or the V8 pseudo-frame. */
function source(url: string): string {
  if (!url) return "(native/V8)";
  const npm = /node_modules\/(?:\.deno\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url) ??
    /registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)/.exec(url) ??
    /npm\/[^/]+\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (npm) return `npm:${npm[1]}`;
  if (url.startsWith("node:") || url.startsWith("ext:")) {
    return url.replace(/^(ext:[^/]+)\/.*/, "$1");
  }
  return url.startsWith(REPO) ? url.slice(REPO.length) : url.replace(/^file:\/\//, "");
}
function label(cf: CallFrame): string {
  const name = cf.functionName || "(anonymous)";
  if (!cf.url) return name;
  const file = source(cf.url).split("/").slice(-2).join("/");
  return `${name}  ${file}:${cf.lineNumber + 1}`;
}

const fromUs = Number(values.from) * 1e6;
const toUs = Number(values.to) * 1e6;
const selfUs = new Map<number, number>();
let totalUs = 0;
let at = 0;
for (let i = 0; i < prof.samples.length; i++) {
  at += prof.timeDeltas[i] ?? 0;
  const dt = prof.timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
  if (at < fromUs || at >= toUs) continue;
  selfUs.set(prof.samples[i]!, (selfUs.get(prof.samples[i]!) ?? 0) + dt);
  totalUs += dt;
}

/** A coarse bucket for a frame's self time. */
function category(cf: CallFrame): string {
  const fn = cf.functionName;
  const src = source(cf.url);
  if (fn === "(idle)") return "(idle)";
  if (fn === "(garbage collector)") return "GC";
  if (!cf.url) {
    if (/^(writeBuffer|writev|receive|readBuffer|readStart|readStop|shutdown)$/.test(fn)) {
      return "socket I/O (native TCP handle)";
    }
    if (fn.startsWith("op_kv")) return "Deno KV";
    return "V8 / runtime (native, program)";
  }
  if (src === "ext:deno_node" || src.startsWith("node:")) {
    return "Node compat (http2, streams, timers)";
  }
  if (src.startsWith("ext:")) return "Deno runtime (ext:core, web)";
  if (src === "npm:@grpc/grpc-js") return "grpc-js";
  if (/^npm:(protobufjs|@protobufjs\/.*|@grpc\/proto-loader|long)$/.test(src)) {
    return "protobuf (protobufjs)";
  }
  if (src.startsWith("npm:")) return src;
  if (src.startsWith("shared/raft/")) return "cassem raft (shared/raft)";
  if (src.startsWith("shared/store/")) return "cassem store (shared/store)";
  if (src.startsWith("db/peer/")) return "cassem peer transport (db/peer)";
  if (src.startsWith("db/") || src.startsWith("shared/")) {
    return "cassem server (db/server, shared)";
  }
  return src;
}

const selfByCat = new Map<string, number>();
const selfByFn = new Map<string, number>();
const selfBySrc = new Map<string, number>();
const totalByFn = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const l = label(n.callFrame);
  selfByFn.set(l, (selfByFn.get(l) ?? 0) + us);
  const cat = category(n.callFrame);
  selfByCat.set(cat, (selfByCat.get(cat) ?? 0) + us);
  const src = ["(idle)", "(program)", "(garbage collector)"].includes(n.callFrame.functionName)
    ? n.callFrame.functionName
    : source(n.callFrame.url);
  selfBySrc.set(src, (selfBySrc.get(src) ?? 0) + us);
  // Inclusive: every distinct function on the stack gets the sample once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const fl = label(byId.get(cur)!.callFrame);
    if (seen.has(fl)) continue;
    seen.add(fl);
    totalByFn.set(fl, (totalByFn.get(fl) ?? 0) + us);
  }
}

const idle = selfByFn.get("(idle)") ?? 0;
const busy = totalUs - idle;
const pct = (us: number, of: number) => `${((100 * us) / of).toFixed(1).padStart(5)}%`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
console.log(`${file}`);
console.log(
  `profiled ${(totalUs / 1e6).toFixed(1)} s: idle ${pct(idle, totalUs)}, busy ${
    (busy / 1e6).toFixed(1)
  } s ` +
    `(percentages below are of busy time)\n`,
);
const print = (title: string, m: Map<string, number>, skipIdle = true) => {
  console.log(title);
  [...m].filter(([k]) => !skipIdle || !k.startsWith("(idle)") && k !== "(root)")
    .sort((a, b) => b[1] - a[1]).slice(0, top)
    .forEach(([k, us]) => console.log(`${ms(us)} ${pct(us, busy)}  ${k}`));
  console.log();
};
print("self time by category", selfByCat);
print("self time by source", selfBySrc);
print("self time by function", selfByFn);
print("total (inclusive) time by function", totalByFn);
