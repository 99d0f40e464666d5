/**
 * `deno task bench raft`: an in-process 3-node raft cluster on real Deno KV
 * files. Reports proposals committed per second and commit latency at 1, 16
 * and 256 concurrent proposals of 256 bytes, beside raw Deno KV batched-set
 * throughput measured in the same run (the ceiling group commit aims at).
 *
 * @module
 */

import { KvStorage } from "../shared/raft/mod.ts";
import { RaftNode, type StateMachine } from "../shared/raft/mod.ts";
import { LocalNetwork } from "../shared/raft/mod.ts";
import type { Entry, Snapshot } from "../shared/raft/mod.ts";
import { closedLoop, fmt, percentile, printTable, rssMiB } from "./_stats.ts";

const VALUE_BYTES = 256;
const LEVELS = [1, 16, 256];
const MAX_OPS = 300_000;
const MAX_MS = 6_000;

/** Counts applied entries; the benchmark measures raft, not a state machine. */
class CountingMachine implements StateMachine {
  applied = 0;
  apply(entries: Entry[]): void {
    this.applied += entries.length;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(String(this.applied));
  }
  restore(s: Snapshot): void {
    this.applied = Number(new TextDecoder().decode(s.data));
  }
}

/** Raw Deno KV: `batch` sets of 256 B per atomic commit, for up to MAX_MS. */
async function rawKv(
  dir: string,
  batch: number,
): Promise<{ perSec: number; commitsPerSec: number }> {
  const kv = await Deno.openKv(`${dir}/raw-${batch}.db`);
  const value = new Uint8Array(VALUE_BYTES).fill(7);
  let n = 0;
  let commits = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < MAX_MS / 2 && n < MAX_OPS) {
    const op = kv.atomic();
    for (let i = 0; i < batch; i++) op.set(["e", n + i], { t: 1, y: 0, d: value });
    await op.commit();
    n += batch;
    commits++;
  }
  const s = (performance.now() - t0) / 1000;
  kv.close();
  return { perSec: n / s, commitsPerSec: commits / s };
}

async function raftCluster(dir: string): Promise<{ nodes: RaftNode[]; stop: () => Promise<void> }> {
  const net = new LocalNetwork();
  const voters = [1, 2, 3];
  const nodes: RaftNode[] = [];
  for (const id of voters) {
    nodes.push(
      await RaftNode.start({
        id,
        storage: await KvStorage.open(`${dir}/node-${id}.db`),
        transport: net.connect(id),
        stateMachine: new CountingMachine(),
        bootstrap: voters,
        tickMs: 50,
        snapshotEvery: 50_000,
        keepEntries: 10_000,
        seed: id,
      }),
    );
  }
  return { nodes, stop: async () => void (await Promise.all(nodes.map((n) => n.stop()))) };
}

async function waitLeader(nodes: RaftNode[]): Promise<RaftNode> {
  for (let i = 0; i < 200; i++) {
    const l = nodes.find((n) => n.isLeader);
    if (l) return l;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("Cannot benchmark as no leader was elected within 4 s");
}

/** Runs the raft benchmark and prints its table. */
export async function runRaftBench(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cassem-bench-raft-" });
  try {
    console.log(`raft bench: 3 nodes in one process, Deno KV storage, ${VALUE_BYTES} B proposals`);
    console.log(`each level runs up to ${fmt(MAX_OPS)} proposals or ${MAX_MS / 1000} s\n`);
    const raw100 = await rawKv(dir, 100);
    const raw256 = await rawKv(dir, 256);
    const cluster = await raftCluster(dir);
    const rows: string[][] = [];
    let at256 = 0;
    let saves = "";
    try {
      const leader = await waitLeader(cluster.nodes);
      const value = new Uint8Array(VALUE_BYTES).fill(1);
      await closedLoop(16, 2_000, 2_000, () => leader.propose(value)); // warm up
      for (const c of LEVELS) {
        const { latencies, elapsedMs } = await closedLoop(
          c,
          MAX_OPS,
          MAX_MS,
          () => leader.propose(value),
        );
        const perSec = latencies.length / (elapsedMs / 1000);
        if (c === 256) at256 = perSec;
        rows.push([
          `raft propose c=${c}`,
          fmt(perSec),
          fmt(percentile(latencies, 50), 2),
          fmt(percentile(latencies, 99), 2),
          fmt(latencies.length),
        ]);
      }
      // The chain of dependent fsyncs is the limit: how long each node's writes took.
      saves = cluster.nodes.map((n) => {
        const s = n.stats();
        return `node ${n.id} ${fmt(s.saveMs / Math.max(1, s.saves), 2)} ms (${
          fmt(s.entriesSaved / Math.max(1, s.saves), 0)
        } entries)`;
      }).join(", ");
    } finally {
      await cluster.stop();
    }
    rows.push([
      "raw KV 100 sets/commit",
      fmt(raw100.perSec),
      "-",
      "-",
      `${fmt(raw100.commitsPerSec)} commits/s`,
    ]);
    rows.push([
      "raw KV 256 sets/commit",
      fmt(raw256.perSec),
      "-",
      "-",
      `${fmt(raw256.commitsPerSec)} commits/s`,
    ]);
    printTable(["workload", "ops/s", "p50 ms", "p99 ms", "ops"], rows);
    const best = Math.max(raw100.perSec, raw256.perSec);
    console.log(
      `\nraft at c=256 / best raw batched KV: ${(at256 / best).toFixed(2)} (goal ≥ 0.50); RSS ${
        fmt(rssMiB())
      } MiB`,
    );
    console.log(`mean storage write, all levels: ${saves}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
