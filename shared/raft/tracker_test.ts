import assert from "node:assert/strict";
import { VoteResult } from "./quorum.ts";
import { ProgressTracker } from "./tracker.ts";

function tracker(voters: number[], learners: number[] = []): ProgressTracker {
  const t = new ProgressTracker(4, Infinity);
  t.reset({ voters, learners }, 1);
  return t;
}

function ack(t: ProgressTracker, matches: Record<number, number>): void {
  for (const [id, m] of Object.entries(matches)) t.progress.get(Number(id))!.maybeUpdate(m);
}

Deno.test("ProgressTracker.committed is the highest index a majority of voters holds", () => {
  const t = tracker([1, 2, 3]);
  ack(t, { 1: 9, 2: 5, 3: 2 });
  assert.equal(t.committed(), 5);
  const t5 = tracker([1, 2, 3, 4, 5]);
  ack(t5, { 1: 9, 2: 8, 3: 4, 4: 3, 5: 1 });
  assert.equal(t5.committed(), 4);
});

Deno.test("ProgressTracker.committed ignores learners however far they are", () => {
  const t = tracker([1, 2, 3], [4, 5]);
  ack(t, { 1: 9, 2: 1, 3: 1, 4: 9, 5: 9 });
  assert.equal(t.committed(), 1);
});

Deno.test("ProgressTracker votes: a majority of voters wins, learners and repeats do not count", () => {
  const t = tracker([1, 2, 3], [4]);
  assert.equal(t.recordVote(1, true), VoteResult.Pending);
  assert.equal(t.recordVote(4, true), VoteResult.Pending, "a learner's vote does not count");
  assert.equal(t.recordVote(2, false), VoteResult.Pending);
  assert.equal(t.recordVote(2, true), VoteResult.Pending, "the first answer of a voter stands");
  assert.equal(t.recordVote(3, true), VoteResult.Won);
  const lost = tracker([1, 2, 3]);
  lost.recordVote(2, false);
  assert.equal(lost.recordVote(3, false), VoteResult.Lost);
});

Deno.test("ProgressTracker membership: a learner promoted keeps its progress; a removed node leaves", () => {
  const t = tracker([1, 2, 3], [4]);
  ack(t, { 4: 7 });
  t.addVoter(4, 10);
  assert.deepEqual(t.confState(), { voters: [1, 2, 3, 4], learners: [] });
  assert.equal(t.progress.get(4)!.match, 7);
  t.addLearner(4, 10);
  assert.equal(t.isVoter(4), true, "a voter is not demoted by addLearner");
  t.remove(2);
  assert.deepEqual(t.ids(), [1, 3, 4]);
  ack(t, { 1: 5, 3: 5 });
  assert.equal(t.committed(), 5, "two of three remaining voters");
});

Deno.test("ProgressTracker.quorumActive counts self and the voters heard from", () => {
  const t = tracker([1, 2, 3, 4, 5]);
  t.progress.get(2)!.recentActive = true;
  assert.equal(t.quorumActive(1), false);
  t.progress.get(3)!.recentActive = true;
  assert.equal(t.quorumActive(1), true);
});
