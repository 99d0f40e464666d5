/**
 * RaftLog joins stable storage and the unstable tail into one log, and tracks
 * the commit and apply indexes.
 *
 * @module
 */

import { CompactedError } from "./errors.ts";
import { Unstable } from "./log_unstable.ts";
import { limitSize, type Storage } from "./storage.ts";
import type { Entry, Snapshot } from "./types.ts";

/**
 * The log of one node.
 * Invariant: `applied <= committed <= lastIndex()`, and `firstIndex() - 1 <= applied`
 * except right after a snapshot is restored and before it is persisted.
 */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** Highest index known to be committed on a quorum. */
  committed: number;
  /** Highest index handed to the application to apply. */
  applied: number;
  readonly #maxApplyBytes: number;

  constructor(storage: Storage, maxApplyBytes: number) {
    this.storage = storage;
    this.#maxApplyBytes = maxApplyBytes;
    const first = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term at `index`, or undefined when it is compacted or past the end. */
  term(index: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (index < dummy || index > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(index);
    if (t !== undefined) return t;
    try {
      return this.storage.term(index);
    } catch (e) {
      if (e instanceof CompactedError) return undefined;
      throw e;
    }
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Whether a log ending at (`lastIndex`, `lastTerm`) is at least as up to date as ours (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Appends `ents` after (`index`, `logTerm`) if our log has that entry, and moves
   * the commit index to `commit` (bounded by what was appended). Returns the new
   * last index covered by the message, or undefined when the log does not match.
   */
  maybeAppend(index: number, logTerm: number, commit: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(
          `Cannot truncate at ${conflict} as it is committed: committed is ${this.committed}`,
        );
      }
      this.append(ents.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** Appends `ents` (replacing any conflicting uncommitted suffix) and returns the last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new Error(`Cannot append after ${after} as it is before committed ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry of `ents` whose term differs from ours, or 0 when
   * every entry is already in the log. An index past our end counts as a conflict.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index at or below `index` whose term is at most `term`, with that
   * term. Used to skip a whole term at once when an append is rejected.
   * A compacted position answers itself with term 0.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      const t = this.term(index);
      if (t === undefined) return [index, 0];
      if (t <= term) return [index, t];
    }
    return [0, 0];
  }

  /** Entries not yet persisted. */
  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  hasNextCommittedEntries(): boolean {
    return this.committed > this.applied && this.applied + 1 >= this.firstIndex();
  }

  /** Committed entries not yet applied, bounded in total size. */
  nextCommittedEntries(): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    return this.slice(this.applied + 1, this.committed + 1, this.#maxApplyBytes);
  }

  /** Whether a snapshot waits to be persisted. */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(index: number): void {
    if (this.committed >= index) return;
    if (this.lastIndex() < index) {
      throw new Error(`Cannot commit to ${index} as the log ends at ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (this.committed < index || index < this.applied) {
      throw new Error(
        `Cannot apply to ${index} as it is outside [${this.applied}, ${this.committed}]`,
      );
    }
    this.applied = index;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /** Commits `maxIndex` if it carries `term`: only entries of the current term are committed by counting (§5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** Replaces the log with `snap`; it becomes unstable until persisted. */
  restore(snap: Snapshot): void {
    this.committed = snap.metadata.index;
    this.unstable.restore(snap);
  }

  /**
   * Entries from `lo` to the end, bounded in total size.
   * @throws {CompactedError} when `lo` is compacted.
   */
  entriesFrom(lo: number, maxBytes: number): Entry[] {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, this.lastIndex() + 1, maxBytes);
  }

  /**
   * Entries in `[lo, hi)`, at least one when not empty, bounded in total size.
   * @throws {CompactedError} when `lo` is compacted.
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    const first = this.firstIndex();
    if (lo < first) throw new CompactedError(lo, first);
    if (hi > this.lastIndex() + 1) {
      throw new RangeError(`Cannot slice to ${hi} as the log ends at ${this.lastIndex()}`);
    }
    if (lo >= hi) return [];
    const offset = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < offset) {
      const stored = this.storage.entries(lo, Math.min(hi, offset), maxBytes);
      if (stored.length < Math.min(hi, offset) - lo) return stored;
      ents = stored;
    }
    if (hi > offset) {
      const fresh = this.unstable.slice(Math.max(lo, offset), hi);
      ents = ents.length > 0 ? ents.concat(fresh) : fresh;
    }
    return limitSize(ents, maxBytes);
  }
}
