/**
 * The raft protocol as a pure state machine: messages and ticks in, messages,
 * log changes and read states out. No I/O, clock or randomness of its own.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import type { Prng } from "../prng.ts";
import {
  CompactedError,
  ProposalDroppedError,
  SnapshotTemporarilyUnavailableError,
} from "./errors.ts";
import { RaftLog } from "./log.ts";
import { type Progress, ProgressState } from "./progress.ts";
import { VoteResult, voteResult } from "./quorum.ts";
import { ReadOnly } from "./read_only.ts";
import type { Storage } from "./storage.ts";
import { ProgressTracker } from "./tracker.ts";
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  entriesSize,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  message,
  MessageType,
  NONE,
  type ReadState,
  type Snapshot,
  type SnapshotChunk,
  type SoftState,
  StateType,
} from "./types.ts";

/** Context of vote requests sent because of a leadership transfer; they bypass leases. */
export const CAMPAIGN_TRANSFER = "campaignTransfer";

/** Configuration of one raft node. */
export interface Config {
  /** This node's id, never 0. */
  id: number;
  /** Ticks without hearing from a leader before a follower campaigns (randomized in [n, 2n)). */
  electionTick: number;
  /** Ticks between leader heartbeats. Must be below `electionTick`. */
  heartbeatTick: number;
  storage: Storage;
  /** Randomness for election timeouts. */
  prng: Prng;
  /** Index the application has already applied (restored from its own state). */
  applied?: number;
  /** Max bytes of entries in one append message. */
  maxSizePerMsg?: number;
  /** Max appends in flight to one follower in replicate state. */
  maxInflightMsgs?: number;
  /** Max bytes in flight to one follower (0 = unbounded). */
  maxInflightBytes?: number;
  /** Max bytes of proposed but uncommitted entries before proposals are dropped (0 = unbounded). */
  maxUncommittedEntriesSize?: number;
  /** Max bytes of committed entries handed out in one Ready. */
  maxCommittedSizePerReady?: number;
  /** Bytes per InstallSnapshot chunk. */
  snapshotChunkBytes?: number;
  /** Snapshot chunks in flight to one follower. */
  snapshotChunkWindow?: number;
  /** The leader steps down when it has not heard from a quorum for an election timeout. */
  checkQuorum?: boolean;
  /** Run a pre-vote round before bumping the term, so a rejoining node cannot disrupt. */
  preVote?: boolean;
  /**
   * The node starts from an empty disk without bootstrapping: it may have
   * voted or acknowledged entries before it lost them. It neither votes nor
   * campaigns until it holds every entry committed before the current term.
   */
  recovering?: boolean;
  /** Optional sink for diagnostic lines. */
  logger?: (line: string) => void;
}

/** A read-only summary of a node, for status pages and tests. */
export interface Status {
  id: number;
  term: number;
  vote: number;
  commit: number;
  applied: number;
  lastIndex: number;
  lead: number;
  raftState: StateType;
  leadTransferee: number;
  confState: ConfState;
  /** The leader's view of every member; empty on other nodes. */
  progress: Record<
    number,
    { match: number; next: number; state: ProgressState; isLearner: boolean }
  >;
}

type StepFn = (r: Raft, m: Message) => void;

/**
 * One raft peer. Not thread-safe and not meant to be used directly: drive it
 * through {@linkcode RawNode}. Methods marked protected are overridden by the
 * simulator's deliberately broken cores.
 */
export class Raft {
  readonly id: number;
  term = 0;
  vote = NONE;
  lead = NONE;
  state = StateType.Follower;
  /** Whether this node is a learner (or not a member at all). */
  isLearner = false;
  /** See {@linkcode Config.recovering}. Cleared for good once caught up. */
  recovering: boolean;
  /** While recovering: the highest commit index the leader sent in an append. */
  #recoverTarget = 0;
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  /** Messages to send once the Ready carrying them is persisted. */
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  /** Target of a leadership transfer in progress, or NONE. */
  leadTransferee = NONE;
  /** Log index of the newest membership change proposed by this leader; another waits until it is applied. */
  pendingConfIndex = 0;
  /**
   * A removed leader's hand-over targets tried since it last tried them all:
   * a retry goes to another voter, not again to one that did not take over.
   */
  readonly #handedTo = new Set<number>();
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  /** ReadIndex requests that wait for this leader's first commit in its term. */
  pendingReadIndexMessages: Message[] = [];

  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotChunkWindow: number;

