/**
 * Progress is the leader's view of one follower: how much of the log it has,
 * and how appends to it are paced (probe, pipelined replicate, or snapshot).
 *
 * @module
 */

import { Inflights } from "./inflights.ts";
import type { Snapshot } from "./types.ts";

/** How the leader sends to a follower. */
export enum ProgressState {
  /** One append at a time until the follower's match is found. */
  Probe = 0,
  /** Appends are pipelined up to the inflight window. */
  Replicate = 1,
  /** A snapshot is being sent; appends wait. */
  Snapshot = 2,
}

/** A snapshot being streamed to a follower in chunks. */
export interface SnapshotTransfer {
  snapshot: Snapshot;
  /** Bytes the follower confirmed, contiguous from 0. */
  acked: number;
  /** Bytes sent so far (≥ acked). */
  sent: number;
  /** Whether the first chunk went out (needed for empty snapshots). */
  started: boolean;
  /** `acked` at the previous heartbeat response, to detect a stalled transfer. */
  ackedAtLastBeat: number;
}

/**
 * The leader's record of one peer.
 * Invariant: `match < next`; in Snapshot state `pendingSnapshot > 0` and `transfer` is set.
 */
export class Progress {
  match = 0;
  next: number;
  state = ProgressState.Probe;
  /** Index of the snapshot being sent, in Snapshot state. */
  pendingSnapshot = 0;
  /** Whether the peer was heard from since the last check-quorum round. */
  recentActive = false;
  /** In Probe state: an append was sent and we wait for its answer or a heartbeat. */
  probeSent = false;
  isLearner: boolean;
  /** `match` at the previous heartbeat response, to detect a stalled pipeline. */
  matchAtLastBeat = -1;
  readonly inflights: Inflights;
  transfer: SnapshotTransfer | undefined;

  constructor(next: number, isLearner: boolean, inflights: Inflights) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = inflights;
  }

  #reset(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.transfer = undefined;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.#reset(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.#reset(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.#reset(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshot: Snapshot): void {
    this.#reset(ProgressState.Snapshot);
    this.pendingSnapshot = snapshot.metadata.index;
    this.transfer = { snapshot, acked: 0, sent: 0, started: false, ackedAtLastBeat: -1 };
  }

  /** Records that the peer has the log up to `n`; returns whether match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      this.probeSent = false;
      updated = true;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Lowers `match` to `index` after the peer lost its log; probes from there. */
  forgetMatch(index: number): void {
    this.becomeProbe();
    this.match = index;
    this.next = index + 1;
  }

  /** Accounts for an append of `count` entries ending at `lastIndex` with `bytes` of data. */
  sentEntries(count: number, lastIndex: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
  }

  /**
   * Handles a rejected append at `rejected`; `matchHint` is the highest index
   * that might match. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader should hold back appends to this peer. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}
