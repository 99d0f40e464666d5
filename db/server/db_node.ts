/**
 * DbNode: one running cassemdb node. It locks its data dir, settles who it
 * is (identity.ts), wires the Deno KV raft storage, the gRPC peer transport,
 * the raft driver, the store and watch hub, the client gRPC services and the
 * debug HTTP server, and runs the leader's duties: TTL expiry, promoting
 * caught-up learners, and recording members' addresses. It refuses writes
 * and linearizable reads at once while it cannot serve them, and says why in
 * its log every few seconds (leaderless.ts).
 *
 * @module
 */

import { CHANNEL_OPTIONS, grpc, loadProto, serviceOf } from "../../shared/grpc.ts";
import { joinHostPort } from "../../shared/host_port.ts";
import type { Logger } from "../../shared/log.ts";
import { grpcServerObserver } from "../../shared/metrics/mod.ts";
import { KvStorage } from "../../shared/raft/mod.ts";
import { RaftNode } from "../../shared/raft/mod.ts";
import {
  ProposalDroppedError,
  ProposalOutcomeUnknownError,
  StoppedError,
} from "../../shared/raft/mod.ts";
import { ConfChangeType } from "../../shared/raft/mod.ts";
import type { DbConfig } from "../config.ts";
import { GrpcTransport } from "../peer/mod.ts";
import { type Command, encodeCommand } from "../../shared/store/mod.ts";
import type { ApplyResult, Store } from "../../shared/store/mod.ts";
import type { Entity } from "../../shared/store/mod.ts";
import type { WatchHub } from "../../shared/store/mod.ts";
import { checkAddress } from "../../shared/store/mod.ts";
import { clusterService, protoMembers, roleName } from "./cluster_service.ts";
import { WriteOutcomeUnknownError, WriteResultLostError } from "./errors.ts";
import { StatusError, toStatus } from "./grpc_errors.ts";
import { endWatches, kvService } from "./kv_service.ts";
import { DbStateMachine, memberContext } from "./state_machine.ts";
import { type DataDirLock, lockDataDir } from "./data_dir.ts";
import { serveDebugHttp } from "./debug_http.ts";
import { BindError, DataDirError, NoLeaderError } from "./errors.ts";
import {
  findRunningCluster,
  joinCluster,
  learnClusterId,
  type NodeRecord,
  planIdentity,
  readNodeRecord,
  writeNodeRecord,
} from "./identity.ts";
import { type ServingState, ServingWatch } from "./leaderless.ts";
import { checkListenAddresses, listenHostPort } from "./listen_check.ts";
import { DbMetrics, meteredStorage } from "./metrics.ts";

/** How often the leader looks for expired keys, in ms. */
const EXPIRY_SCAN_MS = 100;
/** Keys expired per proposal at most. */
const EXPIRY_BATCH = 500;
/** How often the node checks whether it has been leaderless or recovering for too long, in ms. */
const SERVING_CHECK_MS = 500;

/** A running cassemdb node. */
export class DbNode {
  readonly id: number;
  readonly cfg: DbConfig;
  readonly raft: RaftNode;
  readonly sm: DbStateMachine;
  readonly transport: GrpcTransport;
  /** What `/metrics` serves (see metrics.ts). */
  readonly metrics: DbMetrics;
  /** Highest member id seen, so AddNode never hands out a recently removed id. */
  maxSeenId = 0;
  readonly electionTimeoutMs: number;
  /** Who this node is, as `node.json` records it. */
  readonly record: NodeRecord;
  readonly #log: Logger;
  readonly #server: grpc.Server;
  readonly #storage: KvStorage;
  readonly #lock: DataDirLock;
  readonly #serving: ServingWatch;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #http: Deno.HttpServer | undefined;
  #expiring = false;
  readonly #noticed = new Set<string>();
  #promoting = false;
  #announced = false;
  #announcing = false;
  #stopped = false;
  /** The client address the gRPC server actually bound (port 0 resolved). */
  clientAddr: string;