  /** An InstallSnapshot being received, chunk by chunk. */
  incoming: { chunk: SnapshotChunk; parts: Uint8Array[]; received: number } | undefined;

  readonly #prng: Prng;
  readonly #log: (line: string) => void;
  #stepFn: StepFn = stepFollower;
  #tickFn: () => void = () => this.tickElection();

  constructor(c: Config) {
    if (c.id === NONE) throw new RangeError("Cannot create a raft node as id must not be 0");
    if (c.heartbeatTick <= 0 || c.electionTick <= c.heartbeatTick) {
      throw new RangeError(
        `Cannot create a raft node as electionTick must exceed heartbeatTick > 0: current values are ${c.electionTick} and ${c.heartbeatTick}`,
      );
    }
    this.id = c.id;
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum ?? true;
    this.preVote = c.preVote ?? true;
    this.maxMsgSize = c.maxSizePerMsg ?? 1024 * 1024;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? 0;
    this.snapshotChunkBytes = c.snapshotChunkBytes ?? 512 * 1024;
    this.snapshotChunkWindow = c.snapshotChunkWindow ?? 4;
    this.#prng = c.prng;
    this.#log = c.logger ?? (() => {});
    this.recovering = c.recovering ?? false;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? 8 * 1024 * 1024);
    this.trk = new ProgressTracker(c.maxInflightMsgs ?? 256, c.maxInflightBytes ?? 0);

