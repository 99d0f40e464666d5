import assert from "node:assert/strict";
import { Inflights } from "./inflights.ts";
import { Progress, ProgressState } from "./progress.ts";

function progress(next = 5, cap = 3): Progress {
  return new Progress(next, false, new Inflights(cap, Infinity));
}

Deno.test("Progress.maybeUpdate moves match and next forward only", () => {
  const pr = progress(5);
  assert.equal(pr.maybeUpdate(4), true);
  assert.deepEqual([pr.match, pr.next], [4, 5]);
  assert.equal(pr.maybeUpdate(3), false, "a stale acknowledgement does not move match back");
  assert.deepEqual([pr.match, pr.next], [4, 5]);
  assert.equal(pr.maybeUpdate(7), true);
  assert.deepEqual([pr.match, pr.next], [7, 8]);
});

Deno.test("Progress in Probe sends one append at a time, until an answer", () => {
  const pr = progress(5);
  assert.equal(pr.isPaused(), false);
  pr.sentEntries(2, 6, 10);
  assert.equal(pr.isPaused(), true, "paused after one probe");
  assert.equal(pr.next, 5, "a probe does not move next");
  pr.maybeUpdate(6);
  assert.equal(pr.isPaused(), false);
});

Deno.test("Progress in Replicate pipelines up to the inflight limit and frees on acknowledgement", () => {
  const pr = progress(5, 2);
  pr.maybeUpdate(4);
  pr.becomeReplicate();
  assert.equal(pr.next, 5);
  pr.sentEntries(1, 5, 1);
  pr.sentEntries(1, 6, 1);
  assert.equal(pr.next, 7);
  assert.equal(pr.isPaused(), true, "two appends in flight fill a window of two");
  pr.maybeUpdate(5);
  pr.inflights.freeLE(5);
  assert.equal(pr.isPaused(), false);
});

Deno.test("Progress.maybeDecrTo ignores stale rejections and never goes below match + 1", () => {
  const pr = progress(10);
  pr.maybeUpdate(3);
  pr.becomeProbe();
  assert.equal(pr.next, 4);
  pr.next = 9;
  assert.equal(pr.maybeDecrTo(5, 2), false, "a rejection of an append not the last probe is stale");
  assert.equal(pr.maybeDecrTo(8, 1), true);
  assert.equal(pr.next, 4, "the hint is below match: next stays at match + 1");
  pr.maybeUpdate(6);
  pr.becomeReplicate();
  assert.equal(pr.maybeDecrTo(6, 0), false, "in Replicate a rejection at or below match is stale");
  assert.equal(pr.maybeDecrTo(9, 0), true);
  assert.equal(pr.next, 7);
});

Deno.test("Progress after a snapshot probes from past the snapshot", () => {
  const pr = progress(3);
  pr.becomeSnapshot({
    metadata: { index: 20, term: 2, confState: { voters: [], learners: [] } },
    data: new Uint8Array(),
  });
  assert.equal(pr.state, ProgressState.Snapshot);
  assert.equal(pr.isPaused(), true);
  pr.becomeProbe();
  assert.equal(pr.next, 21);
  pr.forgetMatch(2);
  assert.deepEqual([pr.match, pr.next, pr.state], [2, 3, ProgressState.Probe]);
});
