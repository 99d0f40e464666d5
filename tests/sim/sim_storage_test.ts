/**
 * The simulated disk keeps the storage contract every raft storage keeps
 * (the suite KvStorage and MemoryStorage run), writes completing as the
 * simulated clock reaches them; and it loses exactly what a crash should.
 */

import assert from "node:assert/strict";
import { SeededPrng } from "../../shared/prng.ts";
import { makeEntries, storageContract } from "../../shared/raft/_storage_contract.ts";
import type { RaftStorage } from "../../shared/raft/raft_storage.ts";
import { SimScheduler } from "./sim_clock.ts";
import { INSTANT_DISK, SimDisk, type SimDiskHandle } from "./sim_storage.ts";

/** A handle whose writes complete at once: the scheduler runs right after each is issued. */
function settled(h: SimDiskHandle, sched: SimScheduler): RaftStorage {
  const run = <T>(p: Promise<T>): Promise<T> => {
    sched.runDue();
    return p;
  };
  return {
    initialState: () => h.initialState(),
    entries: (lo, hi, max) => h.entries(lo, hi, max),
    term: (i) => h.term(i),
    firstIndex: () => h.firstIndex(),
    lastIndex: () => h.lastIndex(),
    snapshot: () => h.snapshot(),
    isEmpty: () => h.isEmpty(),
    hardState: () => h.hardState(),
    snapshotMetadata: () => h.snapshotMetadata(),
    releaseSnapshotData: () => h.releaseSnapshotData(),
    save: (u) => run(h.save(u)),
    createSnapshot: (i, cs, d) => run(h.createSnapshot(i, cs, d)),
    compact: (i) => run(h.compact(i)),
    recovering: () => h.recovering(),
    setRecovering: (on) => run(h.setRecovering(on)),
    close: () => h.close(),
  };
}

storageContract("SimDisk", () => {
  const sched = new SimScheduler();
  const disk = new SimDisk(new SeededPrng(1), INSTANT_DISK);
  let owner = { dead: false };
  const storage = settled(disk.open(sched, owner), sched);
  return Promise.resolve({
    storage,
    reopen: () => {
      // A clean restart: the process stopped with nothing in flight.
      owner.dead = true;
      owner = { dead: false };
      return Promise.resolve(settled(disk.open(sched, owner), sched));
    },
    close: () => {},
  });
});

Deno.test("SimDisk: a write is durable only when its latency has passed; a crash loses it", async () => {
  const sched = new SimScheduler();
  const disk = new SimDisk(new SeededPrng(1), { minLatency: 3, maxLatency: 3, tornWriteRate: 0 });
  const owner = { dead: false };
  const h = disk.open(sched, owner);
  let done = false;
  h.save({ entries: makeEntries(1, 2, 1), hardState: { term: 1, vote: 1, commit: 0 } }).then(() =>
    done = true
  );
  sched.now = 2;
  sched.runDue();
  await Promise.resolve();
  assert.equal(done, false);
  assert.equal(h.lastIndex(), 0, "reads answer only what is durable");
  sched.now = 3;
  sched.runDue();
  await Promise.resolve();
  assert.equal(done, true);
  assert.equal(h.lastIndex(), 2);
  // A second write in flight at a crash is gone, hard state included.
  h.save({ entries: makeEntries(3, 4, 2), hardState: { term: 2, vote: 2, commit: 2 } });
  owner.dead = true;
  disk.crash();
  sched.now = 10;
  sched.runDue();
  assert.equal(disk.durable.lastIndex(), 2);
  assert.deepEqual(disk.durable.hardState(), { term: 1, vote: 1, commit: 0 });
});

Deno.test("SimDisk: a torn write keeps a prefix of its entries but never its hard state", () => {
  const sched = new SimScheduler();
  const disk = new SimDisk(new SeededPrng(7), { minLatency: 5, maxLatency: 5, tornWriteRate: 1 });
  const h = disk.open(sched, { dead: false });
  h.save({ entries: makeEntries(1, 6, 1), hardState: { term: 1, vote: 1, commit: 0 } });
  disk.crash();
  const last = disk.durable.lastIndex();
  assert.ok(last >= 1 && last < 6, `a strict prefix survived (${last})`);
  assert.deepEqual(disk.durable.hardState(), { term: 0, vote: 0, commit: 0 });
});