    const { hardState, confState } = c.storage.initialState();
    this.trk.reset(confState, this.raftLog.lastIndex() + 1);
    this.isLearner = !this.trk.isVoter(this.id);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) {
      this.#loadState(hardState);
    }
    if (c.applied && c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
  }

  #loadState(hs: HardState): void {
    if (hs.commit < this.raftLog.committed || hs.commit > this.raftLog.lastIndex()) {
      throw new RangeError(
        `Cannot load commit ${hs.commit} as it is outside [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  status(): Status {
    const progress: Status["progress"] = {};
    if (this.state === StateType.Leader) {
      for (const id of this.trk.ids()) {
        const pr = this.trk.progress.get(id)!;
        progress[id] = { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner };
      }
    }
    return {
      id: this.id,
      ...this.hardState(),
      applied: this.raftLog.applied,
      lastIndex: this.raftLog.lastIndex(),
      lead: this.lead,
      raftState: this.state,
      leadTransferee: this.leadTransferee,
      confState: this.trk.confState(),
      progress,
    };
  }

  /** Whether this node may campaign: a caught-up voter with no snapshot waiting to be persisted. */
  promotable(): boolean {
    return this.trk.isVoter(this.id) && !this.raftLog.hasPendingSnapshot() && !this.recovering;
  }

  /**
   * Ends recovery once our log holds the leader's own commit index (as an
   * append told it, not the capped one of a heartbeat) and that index is an
   * entry of the leader's term. The leader holds every entry committed before
   * its term, and that commit index covers whatever it committed in its term
   * before telling us, also with acknowledgements we gave before our disk was
   * lost: our log now holds all of them, so our votes are safe again.
   * (Seed 303914: ending at a capped commit index of the current term left out
   * entries of that term committed with our lost acknowledgements.)
   */
  #maybeFinishRecovery(): void {
    if (!this.recovering || this.lead === NONE) return;
    const target = this.#recoverTarget;
    if (target === 0 || this.raftLog.committed < target) return;
    if (this.raftLog.term(target) === this.term) {
      this.recovering = false;
      this.#log(`${this.id} recovered at commit ${this.raftLog.committed}`);
    }
  }

  // ---- sending -------------------------------------------------------------

  /** Queues `m` for the next Ready, stamping `from` and (except for forwarded requests) `term`. */
  send(m: Message): void {
    m.from = this.id;
    const t = m.type;
    if (
      t === MessageType.Vote || t === MessageType.VoteResp || t === MessageType.PreVote ||
      t === MessageType.PreVoteResp
    ) {
      if (m.term === 0) throw new Error(`Cannot send ${MessageType[t]} without a term`);
    } else if (t !== MessageType.Prop && t !== MessageType.ReadIndex) {
      m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends an append (or a snapshot when needed) to `to` if flow control allows. */
  maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.term(prevIndex);
    let ents: Entry[] | undefined;
    if (prevTerm !== undefined) {
      try {
        ents = this.raftLog.entriesFrom(pr.next, this.maxMsgSize);
      } catch (e) {
        if (!(e instanceof CompactedError)) throw e;
      }
    }
    if (prevTerm === undefined || ents === undefined) {
      return this.#startSnapshot(to, pr);
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(message({
      type: MessageType.App,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries: ents,
      commit: this.raftLog.committed,
    }));
    const last = ents.length > 0 ? ents[ents.length - 1]!.index : prevIndex;
    pr.sentEntries(ents.length, last, entriesSize(ents));
    return true;
  }

  sendAppend(to: number): void {
    this.maybeSendAppend(to, true);
  }

  #startSnapshot(to: number, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    let snap: Snapshot;
    try {
      snap = this.raftLog.snapshot();
    } catch (e) {
      // Being loaded: the next heartbeat response from `to` tries again.
      if (e instanceof SnapshotTemporarilyUnavailableError) return false;
      throw e;
    }
    pr.becomeSnapshot(snap);
    this.#log(`${this.id} sends snapshot at ${snap.metadata.index} to ${to}`);
    this.sendSnapshotChunks(to, pr);
    return true;
  }

  /** Sends the next snapshot chunks to `to`, up to the chunk window. */
  sendSnapshotChunks(to: number, pr: Progress): void {
    const tr = pr.transfer;
    if (!tr) return;
    const total = tr.snapshot.data.byteLength;
    const window = this.snapshotChunkBytes * this.snapshotChunkWindow;
    while ((tr.sent < total || !tr.started) && tr.sent - tr.acked < window) {
      const end = Math.min(total, tr.sent + this.snapshotChunkBytes);
      this.send(message({
        type: MessageType.Snap,
        to,
        snapshot: {
          metadata: tr.snapshot.metadata,
          offset: tr.sent,
          total,
          data: tr.snapshot.data.subarray(tr.sent, end),
        },
      }));
      tr.sent = end;
      tr.started = true;
    }
  }

  #sendHeartbeat(to: number, context: string): void {
    const pr = this.trk.progress.get(to)!;
    this.send(message({
      type: MessageType.Heartbeat,
      to,
      commit: Math.min(pr.match, this.raftLog.committed),
      context,
    }));
  }

  bcastAppend(): void {
    for (const id of this.trk.ids()) if (id !== this.id) this.sendAppend(id);
  }

  bcastHeartbeat(context = this.readOnly.lastPendingContext()): void {
    for (const id of this.trk.ids()) if (id !== this.id) this.#sendHeartbeat(id, context);
  }

  // ---- state transitions ---------------------------------------------------

  #reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + this.#prng.intn(this.electionTimeout);
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const next = this.raftLog.lastIndex() + 1;
    for (const [id, pr] of this.trk.progress) {
      pr.becomeProbe();
      pr.match = 0;
      pr.next = next;
      pr.recentActive = false;
      if (id === this.id) {
        pr.match = this.stableLastIndex();
        pr.recentActive = true;
      }
    }
    this.pendingConfIndex = 0;
    this.#handedTo.clear();
    this.uncommittedSize = 0;
    // Reads confirmed by a former leadership would not be linearizable now.
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  /** The last index known to be on stable storage (0 while a snapshot is unpersisted). */
  stableLastIndex(): number {
    if (this.raftLog.hasPendingSnapshot()) return 0;
    return Math.min(this.raftLog.storage.lastIndex(), this.raftLog.unstable.offset - 1);
  }

  becomeFollower(term: number, lead: number): void {
    this.#stepFn = stepFollower;
    this.#reset(term);
    this.#tickFn = () => this.tickElection();
    this.lead = lead;
    this.state = StateType.Follower;
  }

  becomeCandidate(): void {
    if (this.state === StateType.Leader) throw new Error("Cannot become candidate from leader");
    this.#stepFn = stepCandidate;
    this.#reset(this.term + 1);
    this.#tickFn = () => this.tickElection();
    this.vote = this.id;
    this.state = StateType.Candidate;
    this.#log(`${this.id} became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    if (this.state === StateType.Leader) throw new Error("Cannot become pre-candidate from leader");
    // Pre-candidacy changes neither term nor vote.
    this.#stepFn = stepCandidate;
    this.trk.resetVotes();
    this.#tickFn = () => this.tickElection();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
  }

  becomeLeader(): void {
    if (this.state === StateType.Follower) throw new Error("Cannot become leader from follower");
    this.#stepFn = stepLeader;
    this.#reset(this.term);
    this.#tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = StateType.Leader;
    this.trk.progress.get(this.id)?.becomeReplicate();
    // Conservatively forbid membership changes until everything in the log
    // at election time is applied: an earlier, unapplied change may be there.
    this.pendingConfIndex = this.raftLog.lastIndex();
    const noop: Entry = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
    this.appendEntries([noop]);
    this.#log(`${this.id} became leader at term ${this.term}`);
  }

  // ---- ticks ---------------------------------------------------------------

  tick(): void {
    this.#tickFn();
  }

  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(message({ type: MessageType.Hup, from: this.id }));
    }
  }

  tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ type: MessageType.CheckQuorum, from: this.id }));
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) {
        this.abortLeaderTransfer();
        if (this.isLearner) this.#handOver(); // removed: try again, perhaps another voter
      }
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: MessageType.Beat, from: this.id }));
    }
  }

  // ---- log -----------------------------------------------------------------

  /**
   * Appends proposals (terms and indexes are assigned here) to the leader's log.
   * Returns false when the uncommitted-size limit drops them.
   */
  appendEntries(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    const size = payloadsSize(es);
    if (
      this.maxUncommittedSize > 0 && this.uncommittedSize > 0 && size > 0 &&
      this.uncommittedSize + size > this.maxUncommittedSize
    ) {
      return false;
    }
    this.uncommittedSize += size;
    for (const e of es) {
      e.term = this.term;
      e.index = ++li;
    }
    this.raftLog.append(es);
    // The leader's own acknowledgement waits until the entries are stable (onStable).
    return true;
  }

  /**
   * Commits what a quorum has: only an entry of the current term is committed
   * by counting replicas (§5.4.2); earlier ones are committed with it.
   */
  protected maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  /** Called by RawNode when entries up to the last index are persisted. */
  onStable(): void {
    if (this.state !== StateType.Leader) return;
    const pr = this.trk.progress.get(this.id);
    if (pr && pr.maybeUpdate(this.stableLastIndex()) && this.maybeCommit()) {
      this.#onCommitAdvanced();
    }
  }

  #onCommitAdvanced(): void {
    // Followers learn the new commit index when the Ready is taken (see
    // flushCommitBroadcast), so that an append with entries made meanwhile
    // (the next proposals) carries it instead of an empty append each.
    this.#releasePendingReadIndexMessages();
  }

  /**
   * Sends the commit index to every follower that no append in `msgs`
   * carries it to yet. RawNode calls it before it takes the messages of a
   * Ready in which the commit index moved.
   */
  flushCommitBroadcast(): void {
    if (this.state !== StateType.Leader) return;
    const committed = this.raftLog.committed;
    const told = new Set<number>();
    for (const m of this.msgs) {
      if (m.type === MessageType.App && m.commit >= committed) told.add(m.to);
    }
    for (const id of this.trk.ids()) {
      if (id !== this.id && !told.has(id)) this.sendAppend(id);
    }
  }

  /** Called by RawNode once committed entries were handed to the application. */
  reduceUncommittedSize(ents: Entry[]): void {
    if (this.uncommittedSize === 0) return;
    this.uncommittedSize = Math.max(0, this.uncommittedSize - payloadsSize(ents));
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.term(this.raftLog.committed) === this.term;
  }

  // ---- step ------------------------------------------------------------------

  /**
   * Feeds one message (local or from a peer) to the state machine.
   * @throws {ProposalDroppedError} for a proposal that cannot be accepted.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = m.context === CAMPAIGN_TRANSFER;
        const inLease = this.checkQuorum && this.lead !== NONE &&
          this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // We heard from a leader within the minimum election timeout: ignore,
          // so a node cut off and rejoining cannot depose a healthy leader.
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // The term is bumped when the pre-vote wins.
      } else if (
        m.type === MessageType.App || m.type === MessageType.Heartbeat ||
        m.type === MessageType.Snap
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if (
        (this.checkQuorum || this.preVote) &&
        (m.type === MessageType.Heartbeat || m.type === MessageType.App)
      ) {
        // A stale leader (perhaps cut off and back): tell it our term so it steps
        // down, because with check-quorum or pre-vote we will not start an
        // election that would inform it otherwise.
        this.send(message({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        this.send(message({
          type: MessageType.PreVoteResp,
          to: m.from,
          term: this.term,
          reject: true,
        }));
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? "pre" : "election");
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        // A recovering node may have forgotten a vote or an entry: it stays silent.
        if (this.recovering) return;
        const respType = m.type === MessageType.Vote
          ? MessageType.VoteResp
          : MessageType.PreVoteResp;
        if (this.canGrantVote(m) && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          // Answer with the message's term: for a pre-vote ours may be lower.
          this.send(message({ type: respType, to: m.from, term: m.term }));
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(message({ type: respType, to: m.from, term: this.term, reject: true }));
        }
        return;
      }
      default:
        this.#stepFn(this, m);
    }
  }

  /** Whether we may vote for `m.from` in `m.term` (log freshness is checked separately). */
  protected canGrantVote(m: Message): boolean {
    return this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === MessageType.PreVote && m.term > this.term);
  }

  /** Starts an election unless this node cannot or should not campaign. */
  hup(kind: "pre" | "election" | "transfer"): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) return;
    if (this.#hasUnappliedConfChange()) {
      this.#log(`${this.id} cannot campaign: a committed membership change is not applied yet`);
      return;
    }
    this.campaign(kind);
  }

  #hasUnappliedConfChange(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    let lo = this.raftLog.applied + 1;
    const hi = this.raftLog.committed + 1;
    while (lo < hi) {
      const ents = this.raftLog.slice(lo, hi, 4 * 1024 * 1024);
      if (ents.length === 0) break;
      if (ents.some((e) => e.type === EntryType.ConfChange)) return true;
      lo = ents[ents.length - 1]!.index + 1;
    }
    return false;
  }

  campaign(kind: "pre" | "election" | "transfer"): void {
    let voteType: MessageType;
    let term: number;
    if (kind === "pre") {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    // Our own vote counts at once; it is persisted with the term before any request leaves.
    if (this.poll(this.id, voteType, true) === VoteResult.Won) {
      if (kind === "pre") this.campaign("election");
      else this.becomeLeader();
      return;
    }
    for (const id of this.trk.voters) {
      if (id === this.id) continue;
      this.send(message({
        type: voteType,
        to: id,
        term,
        index: this.raftLog.lastIndex(),
        logTerm: this.raftLog.lastTerm(),
        context: kind === "transfer" ? CAMPAIGN_TRANSFER : "",
      }));
    }
  }

  poll(id: number, _type: MessageType, granted: boolean): VoteResult {
    return this.trk.recordVote(id, granted);
  }

  // ---- handlers shared by roles --------------------------------------------

  /** Handles an append, heartbeat or snapshot chunk from the leader. */
  handleFromLeader(m: Message): void {
    if (m.type === MessageType.App) this.handleAppendEntries(m);
    else if (m.type === MessageType.Heartbeat) this.handleHeartbeat(m);
    else this.handleSnapshotChunk(m);
  }

  handleAppendEntries(m: Message): void {
    if (this.recovering) this.#recoverTarget = Math.max(this.#recoverTarget, m.commit);
    if (m.index < this.raftLog.committed) {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
      return;
    }
    if (this.raftLog.matchTerm(m.index, m.logTerm)) {
      const conflict = this.raftLog.findConflict(m.entries);
      if (conflict !== 0 && conflict <= this.raftLog.lastIndex()) this.#dropAcksFrom(conflict);
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.#maybeFinishRecovery();
      this.send(message({ type: MessageType.AppResp, to: m.from, index: lastNew }));
      return;
    }
    // Tell the leader where our log could match so it can skip a whole term.
    const hintIndex = Math.min(m.index, this.raftLog.lastIndex());
    const [index, term] = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    this.send(message({
      type: MessageType.AppResp,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: index,
      logTerm: term,
    }));
  }

  handleHeartbeat(m: Message): void {
    const last = this.raftLog.lastIndex();
    if (m.commit > last) {
      // The leader caps m.commit at what we acknowledged, and acknowledged
      // entries are durable: our disk was lost. Tell the leader where we are.
      this.send(message({
        type: MessageType.AppResp,
        to: m.from,
        index: m.commit,
        reject: true,
        rejectHint: last,
      }));
    }
    this.raftLog.commitTo(Math.min(m.commit, last));
    this.#maybeFinishRecovery();
    // Still recovering: a heartbeat's commit index may be capped, so it cannot
    // end recovery. Ask for an append, which carries the leader's own (seed
    // 20262332: the one append with the final commit was lost, an idle leader
    // sends nothing but heartbeats, and the node stayed unable to vote).
    this.send(message({
      type: MessageType.HeartbeatResp,
      to: m.from,
      context: m.context,
      reject: this.recovering,
    }));
  }

  handleSnapshotChunk(m: Message): void {
    const chunk = m.snapshot!;
    const meta = chunk.metadata;
    if (meta.index <= this.raftLog.committed) {
      this.incoming = undefined;
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
      return;
    }
    const cur = this.incoming;
    const same = cur !== undefined && cur.chunk.metadata.index === meta.index &&
      cur.chunk.metadata.term === meta.term && cur.chunk.total === chunk.total;
    if (chunk.offset === 0) {
      this.incoming = { chunk, parts: [], received: 0 };
    } else if (!same || chunk.offset !== cur.received) {
      this.send(message({
        type: MessageType.SnapResp,
        to: m.from,
        index: meta.index,
        commit: same ? cur.received : 0,
        reject: true,
      }));
      return;
    }
    const inc = this.incoming!;
    inc.parts.push(chunk.data);
    inc.received += chunk.data.byteLength;
    if (inc.received < chunk.total) {
      this.send(message({
        type: MessageType.SnapResp,
        to: m.from,
        index: meta.index,
        commit: inc.received,
      }));
      return;
    }
    this.incoming = undefined;
    const snap: Snapshot = { metadata: meta, data: concatBytes(inc.parts) };
    if (this.restore(snap)) {
      this.#log(`${this.id} restored snapshot at ${meta.index}`);
      this.send(
        message({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() }),
      );
    } else {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Installs `snap` unless our log already covers it; returns whether it was installed. */
  /**
   * The log is about to lose its entries from `index` on (a new leader's
   * conflicting entries, or a snapshot): an append answer queued in this
   * batch that acknowledges any of them would be sent after the write that
   * discards them, vouching for entries this node never keeps (a stale leader
   * could count it toward a commit). Drop it; its leader asks again.
   */
  #dropAcksFrom(index: number): void {
    this.msgs = this.msgs.filter((x) =>
      x.type !== MessageType.AppResp || x.reject || x.index < index
    );
  }

  restore(snap: Snapshot): boolean {
    const { index, term } = snap.metadata;
    if (index <= this.raftLog.committed) return false;
    if (this.state !== StateType.Follower) {
      // Only a follower installs snapshots; become one without changing term.
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    if (this.raftLog.matchTerm(index, term)) {
      // Our log has the snapshot's last entry: just move commit forward.
      this.raftLog.commitTo(index);
      return false;
    }
    this.#dropAcksFrom(index + 1);
    this.raftLog.restore(snap);
    this.trk.reset(snap.metadata.confState, this.raftLog.lastIndex() + 1);
    this.isLearner = !this.trk.isVoter(this.id);
    return true;
  }

  // ---- membership ----------------------------------------------------------

  /** Applies a committed membership change and returns the new membership. */
  applyConfChange(cc: ConfChange): ConfState {
    const next = this.raftLog.lastIndex() + 1;
    switch (cc.type) {
      case ConfChangeType.AddNode:
        this.trk.addVoter(cc.nodeId, next);
        break;
      case ConfChangeType.AddLearner:
        this.trk.addLearner(cc.nodeId, next);
        break;
      case ConfChangeType.RemoveNode:
        this.trk.remove(cc.nodeId);
        break;
    }
    this.isLearner = !this.trk.isVoter(this.id);
    if (this.state !== StateType.Leader) return this.trk.confState();
    if (this.isLearner) {
      // The leader was removed. Stepping down at once could strand the others:
      // they may not know the removal is committed and still count on us. Stay
      // on, heartbeating (so they learn the commit) and refusing proposals,
      // and hand leadership to the most up-to-date voter.
      this.#handOver();
      return this.trk.confState();
    }
    if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee)) {
      this.abortLeaderTransfer();
    }
    const added = this.trk.progress.get(cc.nodeId);
    if (added && cc.nodeId !== this.id && cc.type !== ConfChangeType.RemoveNode) {
      added.recentActive = true;
    }
    if (this.maybeCommit()) this.#onCommitAdvanced();
    else this.bcastAppend();
    return this.trk.confState();
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  /**
   * A removed leader transfers leadership to the voter with the highest match
   * among those it has not tried yet (all of them again once each was tried).
   * A voter may be unable to take over (recovering from a lost disk, down, cut
   * off) while our heartbeats keep the others from campaigning: retrying the
   * same one would stall the cluster for good (seed 20262332, 5 nodes).
   */
  #handOver(): void {
    const pick = () => {
      let best: number | undefined;
      for (const id of this.trk.voters) {
        const pr = this.trk.progress.get(id);
        if (!pr || id === this.id || this.#handedTo.has(id)) continue;
        if (best === undefined || pr.match > this.trk.progress.get(best)!.match) best = id;
      }
      return best;
    };
    let best = pick();
    if (best === undefined && this.#handedTo.size > 0) {
      this.#handedTo.clear();
      best = pick();
    }
    if (best === undefined) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    this.#handedTo.add(best);
    this.#log(`${this.id} was removed and hands leadership to ${best}`);
    this.startTransfer(best);
  }

  /** Starts a leadership transfer to `to`; it is aborted after an election timeout. */
  startTransfer(to: number): void {
    this.electionElapsed = 0;
    this.leadTransferee = to;
    if (this.trk.progress.get(to)!.match === this.raftLog.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
  }

  sendTimeoutNow(to: number): void {
    this.send(message({ type: MessageType.TimeoutNow, to }));
  }

  // ---- reads ---------------------------------------------------------------

  /** Answers a ReadIndex request now: locally or to the follower that forwarded it. */
  respondToReadIndex(req: Message, index: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, context: req.context });
    } else {
      this.send(
        message({ type: MessageType.ReadIndexResp, to: req.from, index, context: req.context }),
      );
    }
  }

  #releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.#serveReadIndex(m);
  }

  #serveReadIndex(m: Message): void {
    if (this.trk.voters.length === 1 && this.trk.isVoter(this.id)) {
      this.respondToReadIndex(m, this.raftLog.committed);
      return;
    }
    this.readOnly.addRequest(this.raftLog.committed, m);
    this.readOnly.recvAck(this.id, m.context);
    this.bcastHeartbeat(m.context);
  }

  /** Leader-side ReadIndex: confirm leadership with a heartbeat round first (§6.4). */
  stepLeaderReadIndex(m: Message): void {
    if (!this.committedEntryInCurrentTerm()) {
      // Our commit index may be behind until an entry of this term commits.
      this.pendingReadIndexMessages.push(m);
      return;
    }
    this.#serveReadIndex(m);
  }

  /** Leader-side handling of a heartbeat response carrying a read context. */
  ackReadIndex(from: number, context: string): void {
    if (context === "") return;
    const acks = this.readOnly.recvAck(from, context);
    if (!acks) return;
    if (voteResult(this.trk.voters, acks) !== VoteResult.Won) return;
    for (const rs of this.readOnly.advance(context)) this.respondToReadIndex(rs.req, rs.index);
  }

  /** Leader-side handling of an append response. */
  handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      if (m.index >= pr.match && m.rejectHint < pr.match) {
        // The follower's log is shorter than what it acknowledged: it lost its
        // disk. Stop counting what it no longer has (commit never moves back).
        this.#log(`${this.id} sees ${m.from} lost entries after ${m.rejectHint}`);
        pr.forgetMatch(m.rejectHint);
        this.sendAppend(m.from);
        return;
      }
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === ProgressState.Probe)) {
      return;
    }
    switch (pr.state) {
      case ProgressState.Probe:
        pr.becomeReplicate();
        break;
      case ProgressState.Snapshot:
        if (pr.match >= pr.pendingSnapshot) {
          pr.becomeProbe();
          pr.becomeReplicate();
        }
        break;
      case ProgressState.Replicate:
        pr.inflights.freeLE(m.index);
        break;
    }
    if (this.maybeCommit()) {
      this.#onCommitAdvanced();
    } else if (wasPaused) {
      this.sendAppend(m.from);
    }
    // Fill the window: a probe turning into replicate may send several appends.
    while (this.maybeSendAppend(m.from, false)) { /* keep sending */ }
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
      this.sendTimeoutNow(m.from);
    }
  }
}

