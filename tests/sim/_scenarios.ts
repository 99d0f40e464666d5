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
