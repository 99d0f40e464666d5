import assert from "node:assert/strict";
import { SeededPrng } from "../prng.ts";
import { RawNode } from "./raw_node.ts";
import { MemoryStorage } from "./storage.ts";
import { EntryType, MessageType, StateType } from "./types.ts";

function single(): { rn: RawNode; st: MemoryStorage } {
  const st = MemoryStorage.bootstrap([1]);
  const rn = new RawNode({
    id: 1,
    storage: st,
    prng: new SeededPrng(1),
    electionTick: 10,
    heartbeatTick: 1,
    applied: 0,
  });
  return { rn, st };
}

/** Persists and advances one Ready as a driver would. */
function persist(rn: RawNode, st: MemoryStorage) {
  const rd = rn.ready();
  if (rd.snapshot) st.applySnapshot(rd.snapshot);
  st.append(rd.entries);
  if (rd.hardState) st.setHardState(rd.hardState);
  for (const e of rd.committedEntries) {
    if (e.type === EntryType.ConfChange) rn.applyConfChange(RawNode.decodeConfChange(e.data));
  }
  rn.advance(rd);
  return rd;
}

Deno.test("RawNode: one Ready at a time, and advance only what was taken", () => {
  const { rn } = single();
  assert.throws(
    () =>
      rn.advance({
        readStates: [],
        entries: [],
        committedEntries: [],
        messages: [],
        earlyMessages: [],
        mustSync: false,
      }),
    /no Ready/,
  );
  assert.ok(rn.hasReady());
  rn.ready();
  assert.equal(rn.hasReady(), false, "nothing more until advanced");
  assert.throws(() => rn.ready(), /not advanced/);
});

Deno.test("RawNode: a leader commits its own entry only once it is stable", () => {
  const { rn, st } = single();
  persist(rn, st); // the bootstrap log applied
  rn.campaign();
  let rd = persist(rn, st);
  while (rn.hasReady()) rd = persist(rn, st);
  assert.equal(rn.raft.state, StateType.Leader);
  const before = rn.raft.raftLog.committed;
  rn.propose(new Uint8Array([1]));
  rd = rn.ready();
  const idx = rd.entries[rd.entries.length - 1]!.index;
  assert.ok(rd.mustSync);
  assert.ok(rn.raft.raftLog.committed < idx, "not committed while the entry is unstable");
  assert.ok(rn.raft.raftLog.committed >= before);
  st.append(rd.entries);
  if (rd.hardState) st.setHardState(rd.hardState);
  rn.advance(rd);
  assert.equal(rn.raft.raftLog.committed, idx, "committed once its own copy is stable");
  rd = persist(rn, st);
  assert.equal(rd.committedEntries[rd.committedEntries.length - 1]!.index, idx);
  assert.equal(rd.mustSync, false, "a change of the commit index alone needs no sync");
});

Deno.test("RawNode: a vote is in the Ready's messages, never in its early messages", () => {
  const st = MemoryStorage.bootstrap([1, 2, 3]);
  const rn = new RawNode({
    id: 2,
    storage: st,
    prng: new SeededPrng(2),
    electionTick: 10,
    heartbeatTick: 1,
    applied: 0,
    preVote: false,
  });
  persist(rn, st);
  rn.step(
    {
      type: MessageType.Vote,
      from: 1,
      to: 2,
      term: 2,
      index: 3,
      logTerm: 1,
      entries: [],
      commit: 0,
      reject: false,
      rejectHint: 0,
      context: "",
    } as never,
  );
  const rd = rn.ready();
  assert.ok(rd.mustSync, "the vote changes the hard state: it must be synced");
  assert.equal(rd.hardState?.vote, 1);
  assert.ok(rd.messages.some((m) => m.type === MessageType.VoteResp && !m.reject));
  assert.equal(rd.earlyMessages.length, 0);
});

Deno.test("RawNode: an append answer is not sent for entries the same Ready discards", () => {
  // Found by the simulator: a follower acknowledged a stale leader's entries
  // and, in the same batch, replaced them with a newer leader's; the answer
  // went out after the write that discarded what it vouched for.
  const st = MemoryStorage.bootstrap([1, 2, 3]);
  const rn = new RawNode({
    id: 3,
    storage: st,
    prng: new SeededPrng(3),
    electionTick: 10,
    heartbeatTick: 1,
    applied: 0,
    preVote: false,
  });
  persist(rn, st);
  const app = (from: number, term: number, entryTerm: number, count: number) =>
    ({
      type: MessageType.App,
      from,
      to: 3,
      term,
      index: 3,
      logTerm: 1,
      entries: Array.from({ length: count }, (_, i) => ({
        index: 4 + i,
        term: entryTerm,
        type: EntryType.Normal,
        data: new Uint8Array([from, i]),
      })),
      commit: 3,
      reject: false,
      rejectHint: 0,
      context: "",
    }) as never;
  rn.step(app(1, 2, 2, 2)); // the old leader's 4..5 of term 2
  rn.step(app(2, 3, 3, 1)); // the new leader's 4 of term 3 replaces them
  const rd = rn.ready();
  assert.deepEqual(rd.entries.map((e) => [e.index, e.term]), [[4, 3]]);
  const acks = rd.messages.filter((m) => m.type === MessageType.AppResp && !m.reject);
  assert.deepEqual(
    acks.map((m) => [m.to, m.index]),
    [[2, 4]],
    "only the new leader's entry is acknowledged",
  );
});
