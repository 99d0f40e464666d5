/**
 * RaftNode drives a {@linkcode RawNode} with a {@linkcode Clock}, durable
 * {@linkcode RaftStorage} and a {@linkcode Transport}: the one async loop of
 * the raft module (etcd's raftexample shape). Everything that arrives while a
 * write is in flight is batched into the next Ready, so many proposals share
 * one storage commit (group commit). cassemdb runs it on the real clock and
 * KvStorage; the simulator runs the same code on simulated time and disks.
 *
 * @module
 */

import { SeededPrng } from "../prng.ts";
import { type Clock, REAL_CLOCK, type TimerHandle } from "./clock.ts";
import { decodeConfChange } from "./conf_change.ts";
import {
  CommitTimeoutError,
  NotLeaderError,
  ProposalDroppedError,
  ProposalOutcomeUnknownError,
  StoppedError,
} from "./errors.ts";
import type { RaftStorage } from "./raft_storage.ts";
import type { Config, Status } from "./raft.ts";
import { type RaftFactory, RawNode, type Ready } from "./raw_node.ts";
import { bootstrapEntries, bootstrapHardState } from "./storage.ts";
import type { Transport } from "./transport.ts";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  NONE,
  type Snapshot,
  StateType,
} from "./types.ts";

/** The application state that raft replicates. */
export interface StateMachine {
  /** Applies committed entries in log order (normal entries, including empty no-ops). */
  apply(entries: Entry[]): void;
  /** A snapshot of the state after the last applied entry. */
  snapshot(): Uint8Array;
  /** Replaces the state with a snapshot's. */
  restore(snapshot: Snapshot): void;
  /** Called after the membership change at log `index` is applied. */
  onConfChange?(cc: ConfChange, confState: ConfState, index: number): void;
  /** Called when this node's view of the leader changes. */
  onLeaderChange?(leader: number, term: number): void;
}

/** Options of {@linkcode RaftNode.start}. */
export interface RaftNodeOptions {
  id: number;
  /** Durable storage (KvStorage in cassemdb, a simulated disk in the simulator). */
  storage: RaftStorage;
  transport: Transport;
  stateMachine: StateMachine;
  /** Time and timers (default: the process clock and global timers). */
  clock?: Clock;
  /**
   * Founding voters. When the storage is empty and this lists the node, the
   * cluster log is bootstrapped. An empty storage without it starts a node
   * that joins (or rejoins after losing its disk) and recovers before voting.
   */
  bootstrap?: number[];
  /** The context of each founding member's bootstrap entry (for example its address). */
  bootstrapContext?: (id: number) => string;
  /** Milliseconds per tick (default 50). */
  tickMs?: number;
  /** Raft settings; id, storage and prng are filled in. */
  raft?: Partial<Omit<Config, "id" | "storage" | "prng" | "applied">>;
  /** Applied entries between snapshots (default 10,000). */
  snapshotEvery?: number;
  /**
   * Bytes of applied entry data between snapshots (default 64 MiB), so that
   * a log of large entries is compacted before it fills memory.
   */
  snapshotBytes?: number;
  /** Entries kept behind a snapshot for slow followers (default 5,000). */
  keepEntries?: number;
  /** Bytes of entry data kept behind a snapshot, at most (default 32 MiB; one entry at least). */
  keepBytes?: number;
  /** Default deadline of a proposal or read, in ms (default 10,000). */
  timeoutMs?: number;
  /** Seed of the election-timeout randomness (default: random). */
  seed?: number;
  factory?: RaftFactory;
  logger?: (line: string) => void;
}

interface PendingProposal {
  term: number;
  resolve: (index: number) => void;
  reject: (e: Error) => void;
}

interface QueuedProposal {
  data: Uint8Array;
  resolve: (index: number) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
}

interface ReadWaiter {
  resolve: (index: number) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
}

const MiB = 1024 * 1024;

/** Counters of a {@linkcode RaftNode} since it started, for `/status` and benchmarks. */
export interface RaftNodeStats {
  /** Ready cycles handled. */
  readies: number;
  /** Writes to storage (each one `atomic()` commit). */
  saves: number;
  /** Entries written to storage. */
  entriesSaved: number;
  /** Wall-clock ms spent waiting for storage writes. */
  saveMs: number;
  /** Entries applied to the state machine. */
  entriesApplied: number;
}

/** What {@linkcode RaftNode.status} reports: the core's status as this driver sees it. */
export interface RaftNodeStatus extends Status {
  /** Index of the last entry applied to the state machine. */
  applied: number;
  /** Whether this node lost its disk and has not caught up since (it neither votes nor campaigns). */
  recovering: boolean;
}