function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Beat:
      r.bcastHeartbeat();
      return;
    case MessageType.CheckQuorum:
      if (!r.trk.quorumActive(r.id)) {
        r.becomeFollower(r.term, NONE);
      }
      for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case MessageType.Prop: {
      if (m.entries.length === 0) throw new RangeError("Cannot propose nothing");
      // Copy: the leader assigns term and index, and the message may be delivered twice.
      const es = m.entries.map((e) => ({ ...e }));
      if (!r.trk.progress.has(r.id) || r.isLearner) {
        throw new ProposalDroppedError("this leader is no longer a voter");
      }
      if (r.leadTransferee !== NONE) {
        throw new ProposalDroppedError("leadership is being transferred", r.leadTransferee);
      }
      for (let i = 0; i < es.length; i++) {
        if (es[i]!.type !== EntryType.ConfChange) continue;
        if (r.pendingConfIndex > r.raftLog.applied) {
          throw new ProposalDroppedError("a membership change is still being applied");
        }
        r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
      }
      if (!r.appendEntries(es)) {
        throw new ProposalDroppedError("too much is uncommitted", r.id);
      }
      r.bcastAppend();
      return;
    }
    case MessageType.ReadIndex:
      r.stepLeaderReadIndex(m);
      return;
  }

  const pr = r.trk.progress.get(m.from);
  if (!pr) return;
  switch (m.type) {
    case MessageType.AppResp:
      r.handleAppendResponse(m, pr);
      return;
    case MessageType.HeartbeatResp:
      pr.recentActive = true;
      pr.probeSent = false;
      if (pr.state === ProgressState.Snapshot && pr.transfer) {
        // Resend from the last confirmed byte if the transfer made no progress.
        const tr = pr.transfer;
        if (tr.acked === tr.ackedAtLastBeat) {
          tr.sent = tr.acked;
          if (tr.acked === 0) tr.started = false;
          r.sendSnapshotChunks(m.from, pr);
        }
        tr.ackedAtLastBeat = tr.acked;
      } else if (pr.match < r.raftLog.lastIndex()) {
        // No progress for a whole heartbeat round: appends were probably lost,
        // so fall back to probing from the follower's match.
        if (pr.state === ProgressState.Replicate && pr.match === pr.matchAtLastBeat) {
          pr.becomeProbe();
        }
        r.sendAppend(m.from);
      } else if (m.reject) {
        // A recovering follower asks for our own commit index (see handleHeartbeat).
        r.sendAppend(m.from);
      }
      pr.matchAtLastBeat = pr.match;
      r.ackReadIndex(m.from, m.context);
      return;
    case MessageType.SnapResp: {
      const tr = pr.transfer;
      if (pr.state !== ProgressState.Snapshot || !tr || tr.snapshot.metadata.index !== m.index) {
        return;
      }
      pr.recentActive = true;
      if (m.reject) {
        tr.acked = m.commit;
        tr.sent = m.commit;
        if (m.commit === 0) tr.started = false;
      } else {
        tr.acked = Math.max(tr.acked, m.commit);
      }
      r.sendSnapshotChunks(m.from, pr);
      return;
    }
    case MessageType.Unreachable:
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    case MessageType.TransferLeader: {
      if (pr.isLearner) return;
      const transferee = m.from;
      if (r.leadTransferee !== NONE) {
        if (r.leadTransferee === transferee) return;
        r.abortLeaderTransfer();
      }
      if (transferee === r.id) return;
      // The transfer must finish within an election timeout or it is aborted.
      r.startTransfer(transferee);
      return;
    }
  }
}

