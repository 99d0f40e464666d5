/**
 * The seeded simulation of the real driver in CI: SIM_SEEDS seeds (default
 * 500) for each cluster size, starting at SIM_SEED (default 1). A failure
 * names its seed and the one-line command that replays it.
 */

import assert from "node:assert/strict";
import { runSeed, STEERED_KINDS } from "./swarm.ts";

const BASE = Number(Deno.env.get("SIM_SEED") ?? 1);
const SEEDS = Number(Deno.env.get("SIM_SEEDS") ?? 500);

for (const size of [3, 5]) {
  Deno.test(`simulation: ${SEEDS} seeds of a ${size}-node cluster keep every invariant`, async () => {
    const failures: string[] = [];
    let acked = 0;
    let terms = 0;
    let steered = 0;
    const byKind = new Map<string, number>(STEERED_KINDS.map((k) => [k, 0]));
    let overtaken = 0;
    for (let i = 0; i < SEEDS; i++) {
      const r = await runSeed(BASE + i, size);
      acked += r.stats.acked ?? 0;
      terms += r.stats.terms ?? 0;
      steered += r.stats.steered ?? 0;
      for (const k of STEERED_KINDS) byKind.set(k, byKind.get(k)! + (r.stats[`steered.${k}`] ?? 0));
      overtaken += r.stats.overtaken ?? 0;
      if (!r.ok) failures.push(`seed ${r.seed}: ${r.error}\nreproduce with: ${r.replay}`);
    }
    console.log(
      `${size} nodes: ${SEEDS} seeds from ${BASE}, ${acked} acknowledged writes, ${terms} terms, ${steered} steered events (${
        [...byKind].map(([k, n]) => `${k} ${n}`).join(", ")
      }), ${overtaken} heartbeats overtook an append`,
    );
    assert.deepEqual(failures, [], failures.slice(0, 3).join("\n\n"));
    assert.ok(acked > SEEDS * 20, `only ${acked} writes were acknowledged`);
    assert.ok(steered > SEEDS / 2, `only ${steered} steered events`);
    // Each steered moment really happens, not just some of them.
    const floor = Math.max(1, Math.floor(SEEDS / 100));
    for (const [k, n] of byKind) {
      assert.ok(n >= floor, `steered ${k} happened ${n} times in ${SEEDS} seeds`);
    }
    assert.ok(overtaken >= floor, `heartbeats overtook appends ${overtaken} times`);
  });
}

/** Seeds that once found a bug (beyond the CI range), replayed on every run. */
// (101887, which found the removed-leader stall, no longer reaches that state
// since commit indexes ride on appends; raft_test.ts "removed leader" covers it.
// 303914 found a wiped node voting after recovery at a capped commit index on
// the old Ready loop; the driver's swarm draws differ, so it is kept as a seed
// that exercises wipes, not as a replay of that run.)
// 6050 (5 nodes) found a stale read: a node restarted after a wipe matched the
// answer to a read its previous process had sent (same context) to a new read.
// 20262332 (5 nodes) found a removed leader stalling the cluster: it handed
// leadership again and again to a voter still recovering from a wipe, which
// stayed recovering because the one append carrying the commit that would end
// it was lost (raft_test.ts keeps both halves). 20263601 (3 nodes) found the
// fault injector wiping a second disk while a founder that crashed before
// writing its bootstrap was down (two of three nodes recovering: no quorum).
const REGRESSIONS = [303914, 6050, 20262332, 20263601];

Deno.test("simulation: seeds that once found bugs keep every invariant", async () => {
  const failures: string[] = [];
  for (const seed of REGRESSIONS) {
    for (const size of [3, 5]) {
      const r = await runSeed(seed, size);
      if (!r.ok) failures.push(`seed ${r.seed}: ${r.error}\nreproduce with: ${r.replay}`);
    }
  }
  assert.deepEqual(failures, [], failures.join("\n\n"));
});

Deno.test("simulation: snapshots whose data is still loading (half the requests) keep every invariant", async () => {
  const failures: string[] = [];
  let late = 0;
  for (let i = 0; i < 40; i++) {
    for (const size of [3, 5]) {
      const r = await runSeed(BASE + i, size, { lateSnapshotRate: 0.5 });
      late += r.stats.lateSnapshots ?? 0;
      if (!r.ok) failures.push(`seed ${r.seed}: ${r.error}\nreproduce with: ${r.replay}`);
    }
  }
  assert.deepEqual(failures, [], failures.slice(0, 3).join("\n\n"));
  assert.ok(late > 20, `only ${late} snapshot requests were answered "being loaded"`);
});

Deno.test("simulation: a seed replays byte for byte (same trace digest twice)", async () => {
  const digest = async (seed: number) => {
    const r = await runSeed(seed, 5, { keepTrace: true });
    const text = `${JSON.stringify(r.stats)}\n${r.trace!.join("\n")}`;
    const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return {
      hex: [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join(""),
      lines: r.trace!.length,
    };
  };
  for (const seed of [7, 42]) {
    const a = await digest(seed);
    const b = await digest(seed);
    assert.ok(a.lines > 20, `seed ${seed} traced only ${a.lines} lines`);
    assert.equal(a.hex, b.hex, `seed ${seed} did not replay`);
  }
  assert.notEqual((await digest(7)).hex, (await digest(8)).hex, "different seeds, same trace");
});
