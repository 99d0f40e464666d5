/**
 * `deno task bench memory`: one cassemdb node loaded with 100,000 keys of
 * 1 KiB (Txn calls of 64 sets, 8 in flight), its resident memory (VmRSS and
 * the peak VmHWM from /proc/<pid>/status) after the load and after a
 * restart, and the restart time.
 *
 * The node runs with `--snapshot-every 500`, so the restart restores a
 * snapshot (of nearly all keys) and replays the short log tail after it.
 * Restart time is measured from the spawn of the new process (Deno start-up
 * included) until Status answers, until it leads again, and until every key
 * has been read back (GetKVs of 100 keys, linearizable, 8 in flight).
 *
 * An idle, empty node is measured first as the baseline.
 *
 * Flags: --keys N (100000), --value-bytes N (1024), --snapshot-every N (500).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { cassemLayout, cassemStatus, spawnCassemNode, startCassem } from "./_clusters.ts";
import { dirSizeMiB, type Proc, procMemMiB, sleep } from "./_procs.ts";
import { RawClient } from "./_rpc.ts";
import { fmt, printTable } from "./_stats.ts";
import { loadAvg, machineNote } from "./db_bench.ts";

const TXN_OPS = 64;
const IN_FLIGHT = 8;
const READ_BATCH = 100;
/** Bound on the load and on the read-back, each. */
const LOAD_LIMIT_MS = 300_000;

/** Throws once `limitMs` have passed since `since` (performance.now()). */
function within(since: number, limitMs: number, what: string): void {
  if (performance.now() - since > limitMs) {
    throw new Error(`Cannot ${what} within ${limitMs / 1000} s`);
  }
}

/**
 * Polls Status until the node at `addr` leads with everything applied:
 * [ms until Status answered, ms until then] since `t0`, or undefined when
 * the process exited first.
 */
async function waitLeader(
  node: Proc,
  addr: string,
  t0: number,
): Promise<[number, number] | undefined> {
  let tStatus = 0;
  for (;;) {
    if (node.hasExited) return undefined;
    const s = await cassemStatus(addr, 1_000);
    if (s && !tStatus) tStatus = performance.now() - t0;
    if (s && s.role === "leader" && s.applied >= s.commit) return [tStatus, performance.now() - t0];
    if (performance.now() - t0 > 120_000) {
      throw new Error("Cannot see the node lead within 120 s");
    }
    await sleep(10);
  }
}