function stepCandidate(r: Raft, m: Message): void {
  const myRespType = r.state === StateType.PreCandidate
    ? MessageType.PreVoteResp
    : MessageType.VoteResp;
  switch (m.type) {
    case MessageType.Prop:
      throw new ProposalDroppedError("there is no leader");
    case MessageType.App:
    case MessageType.Heartbeat:
    case MessageType.Snap:
      // A leader exists for our term: follow it.
      r.becomeFollower(m.term, m.from);
      r.handleFromLeader(m);
      return;
    case myRespType: {
      const res = r.poll(m.from, m.type, !m.reject);
      if (res === VoteResult.Won) {
        if (r.state === StateType.PreCandidate) {
          r.campaign("election");
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (res === VoteResult.Lost) {
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    case MessageType.ReadIndex:
    case MessageType.TransferLeader:
      return;
  }
}

function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Prop:
      if (r.lead === NONE) throw new ProposalDroppedError("there is no leader");
      forwardToLeader(r, m);
      return;
    case MessageType.App:
    case MessageType.Heartbeat:
    case MessageType.Snap:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleFromLeader(m);
      return;
    case MessageType.TransferLeader:
    case MessageType.ReadIndex:
      forwardToLeader(r, m);
      return;
    case MessageType.TimeoutNow:
      // A transfer skips the pre-vote: the leader asked for it, no partition to fear.
      r.hup("transfer");
      return;
    case MessageType.ReadIndexResp:
      r.readStates.push({ index: m.index, context: m.context });
      return;
  }
}

/** Passes a request on to the leader; dropped when there is none. */
function forwardToLeader(r: Raft, m: Message): void {
  if (r.lead === NONE) return;
  m.to = r.lead;
  r.send(m);
}

function payloadsSize(es: readonly Entry[]): number {
  let n = 0;
  for (const e of es) n += e.data.byteLength;
  return n;
}
