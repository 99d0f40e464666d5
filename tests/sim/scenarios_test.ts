/**
 * Targeted scenarios on the simulator, scripted step by step. Each also runs
 * the safety checkers; the broken-core variants show that the checkers report
 * the bug the scenario is built to expose.
 */

import assert from "node:assert/strict";
import type { RaftFactory } from "../../shared/raft/raw_node.ts";
import { ConfChangeType, StateType } from "../../shared/raft/types.ts";
import { figure8, scripted, snapshotCoversProposal, WORKLOAD, write } from "./_scenarios.ts";
import { CommitsOldTermRaft, VotesTwiceRaft } from "./broken_cores.ts";
import { SafetyViolation } from "./checkers.ts";
import { SimCluster } from "./cluster.ts";

Deno.test("scenario: Figure 8 — an old-term entry on a majority is not committed by counting", async () => {
  const { sim, xIndex, commitInC } = await figure8();
  assert.ok(commitInC < xIndex, "S1 did not commit X by counting replicas");
  assert.ok(sim.node(5).isLeader(), "S5 could legally win and overwrite X");
  // X was never committed, so its loss is allowed; nothing diverged.
  sim.checkLogs();
  assert.ok(!sim.checker.applied.get(xIndex)?.digest.startsWith("2/"));
});

Deno.test("checkers: Figure 8 on a core that commits old-term entries reports a violation", async () => {
  const broken = (_id: number): RaftFactory => (c) => new CommitsOldTermRaft(c);
  await assert.rejects(
    () => figure8(broken),
    (e) =>
      e instanceof SafetyViolation &&
      (e.kind === "state-machine-safety" || e.kind === "leader-completeness"),
  );
});

async function splitVote(
  factory?: (id: number) => RaftFactory | undefined,
): Promise<SimCluster> {
  const sim = await scripted([1, 2, 3], { factory });
  // Both candidates start term 2 at the same instant; node 3 hears node 1 first.
  sim.node(1).raft!.campaign();
  sim.node(2).raft!.campaign();
  await sim.runFor(10);
  return sim;
}

Deno.test("scenario: two simultaneous candidates get at most one leader per term", async () => {
  const sim = await splitVote();
  assert.ok(sim.checker.leaderOfTerm.size <= 1);
});

Deno.test("checkers: a core that votes twice in a term is caught", async () => {
  // Either two leaders of the term, or a granted vote that is not the one on its disk.
  const broken = (_id: number): RaftFactory => (c) => new VotesTwiceRaft(c);
  await assert.rejects(
    () => splitVote(broken),
    (e) =>
      e instanceof SafetyViolation &&
      (e.kind === "election-safety" || e.kind === "sent-before-durable"),
  );
});

Deno.test("scenario: a leader isolated in a minority steps down and loses only unacknowledged work", async () => {
  const sim = new SimCluster({ seed: 11, voters: [1, 2, 3, 4, 5], workload: WORKLOAD });
  assert.ok(await sim.runUntil(() => sim.stableLeader() !== undefined, 2000));
  await sim.runFor(300);
  const old = sim.stableLeader()!;
  const buddy = old.id === 1 ? 2 : 1;
  const minority = [old.id, buddy];
  const majority = [1, 2, 3, 4, 5].filter((id) => !minority.includes(id));
  sim.net.partition([minority, majority]);
  const stale = old.core!.raftLog.lastIndex();
  sim.propose(old.id, write(99, 1)); // can never commit
  await sim.runFor(600);
  assert.notEqual(old.core!.state, StateType.Leader, "check-quorum made it step down");
  const fresh = sim.leader()!;
  assert.ok(majority.includes(fresh.id));
  sim.net.heal();
  sim.workload!.active = false;
  assert.ok(
    await sim.runUntil(
      () => sim.workload!.pendingWrites() === 0 && sim.stableLeader() !== undefined,
      3000,
    ),
  );
  await sim.runFor(200);
  sim.checkLogs();
  assert.ok(!sim.node(old.id).sm.lastSeq.has(99), "the minority's proposal was discarded");
  assert.ok(old.core!.raftLog.lastIndex() > stale);
  assert.ok(sim.workload!.acked.size > 10);
});

Deno.test("scenario: a rejoining node is stopped by pre-vote from deposing the leader", async () => {
  const sim = new SimCluster({ seed: 5, voters: [1, 2, 3] });
  assert.ok(await sim.runUntil(() => sim.stableLeader() !== undefined, 2000));
  const leader = sim.stableLeader()!;
  const term = leader.core!.term;
  const follower = leader.id === 3 ? 2 : 3;
  sim.net.isolate(follower, [1, 2, 3]);
  await sim.runFor(3000); // many election timeouts
  assert.equal(sim.node(follower).core!.term, term, "pre-votes failed, so the term stayed");
  sim.net.heal();
  await sim.runFor(500);
  assert.equal(sim.stableLeader()?.id, leader.id);
  assert.equal(leader.core!.term, term);
});

/**
 * Entry X commits on {1, 2} while 3 is cut off; then 2 loses its disk and 1
 * crashes. Only 2's forgotten vote could elect 3, which lacks X.
 */
