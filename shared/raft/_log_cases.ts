/**
 * The bounds of {@linkcode RaftLog} as checks over a RaftLog class, so that
 * `log_test.ts` runs them on the real class and the simulator's broken-variant
 * test runs the same checks on a deliberately broken copy (and sees them fail).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { RaftLog } from "./log.ts";
import { MemoryStorage } from "./storage.ts";
import { type Entry, EntryType } from "./types.ts";

/** A RaftLog constructor (the real one, or a broken copy's). */
export type RaftLogClass = new (storage: MemoryStorage, maxApplyBytes: number) => RaftLog;

/** Entries `[from, to]` of `term`. */
export function ents(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) {
    out.push({ index: i, term, type: EntryType.Normal, data: new Uint8Array([i & 0xff]) });
  }
  return out;
}

/** A log whose storage holds `stored` (as persisted) with nothing committed. */
export function logOf(Log: RaftLogClass, stored: Entry[]): RaftLog {
  const st = new MemoryStorage();
  st.append(stored);
  return new Log(st, Infinity);
}

/**
 * The commit cap of an append: a follower whose log goes on past the
 * append with entries of another leader (a divergent tail the append does
 * not cover) commits only up to the append's last entry, never into that tail.
 */
export function checkCommitCap(Log: RaftLogClass): void {
  // 1..2 of term 1 agreed, 3..5 of term 2 from a leader that lost; the new
  // leader (term 3) has committed 4, and its append carries only entry 3 of term 2.
  const log = logOf(Log, [...ents(1, 2, 1), ...ents(3, 5, 2)]);
  const last = log.maybeAppend(2, 1, 4, ents(3, 3, 2));
  assert.equal(last, 3);
  assert.equal(log.committed, 3, "commit capped at the append's last entry, not the log's end");
}

/** An append that does not match the previous entry is rejected and changes nothing. */
export function checkMismatchRejected(Log: RaftLogClass): void {
  const log = logOf(Log, ents(1, 3, 1));
  assert.equal(log.maybeAppend(3, 2, 3, ents(4, 4, 2)), undefined);
  assert.equal(log.lastIndex(), 3);
  assert.equal(log.committed, 0);
}
