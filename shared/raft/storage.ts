/**
 * The read-only view of stable storage that the raft core uses, and
 * {@linkcode MemoryStorage}, the in-memory implementation every durable
 * storage builds on.
 *
 * @module
 */

import { CompactedError, SnapshotOutOfDateError, UnavailableError } from "./errors.ts";
import { encodeConfChange } from "./conf_change.ts";
import {
  ConfChangeType,
  type ConfState,
  EMPTY_HARD_STATE,
  type Entry,
  entrySize,
  EntryType,
  type HardState,
  type Snapshot,
} from "./types.ts";

/** What a node starts from: its persisted hard state and the membership of its snapshot. */
export interface InitialState {
  hardState: HardState;
  confState: ConfState;
}

/**
 * Storage is what the raft core reads of the stable log. All methods are
 * synchronous: durable implementations keep the log in memory and write through.
 * Entries returned are owned by the storage and must not be mutated.
 */
export interface Storage {
  /** The persisted hard state and the membership recorded with the snapshot. */
  initialState(): InitialState;
  /**
   * Entries in `[lo, hi)`, at least one when the range is not empty, and no more
   * than `maxBytes` in total beyond the first.
   * @throws {CompactedError} when `lo` is at or before the snapshot index.
   * @throws {UnavailableError} when `hi` is past `lastIndex() + 1`.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /**
   * Term of the entry at `index`; the snapshot index itself is answered from the snapshot.
   * @throws {CompactedError} before the snapshot index. @throws {UnavailableError} past the end.
   */
  term(index: number): number;
  /** Index of the first entry that is still in the log (snapshot index + 1). */
  firstIndex(): number;
  /** Index of the last entry, or the snapshot index when the log is empty. */
  lastIndex(): number;
  /** The most recent snapshot. */
  snapshot(): Snapshot;
}

/** An empty membership. */
export function emptyConfState(): ConfState {
  return { voters: [], learners: [] };
}

/** An empty snapshot at index 0: the starting point of every log. */
export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: emptyConfState() }, data: new Uint8Array(0) };
}

/**
 * The first entries of a new cluster's log: one committed AddNode per voter at
 * term 1. Every founding member starts with the same log, and a node that joins
 * later learns the founding membership by replaying it. `contextOf` gives
 * each change's context (for example the member's address).
 */
export function bootstrapEntries(
  voters: readonly number[],
  contextOf: (id: number) => string = () => "",
): Entry[] {
  return [...voters].sort(byNumber).map((id, i) => ({
    term: 1,
    index: i + 1,
    type: EntryType.ConfChange,
    data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: id, context: contextOf(id) }),
  }));
}

/** The term of a freshly bootstrapped log: a node past it has seen an election. */
export const FOUNDING_TERM = 1;

/** The hard state that goes with {@linkcode bootstrapEntries}. */
export function bootstrapHardState(voters: readonly number[]): HardState {
  return { term: FOUNDING_TERM, vote: 0, commit: voters.length };
}

/** Ascending numeric comparator. */
export function byNumber(a: number, b: number): number {
  return a - b;
}

/**
 * Limits `entries` to `maxBytes` in total, always keeping the first one.
 * Returns the same array when nothing is cut.
 */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let size = entrySize(entries[0]!);
  let n = 1;
  for (; n < entries.length; n++) {
    size += entrySize(entries[n]!);
    if (size > maxBytes) break;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

/**
 * MemoryStorage keeps the log, hard state and latest snapshot in memory.
 * Invariant: `ents[0]` is a placeholder at the snapshot's index and term, and
 * `ents[i].index === ents[0].index + i`.
 */
export class MemoryStorage implements Storage {
  #hardState: HardState = { ...EMPTY_HARD_STATE };
  #snapshot: Snapshot;
  #ents: Entry[];

  constructor(snapshot: Snapshot = emptySnapshot()) {
    this.#snapshot = snapshot;
    this.#ents = [placeholder(snapshot.metadata.index, snapshot.metadata.term)];
  }

  initialState(): InitialState {
    return {
      hardState: { ...this.#hardState },
      confState: structuredClone(this.#snapshot.metadata.confState),
    };
  }

  /** A storage holding the bootstrap log of a new cluster of `voters`. */
  static bootstrap(voters: readonly number[]): MemoryStorage {
    const s = new MemoryStorage();
    s.append(bootstrapEntries(voters));
    s.setHardState(bootstrapHardState(voters));
    return s;
  }

  /** Whether nothing was ever written. */
  isEmpty(): boolean {
    const hs = this.#hardState;
    return this.lastIndex() === 0 && hs.term === 0 && hs.vote === 0 && hs.commit === 0;
  }

  /** The hard state last set. */
  hardState(): HardState {
    return { ...this.#hardState };
  }

  setHardState(hs: HardState): void {
    this.#hardState = { ...hs };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.#ents[0]!.index;
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    if (lo >= hi) return [];
    return limitSize(this.#ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number {
    const offset = this.#ents[0]!.index;
    if (index < offset) throw new CompactedError(index, offset + 1);
    if (index - offset >= this.#ents.length) throw new UnavailableError(index, this.lastIndex());
    return this.#ents[index - offset]!.term;
  }

  firstIndex(): number {
    return this.#ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.#ents[0]!.index + this.#ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /**
   * Replaces the whole log with `snap`; entries after it are dropped.
   * @throws {SnapshotOutOfDateError} when `snap` is not newer than the current snapshot.
   */
  applySnapshot(snap: Snapshot): void {
    const current = this.#snapshot.metadata.index;
    if (snap.metadata.index <= current && current > 0) {
      throw new SnapshotOutOfDateError(snap.metadata.index, current);
    }
    this.#snapshot = snap;
    this.#ents = [placeholder(snap.metadata.index, snap.metadata.term)];
  }

  /**
   * Records a snapshot of the state machine at `index` (which must be in the log).
   * The log is not compacted; call {@linkcode compact} for that.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    const current = this.#snapshot.metadata.index;
    if (index <= current) throw new SnapshotOutOfDateError(index, current);
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    this.#snapshot = {
      metadata: { index, term: this.term(index), confState: structuredClone(confState) },
      data,
    };
    return this.#snapshot;
  }

  /**
   * Drops entries before `compactIndex`; `compactIndex` becomes the placeholder.
   * Compacting at or before the current first index is a no-op.
   * @throws {UnavailableError} when `compactIndex` is past the last entry.
   */
  compact(compactIndex: number): void {
    const offset = this.#ents[0]!.index;
    if (compactIndex <= offset) return;
    if (compactIndex > this.lastIndex()) {
      throw new UnavailableError(compactIndex, this.lastIndex());
    }
    const at = this.#ents[compactIndex - offset]!;
    this.#ents = [placeholder(at.index, at.term), ...this.#ents.slice(compactIndex - offset + 1)];
  }

  /**
   * Appends `entries`, which must be contiguous and start at most one past the
   * last index. A conflicting suffix is replaced; entries already compacted are skipped.
   * @throws {RangeError} when there is a gap before `entries`.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return;
    let ents = entries;
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const offset = ents[0]!.index - this.#ents[0]!.index;
    if (offset > this.#ents.length) {
      throw new RangeError(
        `Cannot append entries starting at ${
          ents[0]!.index
        } as the log ends at ${this.lastIndex()}`,
      );
    }
    if (offset < this.#ents.length) this.#ents.length = offset;
    for (const e of ents) this.#ents.push(e);
  }
}

function placeholder(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(0) };
}