/** Runs the memory/restart benchmark and prints its table. */
export async function runMemoryBench(args: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      keys: { type: "string", default: "100000" },
      "value-bytes": { type: "string", default: "1024" },
      "snapshot-every": { type: "string", default: "500" },
    },
  });
  const keyCount = Number(values.keys);
  const valueBytes = Number(values["value-bytes"]);
  const snapshotEvery = values["snapshot-every"]!;
  const extra = ["--snapshot-every", snapshotEvery];
  console.log(
    `memory bench: one cassemdb node, ${fmt(keyCount)} keys of ${fmt(valueBytes)} B ` +
      `(${
        fmt((keyCount * valueBytes) / 1024 / 1024, 1)
      } MiB of values), --snapshot-every ${snapshotEvery}`,
  );
  console.log(`machine: ${await machineNote()}\n`);

  const root = await Deno.makeTempDir({ prefix: "cassem-bench-memory-" });
  const layout = cassemLayout(1, root);
  const addr = `127.0.0.1:${layout[0]!.client}`;
  const keys = Array.from({ length: keyCount }, (_, i) => `mem/g${i % 100}/k${i}`);
  const rows: string[][] = [];
  let node: Proc | undefined;
  let kv: RawClient | undefined;
  try {
    // ---- an empty node, idle ----
    let cluster = await startCassem(1, root, { extra, layout });
    node = cluster.members[0]!.proc;
    await sleep(1_000);
    const idle = await procMemMiB(node.pid);
    rows.push(["empty node, idle", fmt(idle.rss), fmt(idle.hwm), "-"]);

    // ---- load ----
    kv = new RawClient(addr, "cassem", "KV");
    const txn = kv.method("Txn");
    const value = new Uint8Array(valueBytes);
    for (let i = 0; i < valueBytes; i++) value[i] = (i * 131 + 17) & 0xff;
    const tLoad = performance.now();
    let next = 0;
    const loader = async () => {
      while (next < keyCount) {
        within(tLoad, LOAD_LIMIT_MS, "load the keys");
        const from = next;
        next = Math.min(keyCount, next + TXN_OPS);
        const ops = keys.slice(from, next).map((key) => ({
          set: { key, val: value, overwrite: true },
        }));
        await txn({ ops }, 60_000);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, loader));
    const loadS = (performance.now() - tLoad) / 1000;
    const st = await cassemStatus(addr, 5_000);
    if (!st || st.keys < keyCount) {
      throw new Error(`Cannot find every key after the load: ${JSON.stringify(st)}`);
    }
    const afterLoad = await procMemMiB(node.pid);
    await sleep(2_000);
    const settled = await procMemMiB(node.pid);
    const diskLoaded = await dirSizeMiB(layout[0]!.dir);
    console.log(
      `loaded ${fmt(keyCount)} keys in ${loadS.toFixed(1)} s (${fmt(keyCount / loadS)} keys/s, ` +
        `${fmt(keyCount / TXN_OPS / loadS)} Txn/s); store holds ${
          fmt(st.keys)
        } entities (directories included)`,
    );
    rows.push(["after load", fmt(afterLoad.rss), fmt(afterLoad.hwm), fmt(diskLoaded)]);
    rows.push(["after load + 2 s idle", fmt(settled.rss), fmt(settled.hwm), "-"]);
    kv.close();
    kv = undefined;

    // ---- restart ----
    const tStop = performance.now();
    await cluster.stop();
    const stopS = (performance.now() - tStop) / 1000;
    // Deno 2.9.6's HTTP/2 can abort a process on an assertion when a
    // connection closes (denoland/deno#36788): a restart that dies of a
    // signal is measured again, and said so.
    let t0 = 0;
    let tStatus = 0;
    let tLeader = 0;
    for (let attempt = 1;; attempt++) {
      t0 = performance.now();
      node = spawnCassemNode(1, layout, { extra: [...extra, "--log-level", "info"] });
      const up = await waitLeader(node, addr, t0);
      if (up) {
        [tStatus, tLeader] = up;
        break;
      }
      const tail = node.tail(400);
      const status = await node.exited;
      if (!status.signal || attempt >= 3) {
        throw new Error(`Cannot restart the node: ${tail}`);
      }
      console.log(
        `(the restarted node died of ${status.signal}: ${
          tail.trim().split("\n").pop()
        }; measuring the restart again)`,
      );
    }
    cluster = {
      ...cluster,
      members: [{ index: 1, client: addr, proc: node }],
      stop: async () => void (await node!.stop()),
    };
    const restartedLog = node.tail(8_192).match(/cassemdb node started.*/)?.[0];
    kv = new RawClient(addr, "cassem", "KV");
    const getKVs = kv.method("GetKVs");
    let found = 0;
    let cursor = 0;
    const reader = async () => {
      while (cursor < keyCount) {
        within(t0, LOAD_LIMIT_MS, "read the keys back");
        const from = cursor;
        cursor = Math.min(keyCount, cursor + READ_BATCH);
        const r = (await getKVs({ keys: keys.slice(from, cursor) }, 30_000)) as {
          entities: { size: number }[];
        };
        found += r.entities.filter((e) => e.size === valueBytes).length;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, reader));
    const tAll = performance.now() - t0;
    if (found !== keyCount) {
      throw new Error(`Cannot read every key back after the restart: found ${found}`);
    }
    const restarted = await procMemMiB(node.pid);
    rows.push(["after restart + reading every key", fmt(restarted.rss), fmt(restarted.hwm), "-"]);
    await sleep(2_000);
    const restartedIdle = await procMemMiB(node.pid);
    rows.push([
      "after restart + 2 s idle",
      fmt(restartedIdle.rss),
      fmt(restartedIdle.hwm),
      fmt(await dirSizeMiB(layout[0]!.dir)),
    ]);
    kv.close();
    kv = undefined;
    await cluster.stop();

    console.log();
    printTable(["node state", "VmRSS MiB", "VmHWM MiB", "data dir MiB"], rows);
    console.log();
    printTable(["restart (SIGTERM, then a new process on the same dir)", "seconds"], [
      ["clean stop (SIGTERM until exit)", stopS.toFixed(2)],
      ["spawn → Status answers", (tStatus / 1000).toFixed(2)],
      ["spawn → leader with everything applied", (tLeader / 1000).toFixed(2)],
      [`spawn → all ${fmt(keyCount)} keys read back`, (tAll / 1000).toFixed(2)],
    ]);
    if (restartedLog) console.log(`\nthe restarted node logged: ${restartedLog.slice(0, 300)}`);
    console.log(`load average now ${await loadAvg()}`);
  } finally {
    kv?.close();
    await node?.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}
