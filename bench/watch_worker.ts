/**
 * One process of watchers for `deno task bench watch`: opens `--watchers`
 * watches (DbClient.watch, one shared client and connection) on `--prefix`
 * at `--endpoint`, prints `{"ready":N}` once every watch has its first
 * message, and records the receive time of every change.
 *
 * Then, for each line the parent writes to stdin — one round of changes,
 * `{"commits":[[revision, epochMs], ...]}` with the time the writer got each
 * SetKV response — it waits until every watcher has passed the round's last
 * revision (or `--timeout` seconds) and prints one JSON line with the
 * latencies, in ms, of that round's deliveries:
 *
 * - `fromResp`: receive time − the writer's SetKV response time. Both clocks
 *   are `performance.timeOrigin + performance.now()` of processes on the same
 *   host; the response leaves the leader after the commit and apply, so this
 *   slightly underestimates (it can even be negative for a watcher on the
 *   leader that is served before the response is).
 * - `fromUpdatedAt`: receive time − the entity's `updatedAt`, the leader's
 *   `Date.now()` when it took the SetKV (before raft: it includes the
 *   commit; whole milliseconds).
 * - `last`: per revision, the latest receive time in this process.
 *
 * An empty line or the end of stdin ends the process.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  DbClient,
  type Watch,
  type WatchEvent as WatchResp,
  type WatchRequest as WatchReq,
} from "../shared/db/mod.ts";
import { CHANNEL_OPTIONS, grpc } from "../shared/grpc.ts";
import { loadPackage } from "./_rpc.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    endpoint: { type: "string" },
    watchers: { type: "string", default: "500" },
    prefix: { type: "string", default: "watch/" },
    timeout: { type: "string", default: "120" },
    // Raw grpc-js streams on a channel with this HTTP/2 flow-control window
    // (grpc-node.flow_control_window) instead of DbClient: a diagnostic.
    "flow-window": { type: "string" },
  },
});
const n = Number(values.watchers);
const timeoutMs = Number(values.timeout) * 1000;
const now = () => performance.timeOrigin + performance.now();

const client = new DbClient({ endpoints: [values.endpoint!], timeoutMs: 30_000 });
/** Per watcher: revision, receive time and updatedAt of each delivery. */
const revs: number[][] = Array.from({ length: n }, () => []);
const recv: number[][] = Array.from({ length: n }, () => []);
const updated: number[][] = Array.from({ length: n }, () => []);
let retries = 0;
let firstRetry: string | undefined;
/** Resolved when every watcher's last revision reaches `target`. */
let target = Infinity;
let behind = 0;
let onCaughtUp: (() => void) | undefined;

type Handlers = Parameters<DbClient["watch"]>[1];
const rawChannel = values["flow-window"]
  ? new grpc.Client(values.endpoint!, grpc.credentials.createInsecure(), {
    ...CHANNEL_OPTIONS,
    "grpc-node.flow_control_window": Number(values["flow-window"]),
  })
  : undefined;
/** A bare server stream (no resume): enough for a diagnostic on a healthy cluster. */
function rawWatch(req: WatchReq, h: Handlers): Watch {
  const def = (loadPackage("cassem").KV as grpc.ServiceClientConstructor).service.Watch!;
  let last = 0;
  const stream = rawChannel!.makeServerStreamRequest(
    def.path,
    def.requestSerialize,
    def.responseDeserialize,
    req,
    new grpc.Metadata(),
    {},
  );
  stream.on("data", (resp: WatchResp) => {
    last = resp.revision;
    if (resp.changes.length > 0) h.onChanges(resp);
  });
  stream.on("error", (e: Error) => h.onRetry?.(e));
  return {
    get revision() {
      return last;
    },
    close: () => stream.cancel(),
    done: Promise.resolve(),
  };
}

const watches: Watch[] = [];
for (let w = 0; w < n; w++) {
  const open = rawChannel ? rawWatch : (req: WatchReq, h: Handlers) => client.watch(req, h);
  watches.push(open({ keys: [values.prefix!], prefix: true }, {
    onChanges(resp) {
      const t = now();
      const before = revs[w]!.at(-1) ?? 0;
      revs[w]!.push(resp.revision);
      recv[w]!.push(t);
      updated[w]!.push(resp.changes[0]?.current?.updatedAt ?? NaN);
      if (before < target && resp.revision >= target && --behind === 0) onCaughtUp?.();
    },
    onRetry(e) {
      retries++;
      firstRetry ??= e.message;
    },
  }));
}
// A watch's revision turns positive with its first message (the cluster has written before).
const t0 = Date.now();
while (watches.some((w) => w.revision === 0)) {
  if (Date.now() - t0 > 60_000) {
    console.error("Cannot start every watch within 60 s");
    Deno.exit(1);
  }
  await new Promise((r) => setTimeout(r, 20));
}
console.log(JSON.stringify({ ready: n }));

const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
let buf = "";
async function nextLine(): Promise<string> {
  while (!buf.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) return "";
    buf += value;
  }
  const i = buf.indexOf("\n");
  const line = buf.slice(0, i);
  buf = buf.slice(i + 1);
  return line;
}

for (;;) {
  const line = await nextLine();
  if (!line.trim()) break;
  const { commits } = JSON.parse(line) as { commits: [number, number][] };
  const commitAt = new Map(commits);
  target = Math.max(...commits.map((c) => c[0]));
  behind = revs.filter((r) => (r.at(-1) ?? 0) < target).length;
  const started = now();
  if (behind > 0) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      onCaughtUp = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    onCaughtUp = undefined;
  }
  const fromResp: number[] = [];
  const fromUpdatedAt: number[] = [];
  const lastRecv = new Map<number, number>();
  let delivered = 0;
  for (let w = 0; w < n; w++) {
    const rv = revs[w]!;
    for (let i = 0; i < rv.length; i++) {
      const c = commitAt.get(rv[i]!);
      if (c === undefined) continue;
      delivered++;
      const t = recv[w]![i]!;
      fromResp.push(t - c);
      fromUpdatedAt.push(t - updated[w]![i]!);
      lastRecv.set(rv[i]!, Math.max(lastRecv.get(rv[i]!) ?? -Infinity, t));
    }
  }
  const round = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);
  console.log(JSON.stringify({
    watchers: n,
    expected: n * commits.length,
    delivered,
    retries,
    firstRetry,
    waitedMs: Math.round(now() - started),
    lastDelivery: Math.max(...lastRecv.values()),
    fromResp: round(fromResp),
    fromUpdatedAt: round(fromUpdatedAt),
    last: [...lastRecv],
  }));
  // Counts are per round.
  retries = 0;
  firstRetry = undefined;
}
client.close();
rawChannel?.close();
Deno.exit(0);
