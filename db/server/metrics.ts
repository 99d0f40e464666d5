/**
 * cassemdb's metrics (served at `/metrics` on `--http`; docs/metrics.md
 * lists them all): raft state read from the driver at each scrape, the
 * driver's and the transport's counters, proposal latency, storage write
 * latency and snapshots, the store and the watch hub, and every client
 * gRPC call (`shared/metrics/grpc_server.ts`).
 *
 * The raft driver is left untouched: proposals are timed around
 * `RaftNode.propose` by {@linkcode DbNode.propose}, and storage writes by
 * {@linkcode meteredStorage}, the storage the driver is given.
 *
 * @module
 */

import {
  type Counter,
  createRegistry,
  DISK_BUCKETS,
  GrpcServerMetrics,
  type Histogram,
  LATENCY_BUCKETS,
  prom,
  readCounters,
  readGauges,
  type Registry,
} from "../../shared/metrics/mod.ts";
import {
  type ConfState,
  type Entry,
  type HardState,
  type InitialState,
  type RaftStorage,
  type Snapshot,
  StateType,
  type StorageUpdate,
} from "../../shared/raft/mod.ts";
import type { DbNode } from "./db_node.ts";

/** The metrics of one cassemdb node. */
export class DbMetrics {
  /** What `/metrics` renders. */
  readonly registry: Registry;
  /** Client gRPC calls (KV and Cluster services). */
  readonly grpc: GrpcServerMetrics;
  /** Time from proposing a command to its result on this (leader) node, by result. */
  readonly proposals: Histogram<"result">;
  /** Leaders this node has seen (a change to a known leader). */
  readonly leaderChanges: Counter;
  /** Raft storage writes (one Deno KV commit each). */
  readonly saves: Histogram;
  /** Snapshots this node took of its store. */
  readonly snapshotsTaken: Counter;
  /** Snapshots this node installed from a leader. */
  readonly snapshotsInstalled: Counter;

  /** A registry with the event metrics; {@linkcode observeNode} adds the read ones. */
  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry = createRegistry(options)];
    this.grpc = new GrpcServerMetrics(this.registry);
    this.proposals = new prom.Histogram({
      name: "cassemdb_raft_proposal_duration_seconds",
      help:
        "Time from proposing a command on the leader to its applied result, by result (applied, failed).",
      labelNames: ["result"],
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    this.leaderChanges = new prom.Counter({
      name: "cassemdb_raft_leader_changes_total",
      help: "Times this node learnt of a new leader (its first one included).",
      registers,
    });
    this.saves = new prom.Histogram({
      name: "cassemdb_storage_save_duration_seconds",
      help: "Time of one raft storage write (entries, hard state, snapshot: one Deno KV commit).",
      buckets: [...DISK_BUCKETS],
      registers,
    });
    this.snapshotsTaken = new prom.Counter({
      name: "cassemdb_snapshots_taken_total",
      help: "Snapshots this node took of its store (then compacting its log).",
      registers,
    });
    this.snapshotsInstalled = new prom.Counter({
      name: "cassemdb_snapshots_installed_total",
      help: "Snapshots this node received from a leader and installed.",
      registers,
    });
  }

  /** Registers the metrics read from `node` at each scrape. */
  observeNode(node: DbNode): void {
    const r = this.registry;
    const s = () => node.raft.status();
    readGauges(r, [
      { name: "cassemdb_raft_term", help: "The node's current raft term.", read: () => s().term },
      {
        name: "cassemdb_raft_commit_index",
        help: "The highest log index known committed.",
        read: () => s().commit,
      },
      {
        name: "cassemdb_raft_applied_index",
        help: "The highest log index applied to the store.",
        read: () => node.raft.applied,
      },
      {
        name: "cassemdb_raft_last_index",
        help: "The index of the last entry in the node's log.",
        read: () => s().lastIndex,
      },
      {
        name: "cassemdb_raft_leader",
        help: "The id of the leader this node follows; 0 when it knows none.",
        read: () => node.raft.leader,
      },
      {
        name: "cassemdb_raft_has_leader",
        help: "1 when the node knows a leader, else 0.",
        read: () => (node.raft.leader !== 0 ? 1 : 0),
      },
      {
        name: "cassemdb_raft_is_leader",
        help: "1 when this node is the leader, else 0.",
        read: () => (s().raftState === StateType.Leader ? 1 : 0),
      },
      {
        name: "cassemdb_raft_recovering",
        help: "1 while the node recovers from a lost disk (it neither votes nor serves reads).",
        read: () => (node.recovering ? 1 : 0),
      },
      {
        name: "cassemdb_removed",
        help: "1 once this node applied its own removal from the cluster.",
        read: () => (node.sm.removed ? 1 : 0),
      },
      {
        name: "cassemdb_raft_members",
        help: "Members of the cluster as this node applied them, by kind (voter, learner).",
        label: "kind",
        read: () => {
          const c = node.raft.confState;
          return new Map([["voter", c.voters.length], ["learner", c.learners.length]]);
        },
      },
      {
        name: "cassemdb_raft_follower_match_index",
        help: "On the leader: the highest log index known replicated on each member, by id.",
        label: "member",
        read: () =>
          new Map(Object.entries(s().progress).map(([id, p]) => [id, p.match] as [string, number])),
      },
      {
        name: "cassemdb_store_revision",
        help: "The store's revision (of its last change).",
        read: () => node.store.revision,
      },
      {
        name: "cassemdb_store_keys",
        help: "Entities in the store.",
        read: () => node.store.count(),
      },
      {
        name: "cassemdb_watchers",
        help: "Open watches (each Watch stream holds one watcher).",
        read: () => node.hub.watcherCount,
      },
      {
        name: "cassemdb_watch_history_revisions",
        help: "Revisions kept for watches to resume from.",
        read: () => node.hub.historyLength,
      },
      {
        name: "cassemdb_watch_history_bytes",
        help: "Estimated bytes of the watch history.",
        read: () => node.hub.historyBytes,
      },
    ]);
    const raft = () => node.raft.stats();
    const peers = () => node.transport.stats();
    readCounters(r, [
      {
        name: "cassemdb_raft_readies_total",
        help: "Ready cycles the raft driver handled.",
        read: () => raft().readies,
      },
      {
        name: "cassemdb_raft_entries_saved_total",
        help: "Log entries written to storage.",
        read: () => raft().entriesSaved,
      },
      {
        name: "cassemdb_raft_entries_applied_total",
        help: "Log entries applied to the store.",
        read: () => raft().entriesApplied,
      },
      {
        name: "cassemdb_peer_streams_opened_total",
        help: "Raft streams opened to peers.",
        read: () => peers().streams,
      },
      {
        name: "cassemdb_peer_stream_failures_total",
        help: "Raft streams to peers that broke or reached the wrong node.",
        read: () => peers().failedStreams,
      },
      {
        name: "cassemdb_peer_messages_sent_total",
        help: "Raft messages written to peer streams.",
        read: () => peers().sent,
      },
      {
        name: "cassemdb_peer_sent_bytes_total",
        help: "Estimated bytes of the raft messages sent to peers.",
        read: () => peers().sentBytes,
      },
      {
        name: "cassemdb_peer_messages_dropped_total",
        help:
          "Raft messages dropped: no known address, queue overflow, or refused by the receiver.",
        read: () => peers().dropped,
      },
      {
        name: "cassemdb_peer_messages_received_total",
        help: "Raft messages received from peers and handed to raft.",
        read: () => peers().received,
      },
      {
        name: "cassemdb_peer_messages_rejected_total",
        help: "Raft messages received and dropped (addressed to another node, or too early).",
        read: () => peers().rejected,
      },
    ]);
  }
}