  private constructor(
    cfg: DbConfig,
    record: NodeRecord,
    log: Logger,
    parts: {
      raft: RaftNode;
      sm: DbStateMachine;
      transport: GrpcTransport;
      server: grpc.Server;
      storage: KvStorage;
      lock: DataDirLock;
      startedAt: number;
      metrics: DbMetrics;
    },
  ) {
    this.cfg = cfg;
    this.id = record.id;
    this.record = record;
    this.#log = log;
    this.raft = parts.raft;
    this.sm = parts.sm;
    this.transport = parts.transport;
    this.#server = parts.server;
    this.#storage = parts.storage;
    this.#lock = parts.lock;
    this.metrics = parts.metrics;
    this.electionTimeoutMs = cfg.tickMs * cfg.electionTicks;
    this.clientAddr = cfg.advertiseClient;
    this.#serving = new ServingWatch({
      electionTimeoutMs: this.electionTimeoutMs,
      startedAt: parts.startedAt,
    });
  }

  get store(): Store {
    return this.sm.store;
  }

  get hub(): WatchHub {
    return this.sm.hub;
  }

  /** Whether this node is still recovering from a lost disk (it neither votes nor serves reads). */
  get recovering(): boolean {
    return this.#storage.recovering();
  }

  /**
   * Starts a node from `cfg`: joins, bootstraps or restarts depending on its
   * data dir, which it locks for as long as it runs.
   * @throws {DataDirLockedError} when another process runs on the data dir.
   * @throws {DataDirError} when the data dir cannot be created, opened or written (names the path).
   * @throws {BindError} when an address is in use (names the flag and the address).
   * @throws {IdentityConflictError} when the flags contradict the data dir.
   */
  static async start(cfg: DbConfig, log: Logger): Promise<DbNode> {
    const startedAt = Date.now();
    const lock = await lockDataDir(cfg.dir);
    let storage: KvStorage | undefined;
    let transport: GrpcTransport | undefined;
    try {
      checkListenAddresses([
        { flag: "--listen", address: cfg.listen },
        { flag: "--peer-listen", address: cfg.peerListen },
        ...(cfg.http ? [{ flag: "--http", address: cfg.http }] : []),
      ]);
      const raftFile = `${cfg.dir}/raft.db`;
      storage = await KvStorage.open(raftFile).catch((e) => {
        throw new DataDirError(raftFile, "open the raft storage", e);
      });
      const metrics = new DbMetrics({ processMetrics: true });
      const plan = planIdentity(cfg, await readNodeRecord(cfg.dir), storage.isEmpty());
      for (const w of plan.warnings) log.warn(w);
      // A joining node learns its id and peers from AddNode, the others from the plan.
      const { id, peers: initialPeers } = plan.kind === "join"
        ? await joinCluster(cfg, log)
        : { id: plan.record.id, peers: plan.peers };
      transport = await GrpcTransport.listen({
        id,
        address: cfg.peerListen,
        advertise: cfg.advertisePeer,
        peers: initialPeers,
        clusterId: plan.kind === "join" ? null : plan.record.clusterId,
        logger: cfg.logLevel === "debug" ? (l) => log.debug(l) : undefined,
        errorLogger: (l) => log.error(l),
      }).catch((e) => {
        throw new BindError("--peer-listen", cfg.peerListen, e);
      });
      let record: NodeRecord;
      let founding = false;
      if (plan.kind === "join") {
        const clusterId = await learnClusterId(transport, initialPeers);
        transport.setClusterId(clusterId);
        record = { id, clusterId };
      } else {
        record = plan.record;
        founding = plan.kind === "found";
        if (
          founding && await findRunningCluster(transport, initialPeers, record.clusterId, log)
        ) {
          log.warn(
            "a cluster already runs at --peers: starting empty and recovering instead of bootstrapping",
          );
          founding = false;
        }
      }
      // Recorded before raft writes anything: a restart knows who it is.
      await writeNodeRecord(cfg.dir, record);
      const sm = new DbStateMachine();
      sm.setId(id);
      const known = new Map<number, string>(initialPeers);
      let toldRemoved = false;
      sm.onMembers = (members) => {
        if (sm.removed && !toldRemoved) {
          toldRemoved = true;
          log.warn("this node was removed from the cluster and no longer takes part: stop it");
        }
        const now = new Map(members.map((m) => [m.id, m.peerAddr]));
        for (const [id, addr] of now) {
          if (addr && known.get(id) !== addr) transport!.setPeer(id, addr);
        }
        for (const id of known.keys()) if (!now.has(id)) transport!.setPeer(id, undefined);
        known.clear();
        for (const [id, addr] of now) known.set(id, addr);
      };
      const founders = record.founders ?? new Map<number, string>();
      const raft = await RaftNode.start({
        id,
        // Every write timed, snapshots counted.
        storage: meteredStorage(storage, metrics),
        transport,
        stateMachine: sm,
        bootstrap: founding ? [...founders.keys()] : undefined,
        // Identical on every founder (the log must be): peer addresses only;
        // client addresses are announced once a leader exists.
        bootstrapContext: (pid) =>
          memberContext({ peerAddr: founders.get(pid) ?? "", clientAddr: "" }),
        tickMs: cfg.tickMs,
        raft: { electionTick: cfg.electionTicks },
        snapshotEvery: cfg.snapshotEvery,
        keepEntries: Math.min(5_000, cfg.snapshotEvery),
        logger: (l) => log.debug(l),
      });
      const server = new grpc.Server({
        ...CHANNEL_OPTIONS,
        // Every client call counted and timed, its handler run under the caller's request id.
        interceptors: [grpcServerObserver({ metrics: metrics.grpc, logger: log })],
      });
      const node = new DbNode(cfg, record, log, {
        raft,
        sm,
        transport,
        server,
        storage,
        lock,
        startedAt,
        metrics,
      });
      metrics.observeNode(node);
      sm.onLeader = (leader, term) => {
        log.info("leader changed", { leader, term });
        if (leader !== 0) metrics.leaderChanges.inc();
        transport!.leaderHint = leader;
        node.#serving.noteLeader(leader, Date.now());
        if (leader) void node.#announce(); // a new leader may need our addresses
      };
      transport.termOf = () => raft.status().term;
      // Failures leave as statuses of the one mapping (grpc_errors.ts), so
      // that bad input answers INVALID_ARGUMENT, not UNKNOWN.
      transport.onAnnounce = (req) =>
        node.#onAnnounce(req).catch((e) => Promise.reject(node.statusOf(e)));
      const pkg = loadProto("cassemdb.proto", "cassemdb");
      server.addService(
        serviceOf(pkg, "KV").service,
        kvService(node) as grpc.UntypedServiceImplementation,
      );
      server.addService(
        serviceOf(pkg, "Cluster").service,
        clusterService(node) as grpc.UntypedServiceImplementation,
      );
      try {
        const port = await new Promise<number>((resolve, reject) =>
          server.bindAsync(
            cfg.listen,
            grpc.ServerCredentials.createInsecure(),
            (e, p) => (e ? reject(new BindError("--listen", cfg.listen, e)) : resolve(p)),
          )
        );
        const asked = listenHostPort("--listen", cfg.listen);
        if (asked.port === 0) node.clientAddr = joinHostPort(asked.hostname, port);
        if (cfg.http) node.#http = serveDebugHttp(node, cfg.http);
      } catch (e) {
        // Only a port taken since the check at the top gets here.
        server.forceShutdown();
        await raft.stop();
        throw e;
      }
      node.#startLoops();
      log.info("cassemdb node started", {
        id,
        cluster: record.clusterId,
        client: node.clientAddr,
        peer: transport.address,
        dir: cfg.dir,
        applied: raft.applied,
        keys: node.store.count(),
      });
      return node;
    } catch (e) {
      await transport?.close();
      storage?.close();
      lock.release();
      throw e;
    }
  }

  /**
   * Throws {@linkcode NoLeaderError} when this node cannot serve a write
   * (`read` false) or a linearizable read right now, before anything is
   * proposed or asked of the leader: no leader known, removed, or (reads)
   * still recovering from a lost disk.
   */
  checkServing(read: boolean): void {
    // The common case costs three field reads: this runs before every request.
    const recovering = read && this.#storage.recovering();
    if (this.raft.leader !== 0 && !this.sm.removed && !recovering) return;
    const why = this.#serving.refusal(this.#servingState(), read);
    if (why) throw new NoLeaderError(why);
  }

  /**
   * Resolves once this node has applied every entry committed before the
   * call (ReadIndex), so that a read from its store is linearizable.
   * @throws {NoLeaderError} at once when it cannot serve reads now (see {@linkcode checkServing}).
   */
  async linearizableRead(): Promise<void> {
    this.checkServing(true);
    await this.raft.linearizableRead();
  }

  /**
   * Proposes `cmd` on the leader under a fresh request id and resolves with
   * the store's result, found in the store's request table by that id.
   *
   * It never claims "not applied" unless that is certain. When a snapshot
   * replaced the log where the entry was (`ProposalOutcomeUnknownError`), or
   * the node stopped with the proposal in flight, the request table decides:
   * applied → the recorded result, as if the proposal had resolved normally;
   * certainly not applied → `ProposalDroppedError` (retryable); otherwise
   * `WriteOutcomeUnknownError` (UNAVAILABLE without the retryable flag).
   * @throws {NoLeaderError} at once when no leader is known (nothing was proposed).
   */
  async propose(cmd: Command): Promise<ApplyResult> {
    this.checkServing(false);
    // Timed from here: a refusal before proposing is no proposal.
    const t0 = performance.now();
    let result = "failed";
    try {
      const r = await this.#propose(cmd);
      result = "applied";
      return r;
    } finally {
      this.metrics.proposals.observe({ result }, (performance.now() - t0) / 1000);
    }
  }

  async #propose(cmd: Command): Promise<ApplyResult> {
    const id = this.sm.nextRequestId();
    const inFlight = !this.#stopped;
    let index: number;
    try {
      index = await this.raft.propose(encodeCommand({ ...cmd, id }));
    } catch (e) {
      if (e instanceof ProposalOutcomeUnknownError) {
        const o = this.store.requestOutcome(id, e.index);
        const where =
          `a snapshot replaced the log where its entry was (index ${e.index}, term ${e.term})`;
        this.#log.info("in-doubt write resolved", {
          index: e.index,
          term: e.term,
          outcome: o.state.replace("-", " "),
        });
        if (o.state === "applied") return o.result;
        if (o.state === "not-applied") {
          throw new ProposalDroppedError(
            `${where} and the request table shows it did not apply`,
            this.raft.leader,
          );
        }
        throw new WriteOutcomeUnknownError(`${where} and the request table no longer covers it`);
      }
      if (e instanceof StoppedError && inFlight) {
        // Accepted before the stop: its entry may have committed since.
        const r = this.store.requestResult(id);
        if (r) return r;
        throw new WriteOutcomeUnknownError("this node stopped while it was in flight");
      }
      throw e;
    }
    const r = this.store.requestResult(id);
    if (!r) throw new WriteResultLostError(index);
    return r;
  }

  /** Maps an error to a gRPC status, naming the leader's client address on NOT_LEADER. */
  statusOf(e: unknown): StatusError {
    const st = toStatus(
      e,
      (id) => this.store.members().find((m) => m.id === id)?.clientAddr || undefined,
    );
    if (st.code === grpc.status.INTERNAL) {
      this.#log.error("internal error", { error: String((e as Error)?.stack ?? e) });
    }
    return st;
  }

  /** On the leader, expires at once any of `entities` whose ttl ran out (the lazy check on access). */
  noticeExpired(entities: readonly Entity[]): void {
    if (!this.raft.isLeader) return;
    const now = Date.now();
    for (const e of entities) if (e.expireAt > 0 && e.expireAt <= now) this.#noticed.add(e.key);
    if (this.#noticed.size > 0) void this.#expire();
  }

  /** The Status RPC's answer. */
  statusReport(s: ReturnType<RaftNode["status"]> = this.raft.status()) {
    return {
      id: this.id,
      leader: s.lead,
      role: this.sm.removed ? "removed" : roleName(s.raftState),
      term: s.term,
      commit: s.commit,
      applied: s.applied,
      revision: this.store.revision,
      keys: this.store.count(),
      members: protoMembers(this.store.members()),
      watchOldestRevision: this.hub.oldestRevision,
    };
  }

  /**
   * Stops serving and closes everything; safe to call twice.
   *
   * With `exiting` (the process exits next), the gRPC servers are not shut
   * down gracefully: a graceful HTTP/2 close sends GOAWAY, and Deno 2.9.6
   * crashes processes that receive one on an idle session
   * (denoland/deno#36788), which would take peers and clients down with this
   * node. The raft loop is stopped and the storage flushed and closed either
   * way; the sockets are left for the OS to close.
   */
  async stop(options: { exiting?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    if (options.exiting) {
      await endWatches(this);
      await this.raft.stop({ keepTransport: true });
      this.#lock.release();
      this.#log.info("cassemdb node stopped", { id: this.id });
      return;
    }
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, 500);
      this.#server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
      // Open watch streams end, so that the graceful shutdown can finish.
      this.hub.close();
    });
    await this.#http?.shutdown();
    await this.raft.stop();
    this.#lock.release();
    this.#log.info("cassemdb node stopped", { id: this.id });
  }

  // ---- leader duties ---------------------------------------------------------------

  #startLoops(): void {
    this.#timers.push(setInterval(() => void this.#expire(), EXPIRY_SCAN_MS));
    this.#timers.push(setInterval(() => void this.#promote(), 200));
    this.#timers.push(setInterval(() => void this.#announce(), 1000));
    this.#timers.push(setInterval(() => this.#checkLeaderless(), SERVING_CHECK_MS));
    void this.#announce();
  }

  /** Logs why this node cannot serve, every few seconds while it stays so. */
  #checkLeaderless(): void {
    const warning = this.#serving.observe(this.#servingState());
    if (warning) this.#log.warn(warning);
  }

  #servingState(): ServingState {
    const s = this.raft.status();
    return {
      now: Date.now(),
      leader: this.raft.leader,
      term: s.term,
      role: roleName(s.raftState),
      recovering: this.#storage.recovering(),
      removed: this.sm.removed,
      applied: s.applied,
      peers: s.confState.voters.filter((v) => v !== this.id).map((v) =>
        this.transport.peerHealth(v)
      ),
    };
  }

  /** Proposes the expiry of keys whose ttl ran out; expiry always goes through the log. */
  async #expire(): Promise<void> {
    if (this.#expiring || !this.raft.isLeader) return;
    const now = Date.now();
    const due = this.store.expired(now, EXPIRY_BATCH);
    const keys = new Map(due.map((d) => [d.key, d.modRevision]));
    for (const k of this.#noticed) {
      const e = this.store.get(k);
      if (e && e.expireAt > 0 && e.expireAt <= now && !keys.has(k)) keys.set(k, e.modRevision);
    }
    this.#noticed.clear();
    if (keys.size === 0) return;
    this.#expiring = true;
    try {
      await this.propose({
        kind: "expire",
        time: now,
        keys: [...keys].map(([key, modRevision]) => ({ key, modRevision })),
      });
    } catch (e) {
      this.#log.debug("expiry proposal failed", { error: String(e) });
    } finally {
      this.#expiring = false;
    }
  }

  /** Promotes the first learner whose log has caught up with the commit index. */
  async #promote(): Promise<void> {
    if (this.#promoting || !this.raft.isLeader) return;
    const s = this.raft.status();
    for (const id of this.raft.confState.learners) {
      const pr = s.progress[id];
      if (!pr || pr.match < s.commit) continue;
      this.#promoting = true;
      try {
        await this.raft.proposeConfChange({
          type: ConfChangeType.AddNode,
          nodeId: id,
          context: "",
        });
        this.#log.info("promoted learner", { id });
      } catch (e) {
        this.#log.debug("promotion failed", { id, error: String(e) });
      } finally {
        this.#promoting = false;
      }
      return;
    }
  }

  /** Makes sure the member table holds this node's current addresses. */
  async #announce(): Promise<void> {
    if (this.#announcing || this.#stopped) return;
    this.#announcing = true;
    try {
      await this.#announceOnce();
    } finally {
      this.#announcing = false;
    }
  }

  async #announceOnce(): Promise<void> {
    const me = this.store.members().find((m) => m.id === this.id);
    for (const m of this.store.members()) this.maxSeenId = Math.max(this.maxSeenId, m.id);
    if (me && me.clientAddr === this.clientAddr && me.peerAddr === this.cfg.advertisePeer) {
      if (!this.#announced) {
        this.#log.info("member addresses recorded", { client: this.clientAddr });
      }
      this.#announced = true;
      return;
    }
    this.#announced = false;
    const req = { id: this.id, peerAddr: this.cfg.advertisePeer, clientAddr: this.clientAddr };
    try {
      if (this.raft.isLeader) {
        await this.#recordMember(req);
      } else if (this.raft.leader) {
        const leaderPeer = this.store.members().find((m) => m.id === this.raft.leader)?.peerAddr;
        if (leaderPeer) await this.transport.announce(leaderPeer, req, { timeoutMs: 1000 });
      }
    } catch (e) {
      this.#log.debug("announce failed", { error: String(e) });
    }
  }

  async #onAnnounce(req: { id: number; peerAddr: string; clientAddr: string }) {
    if (!this.raft.isLeader) return { ok: false, leader: this.raft.leader };
    checkAddress("peer_addr", req.peerAddr);
    checkAddress("client_addr", req.clientAddr);
    if (!this.store.members().some((m) => m.id === req.id)) return { ok: false, leader: this.id };
    await this.#recordMember(req);
    return { ok: true, leader: this.id };
  }

  async #recordMember(m: { id: number; peerAddr: string; clientAddr: string }): Promise<void> {
    const r = await this.propose({ kind: "members", members: [m] });
    if (!r.ok) throw new StatusError(grpc.status.INTERNAL, r.message);
  }
}
