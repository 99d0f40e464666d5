/**
 * Errors of the store module that callers handle. Argument mistakes use the
 * built-in `RangeError`/`TypeError`; user errors of applied commands are
 * returned as data (`ApplyError`), not thrown.
 *
 * @module
 */

/**
 * Thrown by `WatchHub.watch` when `startRevision` is older than the oldest
 * revision the history still holds, and the error of a watcher cancelled by
 * `WatchHub.reset` (a snapshot replaced the state). The client must read the
 * current state again and watch from after it; maps to gRPC OUT_OF_RANGE.
 */
export class CompactedError extends Error {
  /** The oldest revision a watch may start from now. */
  readonly compactRevision: number;
  /** An error for a watch from `revision` when the oldest revision held is `compactRevision`. */
  constructor(revision: number, compactRevision: number) {
    super(
      `Cannot watch from revision ${revision} as it is compacted: oldest available revision is ${compactRevision}`,
    );
    this.name = "CompactedError";
    this.compactRevision = compactRevision;
  }
}

/**
 * The error of a watcher cancelled because its consumer fell behind: its
 * pending events exceeded their bound, or the history moved past the
 * revision it was replaying. Nothing after `lastRevision` was delivered; the
 * client resumes by watching from `lastRevision + 1`. Maps to gRPC
 * RESOURCE_EXHAUSTED (or ABORTED).
 */
export class WatcherFellBehindError extends Error {
  /** The last revision delivered (or the revision the watch started after). */
  readonly lastRevision: number;
  /** An error for a watcher that delivered up to `lastRevision`, cancelled because of `reason`. */
  constructor(lastRevision: number, reason: string) {
    super(
      `Cannot keep the watcher as ${reason}: resume from revision ${lastRevision + 1}`,
    );
    this.name = "WatcherFellBehindError";
    this.lastRevision = lastRevision;
  }
}
