/**
 * Scripted scenarios shared by `scenarios_test.ts` and the broken-variant
 * test: a scripted cluster (perfect network, instant disk, no ticks unless
 * asked), elections by hand, and Raft's Figure 8.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { RaftFactory } from "../../shared/raft/raw_node.ts";
import { MessageType } from "../../shared/raft/types.ts";
import { SimCluster, type SimOptions } from "./cluster.ts";
import type { DriverImpl } from "./sim_node.ts";
import { encodeWrite } from "./state_machine.ts";

/** A light client load for scenarios. */
export const WORKLOAD = { clients: 3, keys: 3, opRate: 0.1, readShare: 0.3, timeout: 200 };

/** A client write's entry data. */
export function write(client: number, seq: number): Uint8Array {
  return encodeWrite({ client, seq, key: "k", value: `v${client}.${seq}`, attempt: "" });
}

/** A scripted cluster: perfect network, instant disk, no ticks unless asked. */
export async function scripted(
  voters: number[],
  extra: Partial<SimOptions> = {},
): Promise<SimCluster> {
  const sim = new SimCluster({
    seed: 1,
    voters,
    ticking: false,
    raft: { preVote: false, checkQuorum: false, maxSizePerMsg: 1 },
    logCheckEvery: 1,
    ...extra,
  });
  await sim.runFor(3); // apply the bootstrap membership
  return sim;
}

/** Makes `id` campaign (once its driver is up) and lets the election run. */
export async function campaign(sim: SimCluster, id: number): Promise<void> {
  await sim.runUntil(() => sim.node(id).up, 20);
  sim.node(id).raft!.campaign();
  await sim.runFor(5);
}

/**
 * Figure 8 of the Raft paper, on five nodes: an entry of an old term reaches
 * a majority but must not be committed by counting, because a later leader
 * may still overwrite it.
 */
export async function figure8(
  factory?: (id: number) => RaftFactory | undefined,
  impl?: DriverImpl,
): Promise<{ sim: SimCluster; xIndex: number; commitInC: number }> {
  const sim = await scripted([1, 2, 3, 4, 5], { factory, impl });
  // (a) S1 leads term 2 and replicates entry X only to S2.
  await campaign(sim, 1);
  assert.ok(sim.node(1).isLeader());
  const xIndex = sim.node(1).core!.raftLog.lastIndex() + 1;
  for (const to of [3, 4, 5]) sim.net.blockOneWay(1, to);
  assert.ok(sim.propose(1, write(1, 1)));
  await sim.runFor(5);
  assert.equal(sim.node(2).core!.raftLog.lastIndex(), xIndex);
  // (b) S1 crashes; S5 wins term 3 with S3 and S4, appends at X's index, crashes.
  sim.crash(1);
  sim.net.heal();
  sim.net.blockOneWay(5, 2);
  sim.node(5).raft!.campaign();
  assert.ok(await sim.runUntil(() => sim.node(5).isLeader(), 20));
  sim.net.isolate(5, [1, 2, 3, 4]);
  await sim.runFor(3);
  assert.equal(sim.node(5).core!.raftLog.lastIndex(), xIndex);
  sim.crash(5);
  sim.net.heal();
  // (c) S1 restarts, wins a later term, and gets X onto S3: a majority holds X.
  // Its own no-op (after X) reaches S2 but not S3, so no entry of the current
  // term is on a majority. (One entry per append: maxSizePerMsg is 1 byte.)
  sim.restart(1);
  for (const to of [4, 5]) sim.net.blockOneWay(1, to);
  sim.net.filter = (m) =>
    m.type === MessageType.App && m.from === 1 && m.to === 3 &&
    m.entries.some((e) => e.index > xIndex) &&
    sim.node(3).core!.raftLog.lastIndex() >= xIndex;
  for (let i = 0; i < 3 && !sim.node(1).isLeader(); i++) await campaign(sim, 1);
  assert.ok(sim.node(1).isLeader(), "S1 leads again");
  await sim.runFor(10);
  assert.equal(sim.node(3).core!.raftLog.lastIndex(), xIndex, "S3 holds X");
  assert.equal(sim.node(2).core!.raftLog.lastIndex(), xIndex + 1, "S2 holds the no-op");
  const commitInC = sim.node(1).core!.raftLog.committed;
  // (d) S1 crashes; S5 restarts and, with S2, S3 and S4, overwrites X.
  sim.crash(1);
  sim.net.heal();
  sim.net.filter = undefined;
  sim.restart(5);
  for (let i = 0; i < 3 && !sim.node(5).isLeader(); i++) await campaign(sim, 5);
  await sim.runFor(10);
  return { sim, xIndex, commitInC };
}

/**
 * A leader's write reaches the followers but their answers do not reach the
 * leader; cut off, it keeps the proposal pending while the others elect a
 * leader that commits the write, snapshots past it and compacts its log.
 * When the network heals, the old leader installs that snapshot, which holds
 * the write: the driver cannot tell whether its proposal applied.
 * Returns the driver's verdict on the write (the error's name, or "resolved").
 */
export async function snapshotCoversProposal(
  impl?: DriverImpl,
): Promise<{ sim: SimCluster; verdict: string | undefined }> {
  const sim = new SimCluster({
    seed: 4,
    voters: [1, 2, 3],
    snapshotEvery: 5,
    keepEntries: 0,
    timeoutMs: 60_000,
    impl,
  });
  assert.ok(await sim.runUntil(() => sim.stableLeader() !== undefined, 2000), "a leader");
  // Let the leader's view of the followers settle into pipelined replication.
  await sim.runFor(100);
  const old = sim.stableLeader()!;
  const others = [1, 2, 3].filter((id) => id !== old.id);
  for (const id of others) sim.net.blockOneWay(id, old.id);
  const data = encodeWrite({ client: 9, seq: 1, key: "k", value: "w", attempt: "9.1.w" });
  const at = old.core!.raftLog.lastIndex() + 1;
  assert.ok(sim.propose(old.id, data));
  assert.ok(
    await sim.runUntil(
      () => others.every((id) => sim.node(id).core!.raftLog.lastIndex() >= at),
      50,
    ),
    "the followers hold the write",
  );
  sim.net.isolate(old.id, [1, 2, 3]);
  let next = 0;
  const snapshotted = await sim.runUntil(() => {
    const l = sim.leader();
    if (!l || l === old || !l.raft) return false;
    if (l.disk.durable.firstIndex() > at + 1) return true;
    // Writes on the new leader move its applied index to the next snapshot.
    if (sim.now % 5 === 0) sim.propose(l.id, write(10, ++next));
    return false;
  }, 5000);
  assert.ok(snapshotted, "a new leader compacted past the write");
  assert.equal(sim.verdicts.get("9.1.w"), undefined, "the old leader still waits");
  sim.net.heal();
  assert.ok(
    await sim.runUntil(() => sim.verdicts.has("9.1.w"), 5000),
    "the old leader settled the proposal",
  );
  return { sim, verdict: sim.verdicts.get("9.1.w") };
}
