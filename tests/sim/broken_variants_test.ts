/**
 * Every broken variant of `broken_cores.ts` is caught in CI, within bounded
 * seeds and time: the swarm catches those marked "swarm" within
 * {@linkcode MAX_SEEDS} seeds (the real driver passes the same seeds in
 * `sim_test.ts`), and the others fail the scripted scenario or unit check
 * they name, which the real code passes.
 */

import assert from "node:assert/strict";
import { checkCommitCap, type RaftLogClass } from "../../shared/raft/_log_cases.ts";
import { RaftLog } from "../../shared/raft/log.ts";
import { figure8, snapshotCoversProposal } from "./_scenarios.ts";
import { BROKEN_VARIANTS, type BrokenVariant, loadVariant } from "./broken_cores.ts";
import { SafetyViolation } from "./checkers.ts";
import { runSeed } from "./swarm.ts";

/** Seeds (each for 3 and 5 nodes) within which the swarm must catch a variant. */
const MAX_SEEDS = 120;

/** Runs seeds 1.. on `v` until one fails; returns the first failure. */
async function firstFailure(
  v: BrokenVariant,
): Promise<{ seed: number; error: string; replay: string } | undefined> {
  const loaded = await loadVariant(v.name);
  const started = performance.now();
  for (let seed = 1; seed <= MAX_SEEDS; seed++) {
    for (const size of [3, 5]) {
      const r = await runSeed(seed, size, {
        impl: loaded.impl,
        factory: loaded.factory ? () => loaded.factory : undefined,
        core: v.name,
      });
      if (!r.ok) return { seed, error: r.error ?? "", replay: r.replay };
    }
    // Bounded in time as well as in count, on a loaded machine too.
    assert.ok(performance.now() - started < 120_000, `${v.name}: seed ${seed} after 120 s`);
  }
  return undefined;
}

for (const v of BROKEN_VARIANTS.filter((x) => x.caughtBy === "swarm")) {
  Deno.test(`broken variant ${v.name} (${v.part}, ${v.kind}) is caught by the swarm`, async () => {
    const f = await firstFailure(v);
    assert.ok(f, `${v.name} (${v.bug}) passed ${MAX_SEEDS} seeds`);
    assert.match(f.error.split("\n")[0]!, v.expect, `seed ${f.seed}: ${f.error.slice(0, 500)}`);
    assert.match(f.replay, new RegExp(`--core ${v.name} `));
    console.log(`${v.name}: caught at seed ${f.seed}: ${f.error.split("\n")[0]}`);
  });
}

/** The scripted checks of the variants the swarm does not reach in CI's seeds. */
const CHECKS: Record<string, (v: BrokenVariant) => Promise<void>> = {
  "scenario: Figure 8 (scenarios_test.ts)": async (v) => {
    const loaded = await loadVariant(v.name);
    await figure8(); // the real core passes
    await assert.rejects(
      () => figure8(() => loaded.factory, loaded.impl),
      (e) => e instanceof SafetyViolation && v.expect.test(e.message),
    );
  },
  "scenario: a snapshot holding a pending proposal (scenarios_test.ts)": async (v) => {
    const loaded = await loadVariant(v.name);
    const real = await snapshotCoversProposal();
    assert.equal(real.verdict, "ProposalOutcomeUnknownError");
    await assert.rejects(
      () => snapshotCoversProposal(loaded.impl),
      (e) => e instanceof SafetyViolation && v.expect.test(e.message),
    );
  },
  "unit: checkCommitCap (log_test.ts)": async (v) => {
    const loaded = await loadVariant(v.name);
    checkCommitCap(RaftLog); // the real log passes
    const Broken = loaded.patched?.RaftLog as RaftLogClass;
    assert.ok(Broken && Broken !== (RaftLog as unknown), "the variant's RaftLog is a copy");
    assert.throws(() => checkCommitCap(Broken), /commit capped/);
  },
};

for (const v of BROKEN_VARIANTS.filter((x) => x.caughtBy !== "swarm")) {
  Deno.test(`broken variant ${v.name} (${v.part}, ${v.kind}) is caught by ${v.caughtBy}`, async () => {
    const check = CHECKS[v.caughtBy];
    assert.ok(check, `no check named ${v.caughtBy}`);
    await check(v);
  });
}

Deno.test("broken variants: every edit still applies to the current source, exactly once", async () => {
  for (const v of BROKEN_VARIANTS) {
    if (!v.patch) continue;
    const src = await Deno.readTextFile(
      new URL(`../../shared/raft/${v.patch.file}`, import.meta.url),
    );
    for (const [find] of v.patch.edits) {
      assert.equal(
        src.split(find).length - 1,
        1,
        `${v.name}: ${JSON.stringify(find)} in ${v.patch.file}`,
      );
    }
  }
  const names = BROKEN_VARIANTS.map((v) => v.name);
  for (
    const required of [
      "acks-before-durable",
      "applies-uncommitted",
      "resolves-replaced",
      "snapshot-drops",
      "unsynced",
      "rare-read",
    ]
  ) {
    assert.ok(names.includes(required), `${required} is a variant`);
  }
});