/** A running raft node. */
export class RaftNode {
  readonly id: number;
  /**
   * The core this driver steps. Only for tests and the simulator, which check
   * invariants on it: services use {@linkcode status} (`deno task check-pure`
   * forbids reaching through from db/, adm/ and agent/).
   */
  readonly rn: RawNode;
  readonly #storage: RaftStorage;
  readonly #clock: Clock;
  readonly #transport: Transport;
  readonly #sm: StateMachine;
  readonly #opts: RaftNodeOptions;
  #inbox: Message[] = [];
  #unreachable = new Set<number>();
  #ticks = 0;
  #queued: QueuedProposal[] = [];
  /** index → proposal waiting to be applied. */
  readonly #proposals = new Map<number, PendingProposal>();
  #readQueue: ReadWaiter[] = [];
  readonly #reads = new Map<string, ReadWaiter[]>();
  #readSeq = 0;
  /**
   * Makes read contexts unique to this process: the answer to a read that an
   * earlier process of this node sent may still arrive, and must not serve a
   * read of this one (its index may be older than a write acknowledged since).
   */
  readonly #readPrefix: string;
  /** Waiters for `applied >= index`, kept sorted by index. */
  #appliedWaiters: { index: number; resolve: () => void }[] = [];
  #applied: number;
  #confState: ConfState;
  #sinceSnapshot = 0;
  #sinceSnapshotBytes = 0;
  /** A hard state whose only change is the commit index, saved with the next write. */
  #unsavedHardState: HardState | undefined;
  #lead = NONE;
  #stopped = false;
  #wake: (() => void) | undefined;
  #ticker: TimerHandle | undefined;
  #loop: Promise<void> | undefined;
  #fatal: unknown;
  readonly #stats: RaftNodeStats = {
    readies: 0,
    saves: 0,
    entriesSaved: 0,
    saveMs: 0,
    entriesApplied: 0,
  };

  private constructor(opts: RaftNodeOptions, recovering: boolean) {
    this.id = opts.id;
    this.#opts = opts;
    this.#storage = opts.storage;
    this.#clock = opts.clock ?? REAL_CLOCK;
    this.#transport = opts.transport;
    this.#sm = opts.stateMachine;
    const snap = opts.storage.snapshot();
    if (snap.metadata.index > 0) opts.stateMachine.restore(snap);
    // The state machine has it now; followers that need it get it from disk.
    opts.storage.releaseSnapshotData();
    this.#applied = snap.metadata.index;
    this.#confState = structuredClone(snap.metadata.confState);
    const seed = opts.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!;
    this.#readPrefix = `${opts.id}.${(seed >>> 0).toString(36)}`;
    this.rn = new RawNode({
      electionTick: 10,
      heartbeatTick: 1,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      maxUncommittedEntriesSize: 64 * 1024 * 1024,
      ...opts.raft,
      id: opts.id,
      storage: opts.storage,
      prng: new SeededPrng(seed),
      // The state machine starts from the snapshot; the log may reach further back.
      applied: snap.metadata.index,
      recovering,
      logger: opts.logger,
    }, opts.factory);
  }

  /**
   * Opens the node on its storage (bootstrapping or marking it recovering
   * when the storage is empty) and starts the tick timer and the loop.
   */
  static async start(opts: RaftNodeOptions): Promise<RaftNode> {
    const st = opts.storage;
    if (st.isEmpty()) {
      if (opts.bootstrap?.includes(opts.id)) {
        await st.save({
          entries: bootstrapEntries(opts.bootstrap, opts.bootstrapContext),
          hardState: bootstrapHardState(opts.bootstrap),
        });
      } else {
        await st.setRecovering(true);
      }
    }
    const node = new RaftNode(opts, st.recovering());
    await opts.transport.start({
      message: (m) => node.#enqueue(m),
      unreachable: (id) => {
        node.#unreachable.add(id);
        node.#kick();
      },
    });
    node.#ticker = node.#clock.setInterval(() => {
      node.#ticks++;
      node.#kick();
    }, opts.tickMs ?? 50);
    node.#loop = node.#run();
    return node;
  }

  /** The leader as this node knows it (0 when unknown). */
  get leader(): number {
    return this.#lead;
  }

  /** Whether this node leads. */
  get isLeader(): boolean {
    return this.rn.raft.state === StateType.Leader;
  }

  /** Index of the last entry applied to the state machine. */
  get applied(): number {
    return this.#applied;
  }

  /** The membership as applied here. */
  get confState(): ConfState {
    return structuredClone(this.#confState);
  }

  /** A copy of the counters. */
  stats(): RaftNodeStats {
    return { ...this.#stats };
  }

  /** The core's status with this driver's applied index and recovering flag. */
  status(): RaftNodeStatus {
    return {
      ...this.rn.status(),
      applied: this.#applied,
      recovering: this.rn.raft.recovering,
    };
  }

  /**
   * Proposes `data` and resolves with its log index once it is committed and
   * applied. Only the leader takes proposals.
   * @throws {NotLeaderError} on a follower (with the leader's id when known).
   * @throws {ProposalDroppedError} when the entry was lost to a leader change (it will not apply).
   * @throws {ProposalOutcomeUnknownError} when a snapshot replaced the log where the entry was
   * (it may have applied).
   * @throws {CommitTimeoutError} when the deadline passed (it may still apply).
   */
  propose(data: Uint8Array, timeoutMs = this.#opts.timeoutMs ?? 10_000): Promise<number> {
    if (this.#stopped) return Promise.reject(new StoppedError());
    if (!this.isLeader) return Promise.reject(new NotLeaderError(this.#lead));
    return new Promise((resolve, reject) => {
      const q: QueuedProposal = {
        data,
        resolve,
        reject,
        timer: this.#clock.setTimeout(() => {
          q.reject = () => {};
          q.resolve = () => {};
          reject(new CommitTimeoutError(timeoutMs, this.#lead));
        }, timeoutMs),
      };
      this.#queued.push(q);
      this.#kick();
    });
  }

  /**
   * Resolves once this node has applied every entry committed before the call:
   * a linearizable read point (ReadIndex), batched with concurrent reads.
   * Works on followers too (the leader confirms the index).
   */
  linearizableRead(timeoutMs = this.#opts.timeoutMs ?? 10_000): Promise<void> {
    return this.readIndex(timeoutMs).then((index) => this.waitApplied(index));
  }

  /** The commit index the leader confirmed for a read issued now. */
  readIndex(timeoutMs = this.#opts.timeoutMs ?? 10_000): Promise<number> {
    if (this.#stopped) return Promise.reject(new StoppedError());
    return new Promise((resolve, reject) => {
      const w: ReadWaiter = {
        resolve,
        reject,
        timer: this.#clock.setTimeout(() => {
          w.resolve = () => {};
          w.reject = () => {};
          reject(new NotLeaderError(this.#lead));
        }, timeoutMs),
      };
      this.#readQueue.push(w);
      this.#kick();
    });
  }

  /** Resolves once `index` is applied. */
  waitApplied(index: number): Promise<void> {
    if (this.#applied >= index) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { index, resolve };
      const at = this.#appliedWaiters.findIndex((x) => x.index > index);
      if (at < 0) this.#appliedWaiters.push(w);
      else this.#appliedWaiters.splice(at, 0, w);
    });
  }

  /** Proposes a membership change; resolves with its index once applied. */
  proposeConfChange(cc: ConfChange): Promise<number> {
    if (!this.isLeader) return Promise.reject(new NotLeaderError(this.#lead));
    const index = this.rn.raft.raftLog.lastIndex() + 1;
    try {
      this.rn.proposeConfChange(cc);
    } catch (e) {
      return Promise.reject(e);
    }
    this.#kick();
    return this.#track(index);
  }

  /** Asks the leader to hand over leadership to `to`. */
  transferLeadership(to: number): void {
    this.rn.transferLeader(to);
    this.#kick();
  }

  /** Starts an election now (for tests and operators). */
  campaign(): void {
    this.rn.campaign();
    this.#kick();
  }

  /**
   * Stops the loop and the timers, closes the transport (unless `keepTransport`:
   * a process about to exit may leave its sockets to the OS) and closes the storage.
   */
  async stop(options: { keepTransport?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clock.clearInterval(this.#ticker);
    this.#kick();
    await this.#loop;
    if (!options.keepTransport) await this.#transport.close();
    this.#failAll(new StoppedError());
    this.#storage.close();
  }

  /** Resolves when the loop ends; rejects with the error that stopped it, if any. */
  async done(): Promise<void> {
    await this.#loop;
    if (this.#fatal) throw this.#fatal;
  }

  // ---- the loop --------------------------------------------------------------

  #enqueue(m: Message): void {
    if (this.#stopped) return;
    this.#inbox.push(m);
    this.#kick();
  }

  #kick(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #track(index: number): Promise<number> {
    const term = this.rn.raft.term;
    return new Promise((resolve, reject) => this.#proposals.set(index, { term, resolve, reject }));
  }

  async #run(): Promise<void> {
    try {
      while (!this.#stopped) {
        this.#feed();
        if (this.rn.hasReady()) {
          await this.#handleReady(this.rn.ready());
          continue;
        }
        await new Promise<void>((r) => {
          this.#wake = r;
          if (this.#inbox.length || this.#ticks || this.#queued.length || this.#readQueue.length) {
            this.#kick();
          }
        });
      }
    } catch (e) {
      this.#fatal = e;
      this.#opts.logger?.(`${this.id} raft loop stopped: ${(e as Error)?.stack ?? e}`);
      this.#stopped = true;
      this.#clock.clearInterval(this.#ticker);
      this.#failAll(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Steps everything that arrived since the last Ready into the core. */
  #feed(): void {
    const rn = this.rn;
    const inbox = this.#inbox;
    this.#inbox = [];
    for (const m of inbox) {
      try {
        rn.step(m);
      } catch (e) {
        if (!(e instanceof ProposalDroppedError)) throw e;
      }
    }
    for (const id of this.#unreachable) rn.reportUnreachable(id);
    this.#unreachable.clear();
    for (; this.#ticks > 0; this.#ticks--) rn.tick();
    if (this.#queued.length > 0) this.#proposeQueued();
    if (this.#readQueue.length > 0) {
      const ctx = `${this.#readPrefix}.${++this.#readSeq}`;
      this.#reads.set(ctx, this.#readQueue);
      this.#readQueue = [];
      rn.readIndex(ctx);
    }
  }

  #proposeQueued(): void {
    const queued = this.#queued;
    this.#queued = [];
    const rn = this.rn;
    const first = rn.raft.raftLog.lastIndex() + 1;
    try {
      if (!this.isLeader) throw new NotLeaderError(this.#lead);
      rn.proposeBatch(queued.map((q) => q.data));
    } catch (e) {
      for (const q of queued) {
        this.#clock.clearTimeout(q.timer);
        q.reject(e as Error);
      }
      return;
    }
    const term = rn.raft.term;
    queued.forEach((q, i) => {
      this.#proposals.set(first + i, {
        term,
        resolve: (index) => {
          this.#clock.clearTimeout(q.timer);
          q.resolve(index);
        },
        reject: (e) => {
          this.#clock.clearTimeout(q.timer);
          q.reject(e);
        },
      });
    });
  }

  async #handleReady(rd: Ready): Promise<void> {
    const st = this.#storage;
    const stats = this.#stats;
    stats.readies++;
    // Leadership first: the state machine learns a term it leads before it
    // applies any entry of that term.
    if (rd.softState) this.#onSoftState(rd.softState.lead);
    // A leader's appends go out while its own write is in flight.
    this.#transport.send(rd.earlyMessages);
    // Committed entries already on our disk can be applied while the new
    // entries are written: a leader answers its clients one write sooner.
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1]?.index ?? 0;
    const applyEarly = !rd.snapshot && lastCommitted > 0 && lastCommitted <= st.lastIndex() &&
      (rd.entries.length === 0 || rd.entries[0]!.index > lastCommitted);
    if (applyEarly) this.#apply(rd.committedEntries);
    if (rd.hardState) this.#unsavedHardState = rd.hardState;
    if (rd.mustSync || rd.entries.length > 0 || rd.snapshot) {
      // A change of the commit index alone need not be durable (raft re-learns
      // it after a restart): it rides along with the next write instead of
      // costing an fsync of its own.
      const t0 = this.#clock.now();
      await st.save({
        hardState: this.#unsavedHardState,
        entries: rd.entries,
        snapshot: rd.snapshot,
      });
      stats.saves++;
      stats.entriesSaved += rd.entries.length;
      stats.saveMs += this.#clock.now() - t0;
      this.#unsavedHardState = undefined;
    }
    if (st.recovering() && !this.rn.raft.recovering) await st.setRecovering(false);
    // Persisted: now it is safe to send.
    this.#transport.send(rd.messages);
    if (rd.snapshot) {
      this.#sm.restore(rd.snapshot);
      st.releaseSnapshotData();
      this.#confState = structuredClone(rd.snapshot.metadata.confState);
      this.#applied = rd.snapshot.metadata.index;
      this.#sinceSnapshot = 0;
      this.#sinceSnapshotBytes = 0;
      // The snapshot may or may not hold each covered proposal's entry: the
      // log where it was is gone, so only the state machine can tell.
      for (const [index, p] of this.#proposals) {
        if (index <= this.#applied) {
          this.#proposals.delete(index);
          p.reject(new ProposalOutcomeUnknownError(index, p.term));
        }
      }
    }
    if (rd.committedEntries.length > 0 && !applyEarly) this.#apply(rd.committedEntries);
    for (const rs of rd.readStates) {
      const waiters = this.#reads.get(rs.context);
      this.#reads.delete(rs.context);
      for (const w of waiters ?? []) {
        this.#clock.clearTimeout(w.timer);
        w.resolve(rs.index);
      }
    }
    this.rn.advance(rd);
    this.#releaseApplied();
    await this.#maybeSnapshot();
  }

  #apply(entries: Entry[]): void {
    this.#stats.entriesApplied += entries.length;
    let batch: Entry[] = [];
    const flush = () => {
      if (batch.length > 0) this.#sm.apply(batch);
      batch = [];
    };
    for (const e of entries) {
      this.#sinceSnapshotBytes += e.data.byteLength;
      if (e.type === EntryType.ConfChange) {
        flush();
        const cc = decodeConfChange(e.data);
        this.#confState = this.rn.applyConfChange(cc);
        this.#sm.onConfChange?.(cc, this.confState, e.index);
      } else {
        batch.push(e);
      }
    }
    flush();
    for (const e of entries) {
      const p = this.#proposals.get(e.index);
      if (!p) continue;
      this.#proposals.delete(e.index);
      if (p.term === e.term) p.resolve(e.index);
      else p.reject(new ProposalDroppedError("a new leader replaced the entry", this.#lead));
    }
    this.#applied = entries[entries.length - 1]!.index;
    this.#sinceSnapshot += entries.length;
  }

  #onSoftState(lead: number): void {
    if (lead === this.#lead) return;
    this.#lead = lead;
    this.#sm.onLeaderChange?.(lead, this.rn.raft.term);
    // A read point requested of the former leader may never come: let callers retry.
    for (const waiters of this.#reads.values()) {
      for (const w of waiters) {
        this.#clock.clearTimeout(w.timer);
        w.reject(new NotLeaderError(lead));
      }
    }
    this.#reads.clear();
  }

  #releaseApplied(): void {
    let n = 0;
    while (n < this.#appliedWaiters.length && this.#appliedWaiters[n]!.index <= this.#applied) n++;
    if (n === 0) return;
    const done = this.#appliedWaiters.splice(0, n);
    for (const w of done) w.resolve();
  }

  async #maybeSnapshot(): Promise<void> {
    const every = this.#opts.snapshotEvery ?? 10_000;
    const everyBytes = this.#opts.snapshotBytes ?? 64 * MiB;
    if (this.#sinceSnapshot < every && this.#sinceSnapshotBytes < everyBytes) return;
    const st = this.#storage;
    const index = this.#applied;
    if (this.#unsavedHardState) {
      await st.save({ hardState: this.#unsavedHardState, entries: [] });
      this.#unsavedHardState = undefined;
    }
    if (index <= st.snapshotMetadata().index || index > st.hardState().commit) return;
    this.#sinceSnapshot = 0;
    this.#sinceSnapshotBytes = 0;
    await st.createSnapshot(index, this.#confState, this.#sm.snapshot());
    st.releaseSnapshotData();
    const compactTo = this.#compactionPoint(index);
    if (compactTo >= st.firstIndex()) await st.compact(compactTo);
  }

  /**
   * Where to compact after a snapshot at `index`: keep at most `keepEntries`
   * entries and `keepBytes` of entry data (but at least the entry at `index`).
   */
  #compactionPoint(index: number): number {
    const st = this.#storage;
    let to = index - (this.#opts.keepEntries ?? 5_000);
    const first = st.firstIndex();
    if (to + 1 < first) to = first - 1;
    const kept = to < index ? st.entries(to + 1, index + 1, Infinity) : [];
    let bytes = 0;
    const keepBytes = this.#opts.keepBytes ?? 32 * MiB;
    for (let i = kept.length - 1; i >= 0; i--) {
      bytes += kept[i]!.data.byteLength;
      if (bytes > keepBytes && i < kept.length - 1) return kept[i]!.index;
    }
    return to;
  }

  #failAll(e: Error): void {
    for (const q of this.#queued) {
      this.#clock.clearTimeout(q.timer);
      q.reject(e);
    }
    this.#queued = [];
    for (const p of this.#proposals.values()) p.reject(e);
    this.#proposals.clear();
    for (const w of [...this.#readQueue, ...[...this.#reads.values()].flat()]) {
      this.#clock.clearTimeout(w.timer);
      w.reject(e);
    }
    this.#readQueue = [];
    this.#reads.clear();
  }
}