async function wipedDisk(naive: boolean): Promise<SimCluster> {
  const sim = new SimCluster({ seed: 3, voters: [1, 2, 3] });
  assert.ok(await sim.runUntil(() => sim.stableLeader()?.id !== undefined, 2000));
  const l = sim.stableLeader()!;
  const [a, b] = [1, 2, 3].filter((id) => id !== l.id) as [number, number];
  sim.net.isolate(b, [1, 2, 3]);
  // The driver appends a proposal at its next turn: X goes after the current last entry.
  const x = l.core!.raftLog.lastIndex() + 1;
  sim.propose(l.id, write(7, 1));
  assert.ok(
    await sim.runUntil(() => sim.node(a).sm.appliedIndex >= x, 200),
    "X committed on 2 nodes",
  );
  sim.wipe(a);
  if (naive) {
    // Control: restart it as if nothing had happened (no recovery guard): an
    // operator bootstraps the empty disk again.
    sim.crash(a);
    sim.node(a).disk.recovering = false;
    sim.restart(a, { bootstrap: [1, 2, 3] });
  }
  sim.crash(l.id);
  sim.net.heal();
  await sim.runFor(1500);
  sim.restart(l.id);
  await sim.runFor(1500);
  sim.checkLogs();
  return sim;
}

Deno.test("scenario: a node that restarts with an empty disk cannot vote away committed data", async () => {
  const sim = await wipedDisk(false);
  const leader = sim.stableLeader();
  assert.ok(leader, "the cluster converged once the old leader returned");
  for (const id of [1, 2, 3]) {
    assert.equal(sim.node(id).sm.lastSeq.get(7)?.seq, 1, `X is applied on node ${id}`);
    assert.equal(sim.node(id).core!.recovering, false);
  }
});

Deno.test("checkers: the same disk loss without the recovery guard loses a committed write", async () => {
  await assert.rejects(
    () => wipedDisk(true),
    (e) =>
      e instanceof SafetyViolation &&
      (e.kind === "leader-completeness" || e.kind === "state-machine-safety"),
  );
});

Deno.test("scenario: membership changes while the leader crashes stay safe and converge", async () => {
  for (let seed = 1; seed <= 12; seed++) {
    const sim = new SimCluster({ seed, voters: [1, 2, 3], workload: WORKLOAD, snapshotEvery: 20 });
    assert.ok(await sim.runUntil(() => sim.stableLeader() !== undefined, 2000));
    let l = sim.stableLeader()!;
    sim.spawn(4);
    assert.ok(
      sim.proposeConfChange(l.id, { type: ConfChangeType.AddLearner, nodeId: 4, context: "" }),
    );
    await sim.runFor(seed * 3); // crash at a different point each seed
    sim.crash(l.id);
    await sim.runFor(800);
    sim.restart(l.id);
    assert.ok(
      await sim.runUntil(() => sim.stableLeader() !== undefined, 3000),
      `seed ${seed}: leader`,
    );
    l = sim.stableLeader()!;
    // Promote (or add) 4, then remove the founding node with the lowest id.
    for (
      const cc of [
        { type: ConfChangeType.AddNode, nodeId: 4, context: "" },
        { type: ConfChangeType.RemoveNode, nodeId: 1, context: "" },
      ]
    ) {
      assert.ok(
        await sim.runUntil(() => sim.stableLeader() !== undefined, 3000),
        `seed ${seed}: leader for ${cc.type}`,
      );
      l = sim.stableLeader()!;
      const proposed = await sim.runUntil(() => sim.proposeConfChange(sim.leader()!.id, cc), 2000);
      assert.ok(proposed, `seed ${seed}: proposed ${cc.type}`);
      await sim.runFor(seed * 2);
      const cur = sim.leader();
      if (cur) sim.crash(cur.id);
      await sim.runFor(600);
      for (const id of sim.nodes.keys()) sim.restart(id);
      await sim.runFor(1000);
    }
    sim.workload!.active = false;
    const done = await sim.runUntil(() => {
      const ld = sim.stableLeader();
      if (!ld || sim.workload!.pendingWrites() > 0) return false;
      const cs = JSON.stringify(ld.raft!.confState);
      return sim.memberIds().every((id) => JSON.stringify(sim.node(id).raft!.confState) === cs);
    }, 5000);
    assert.ok(done, `seed ${seed}: converged`);
    sim.checkLogs();
    assert.deepEqual(
      sim.stableLeader()!.raft!.confState.voters.includes(4),
      true,
      `seed ${seed}: 4 is a voter`,
    );
  }
});

Deno.test("scenario: a snapshot holding a pending proposal's entry makes its outcome unknown, not dropped", async () => {
  const { sim, verdict } = await snapshotCoversProposal();
  assert.equal(verdict, "ProposalOutcomeUnknownError");
  assert.ok(sim.events.restores > 0, "the old leader installed a snapshot");
  assert.ok(
    [...sim.nodes.values()].every((n) => n.sm.lastSeq.get(9)?.seq === 1),
    "the write applied everywhere",
  );
});
