/**
 * The part of the log that is not yet on stable storage: new entries and an
 * incoming snapshot. They are handed out in a Ready and marked stable on advance.
 *
 * @module
 */

import type { Entry, Snapshot } from "./types.ts";

/**
 * Unstable holds entries `offset, offset+1, ...` and possibly a snapshot that
 * precedes them. Invariant: when `snapshot` is set, `offset === snapshot.index + 1`
 * or the entries were appended after it.
 */
export class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** The first index of the log if the unstable snapshot defines it. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  /** The last index of the log if unstable data defines it. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  /** The term at `index` if unstable data holds it. */
  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot?.metadata.index === index ? this.snapshot.metadata.term : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  /**
   * Marks entries up to `index` stable if the entry there still has `term`.
   * A term mismatch means the entries were replaced meanwhile: nothing happens.
   */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    if (this.maybeTerm(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  /** Drops the unstable snapshot once it is persisted. */
  stableSnapTo(index: number): void {
    if (this.snapshot?.metadata.index === index) this.snapshot = undefined;
  }

  /** Replaces everything with `snap`. */
  restore(snap: Snapshot): void {
    this.offset = snap.metadata.index + 1;
    this.entries = [];
    this.snapshot = snap;
  }

  /** Appends `ents`, replacing any unstable entries at or after the first of them. */
  truncateAndAppend(ents: readonly Entry[]): void {
    const first = ents[0]!.index;
    if (first === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (first <= this.offset) {
      // The new entries replace everything unstable; stable storage will be
      // truncated when they are persisted.
      this.offset = first;
      this.entries = [...ents];
    } else {
      this.entries = this.entries.slice(0, first - this.offset);
      for (const e of ents) this.entries.push(e);
    }
  }

  /** Entries in `[lo, hi)`. Invariant: `offset <= lo <= hi <= offset + entries.length`. */
  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
