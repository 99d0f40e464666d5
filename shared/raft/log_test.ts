import assert from "node:assert/strict";
import { checkCommitCap, checkMismatchRejected, ents, logOf } from "./_log_cases.ts";
import { RaftLog } from "./log.ts";
import { MemoryStorage } from "./storage.ts";

Deno.test("RaftLog.maybeAppend caps the commit index at the append's last entry", () => {
  checkCommitCap(RaftLog);
});

Deno.test("RaftLog.maybeAppend rejects an append whose previous entry does not match", () => {
  checkMismatchRejected(RaftLog);
});

Deno.test("RaftLog.maybeAppend replaces a conflicting uncommitted suffix and keeps a matching one", () => {
  const log = logOf(RaftLog, [...ents(1, 2, 1), ...ents(3, 5, 2)]);
  // Matching entries (a duplicated, stale append) change nothing and keep the tail.
  assert.equal(log.maybeAppend(2, 1, 0, ents(3, 4, 2)), 4);
  assert.equal(log.lastIndex(), 5);
  // A conflict at 4 replaces 4.. with the new leader's entries.
  assert.equal(log.maybeAppend(3, 2, 0, ents(4, 4, 3)), 4);
  assert.equal(log.lastIndex(), 4);
  assert.equal(log.term(4), 3);
});

Deno.test("RaftLog refuses to truncate or append behind its commit index", () => {
  const log = logOf(RaftLog, ents(1, 4, 1));
  log.commitTo(3);
  assert.throws(() => log.maybeAppend(2, 1, 3, ents(3, 3, 2)), /committed/);
  assert.throws(() => log.append(ents(2, 2, 2)), /before committed/);
  assert.throws(() => log.commitTo(5), /log ends at 4/);
  log.commitTo(2); // never moves back
  assert.equal(log.committed, 3);
});

Deno.test("RaftLog.maybeCommit commits only an entry of the given term", () => {
  const log = logOf(RaftLog, [...ents(1, 2, 1), ...ents(3, 3, 2)]);
  assert.equal(log.maybeCommit(2, 2), false, "an older term's entry is not committed by counting");
  assert.equal(log.committed, 0);
  assert.equal(log.maybeCommit(3, 2), true);
  assert.equal(log.committed, 3);
  assert.equal(log.maybeCommit(2, 1), false, "never backwards");
});

Deno.test("RaftLog.appliedTo stays within [applied, committed]", () => {
  const log = logOf(RaftLog, ents(1, 3, 1));
  log.commitTo(2);
  assert.throws(() => log.appliedTo(3), /outside/);
  log.appliedTo(2);
  assert.throws(() => log.appliedTo(1), /outside/);
  assert.deepEqual(log.nextCommittedEntries(), []);
});

Deno.test("RaftLog.isUpToDate compares the last term first, then the last index", () => {
  const log = logOf(RaftLog, [...ents(1, 2, 1), ...ents(3, 3, 2)]);
  assert.equal(log.isUpToDate(3, 2), true);
  assert.equal(log.isUpToDate(2, 2), false, "same term, shorter log");
  assert.equal(log.isUpToDate(1, 3), true, "a later term wins whatever the length");
  assert.equal(log.isUpToDate(9, 1), false, "an earlier term loses whatever the length");
});

Deno.test("RaftLog.findConflictByTerm skips a whole term of a rejected append", () => {
  const st = new MemoryStorage();
  st.append([...ents(1, 2, 1), ...ents(3, 6, 3)]);
  const log = new RaftLog(st, Infinity);
  assert.deepEqual(log.findConflictByTerm(6, 2), [2, 1]);
  assert.deepEqual(log.findConflictByTerm(6, 3), [6, 3]);
  assert.deepEqual(log.findConflictByTerm(6, 0), [0, 0]);
});
