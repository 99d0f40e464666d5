/**
 * RawNode is the synchronous API of the raft core: feed it ticks, messages and
 * proposals, then take a {@linkcode Ready}, persist and send it, and `advance`.
 *
 * @module
 */

import { decodeConfChange, encodeConfChange } from "./conf_change.ts";
import { type Config, Raft, type Status } from "./raft.ts";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  hardStateEqual,
  isLocalMessage,
  type Message,
  message,
  MessageType,
  type ReadState,
  type Snapshot,
  type SoftState,
  StateType,
} from "./types.ts";

/**
 * Everything the caller must do, in order:
 * 1. persist `hardState`, `snapshot` and `entries` (in one atomic write when possible),
 *    sending `earlyMessages` meanwhile if it likes;
 * 2. only then send `messages`;
 * 3. apply `snapshot` and `committedEntries` to the state machine, calling
 *    `applyConfChange` for membership entries;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  /** Set when leader or role changed; not persisted. */
  softState?: SoftState;
  /** Set when term, vote or commit changed. */
  hardState?: HardState;
  /** Reads whose index is known; serve each once its index is applied. */
  readStates: ReadState[];
  /** Entries to append to stable storage, replacing any conflicting suffix. */
  entries: Entry[];
  /** A snapshot received from the leader, to persist and apply. */
  snapshot?: Snapshot;
  /** Entries committed since the previous Ready, to apply in order. */
  committedEntries: Entry[];
  /** Messages to send after the rest is persisted. */
  messages: Message[];
  /**
   * Messages that may be sent before the rest is persisted (or after, with the
   * others): a leader's appends, heartbeats, snapshot chunks and TimeoutNow,
   * when this Ready changes neither term nor vote. They assert nothing about
   * this node's disk; the leader counts its own copy of an entry only once it
   * is stable, so writing in parallel with followers is safe (Raft thesis §10.2.1).
   */
  earlyMessages: Message[];
  /** Whether the write must be synced to disk (new term, vote or entries). */
  mustSync: boolean;
}

/** A factory for the core; tests substitute deliberately broken cores. */
export type RaftFactory = (c: Config) => Raft;

/** The synchronous, single-threaded raft node. */
export class RawNode {
  readonly raft: Raft;
  #prevSoft: SoftState;
  #prevHard: HardState;
  #inFlight = false;

  constructor(config: Config, factory: RaftFactory = (c) => new Raft(c)) {
    this.raft = factory(config);
    this.#prevSoft = this.raft.softState();
    this.#prevHard = this.raft.hardState();
  }

  /** Advances logical time by one tick. */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (subject to pre-vote). */
  campaign(): void {
    this.raft.step(message({ type: MessageType.Hup }));
  }

  /**
   * Proposes `data` for the log. On a follower it is forwarded to the leader.
   * @throws {ProposalDroppedError} when it cannot be accepted now.
   */
  propose(data: Uint8Array): void {
    this.proposeBatch([data]);
  }

  /** Proposes several entries in one step: one append, one broadcast. */
  proposeBatch(datas: readonly Uint8Array[]): void {
    if (datas.length === 0) return;
    this.raft.step(message({
      type: MessageType.Prop,
      from: this.raft.id,
      entries: datas.map((data) => ({ term: 0, index: 0, type: EntryType.Normal, data })),
    }));
  }

  /**
   * Proposes a membership change. Only one may be in flight: a second one is
   * dropped until the first is applied.
   * @throws {ProposalDroppedError} when it cannot be accepted now.
   */
  proposeConfChange(cc: ConfChange): void {
    this.raft.step(message({
      type: MessageType.Prop,
      from: this.raft.id,
      entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
    }));
  }

  /** Applies a committed membership change; call it when applying its entry. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** Decodes the data of a ConfChange entry. */
  static decodeConfChange(data: Uint8Array): ConfChange {
    return decodeConfChange(data);
  }

  /**
   * Feeds a message received from a peer.
   * @throws {RangeError} for local message types, which may not arrive from the network.
   */
  step(m: Message): void {
    if (isLocalMessage(m.type)) {
      throw new RangeError(`Cannot step ${MessageType[m.type]} as it is a local message`);
    }
    if (!this.raft.trk.progress.has(m.from) && isResponse(m.type)) {
      return; // from a node that is no longer a member
    }
    this.raft.step(m);
  }