/**
 * `storage` as the raft driver writes through it, with every write timed
 * into `metrics.saves`, and the snapshots it records (`createSnapshot`:
 * taken here) and installs (a write that carries one: received from a
 * leader) counted. Everything else is passed through unchanged.
 */
export function meteredStorage(storage: RaftStorage, metrics: DbMetrics): RaftStorage {
  return new MeteredStorage(storage, metrics);
}

class MeteredStorage implements RaftStorage {
  readonly #s: RaftStorage;
  readonly #m: DbMetrics;

  constructor(storage: RaftStorage, metrics: DbMetrics) {
    this.#s = storage;
    this.#m = metrics;
  }

  async save(u: StorageUpdate): Promise<void> {
    const t0 = performance.now();
    await this.#s.save(u);
    this.#m.saves.observe((performance.now() - t0) / 1000);
    if (u.snapshot) this.#m.snapshotsInstalled.inc();
  }

  async createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    const snap = await this.#s.createSnapshot(index, confState, data);
    this.#m.snapshotsTaken.inc();
    return snap;
  }

  initialState(): InitialState {
    return this.#s.initialState();
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.#s.entries(lo, hi, maxBytes);
  }
  term(index: number): number {
    return this.#s.term(index);
  }
  firstIndex(): number {
    return this.#s.firstIndex();
  }
  lastIndex(): number {
    return this.#s.lastIndex();
  }
  snapshot(): Snapshot {
    return this.#s.snapshot();
  }
  isEmpty(): boolean {
    return this.#s.isEmpty();
  }
  hardState(): HardState {
    return this.#s.hardState();
  }
  snapshotMetadata(): Snapshot["metadata"] {
    return this.#s.snapshotMetadata();
  }
  releaseSnapshotData(): void {
    this.#s.releaseSnapshotData();
  }
  compact(index: number): Promise<void> {
    return this.#s.compact(index);
  }
  recovering(): boolean {
    return this.#s.recovering();
  }
  setRecovering(on: boolean): Promise<void> {
    return this.#s.setRecovering(on);
  }
  close(): void {
    this.#s.close();
  }
}