  /**
   * Requests a linearizable read point; the answer comes as a ReadState with
   * the same `context` in a later Ready. `context` must be unique per request.
   */
  readIndex(context: string): void {
    this.raft.step(message({ type: MessageType.ReadIndex, from: this.raft.id, context }));
  }

  /** Asks the leader to hand leadership to `transferee`. */
  transferLeader(transferee: number): void {
    this.raft.step(message({ type: MessageType.TransferLeader, from: transferee }));
  }

  /** Tells the core that the last send to `id` failed. */
  reportUnreachable(id: number): void {
    this.raft.step(message({ type: MessageType.Unreachable, from: id }));
  }

  status(): Status {
    return this.raft.status();
  }

  /** Whether a call to `ready()` would return something to do. */
  hasReady(): boolean {
    if (this.#inFlight) return false;
    const r = this.raft;
    if (!softStateEqual(r.softState(), this.#prevSoft)) return true;
    if (!hardStateEqual(r.hardState(), this.#prevHard)) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.raftLog.unstableEntries().length > 0) return true;
    return r.raftLog.hasNextCommittedEntries();
  }

  /**
   * Takes the work accumulated so far. The caller owns the Ready and must
   * `advance` it before asking for another.
   * @throws {Error} when the previous Ready was not advanced.
   */
  ready(): Ready {
    if (this.#inFlight) throw new Error("Cannot take a Ready as the previous one is not advanced");
    const r = this.raft;
    if (r.raftLog.committed !== this.#prevHard.commit) r.flushCommitBroadcast();
    const hard = r.hardState();
    const voteChanged = hard.term !== this.#prevHard.term || hard.vote !== this.#prevHard.vote;
    const rd: Ready = {
      readStates: r.readStates,
      entries: [...r.raftLog.unstableEntries()],
      committedEntries: r.raftLog.nextCommittedEntries(),
      messages: r.msgs,
      earlyMessages: [],
      mustSync: false,
    };
    if (r.state === StateType.Leader && !voteChanged) {
      rd.earlyMessages = r.msgs.filter((m) => EARLY.has(m.type));
      rd.messages = r.msgs.filter((m) => !EARLY.has(m.type));
    }
    r.msgs = [];
    r.readStates = [];
    const soft = r.softState();
    if (!softStateEqual(soft, this.#prevSoft)) rd.softState = soft;
    if (!hardStateEqual(hard, this.#prevHard)) rd.hardState = hard;
    const snap = r.raftLog.unstable.snapshot;
    if (snap) rd.snapshot = snap;
    rd.mustSync = rd.entries.length > 0 || rd.snapshot !== undefined || voteChanged;
    this.#inFlight = true;
    return rd;
  }

  /** Marks `rd` as persisted, sent and applied. */
  advance(rd: Ready): void {
    if (!this.#inFlight) throw new Error("Cannot advance as no Ready is in flight");
    this.#inFlight = false;
    const r = this.raft;
    if (rd.softState) this.#prevSoft = rd.softState;
    if (rd.hardState) this.#prevHard = rd.hardState;
    if (rd.snapshot) r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
    const last = rd.entries[rd.entries.length - 1];
    if (last) r.raftLog.stableTo(last.index, last.term);
    let applied = rd.committedEntries[rd.committedEntries.length - 1]?.index ?? 0;
    if (rd.snapshot && rd.snapshot.metadata.index > applied) applied = rd.snapshot.metadata.index;
    if (applied > r.raftLog.applied) r.raftLog.appliedTo(applied);
    r.reduceUncommittedSize(rd.committedEntries);
    if (rd.snapshot || last) r.onStable();
  }
}

/** Message types a leader may send before its own write is durable. */
const EARLY = new Set([
  MessageType.App,
  MessageType.Heartbeat,
  MessageType.Snap,
  MessageType.TimeoutNow,
]);

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.raftState === b.raftState;
}

function isResponse(t: MessageType): boolean {
  return t === MessageType.AppResp || t === MessageType.HeartbeatResp ||
    t === MessageType.SnapResp;
}
