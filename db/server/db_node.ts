/**
 * DbNode: one running cassemdb node. It wires the Deno KV raft storage, the
 * gRPC peer transport, the raft driver, the store and watch hub, the client
 * gRPC services and the debug HTTP server, and runs the leader's duties:
 * TTL expiry, promoting caught-up learners, and recording members' addresses.
 *
 * @module
 */

import { DbClient } from "../../shared/db/client.ts";
import { CHANNEL_OPTIONS, grpc, loadProto, serviceOf } from "../../shared/grpc.ts";
import type { Logger } from "../../shared/log.ts";
import { KvStorage } from "../../shared/raft/kv_storage.ts";
import { RaftNode } from "../../shared/raft/node.ts";
import { ConfChangeType } from "../../shared/raft/types.ts";
import type { DbConfig } from "../config.ts";
import { GrpcTransport } from "../peer/grpc_transport.ts";
import { type Command, encodeCommand } from "../../shared/store/mod.ts";
import type { ApplyResult, Store } from "../../shared/store/mod.ts";
import type { Entity, Member } from "../../shared/store/mod.ts";
import type { WatchHub } from "../../shared/store/mod.ts";
import { checkAddress } from "../../shared/store/mod.ts";
import { clusterService, protoMembers, roleName } from "./cluster_service.ts";
import { type StatusError, statusError, toStatus } from "./grpc_errors.ts";
import { kvService } from "./kv_service.ts";
import { DbStateMachine, memberContext } from "./state_machine.ts";

/** How often the leader looks for expired keys, in ms. */
const EXPIRY_SCAN_MS = 100;
/** Keys expired per proposal at most. */
const EXPIRY_BATCH = 500;

/** A running cassemdb node. */
export class DbNode {
  readonly id: number;
  readonly cfg: DbConfig;
  readonly raft: RaftNode;
  readonly sm: DbStateMachine;
  readonly transport: GrpcTransport;
  /** Highest member id seen, so AddNode never hands out a recently removed id. */
  maxSeenId = 0;
  readonly electionTimeoutMs: number;
  readonly #log: Logger;
  readonly #server: grpc.Server;
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
    id: number,
    log: Logger,
    parts: { raft: RaftNode; sm: DbStateMachine; transport: GrpcTransport; server: grpc.Server },
  ) {
    this.cfg = cfg;
    this.id = id;
    this.#log = log;
    this.raft = parts.raft;
    this.sm = parts.sm;
    this.transport = parts.transport;
    this.#server = parts.server;
    this.electionTimeoutMs = cfg.tickMs * cfg.electionTicks;
    this.clientAddr = cfg.advertiseClient;
  }

  get store(): Store {
    return this.sm.store;
  }

  get hub(): WatchHub {
    return this.sm.hub;
  }

  /** Starts a node from `cfg`: joins, bootstraps or restarts depending on its data dir. */
  static async start(cfg: DbConfig, log: Logger): Promise<DbNode> {
    await Deno.mkdir(cfg.dir, { recursive: true });
    const storage = await KvStorage.open(`${cfg.dir}/raft.db`);
    let transport: GrpcTransport | undefined;
    try {
      const identity = await resolveIdentity(cfg, storage.isEmpty(), log);
      const sm = new DbStateMachine();
      sm.setId(identity.id);
      transport = await GrpcTransport.listen({
        id: identity.id,
        address: cfg.peerListen,
        peers: identity.peers,
        logger: cfg.logLevel === "debug" ? (l) => log.debug(l) : undefined,
      });
      let founding = identity.bootstrap;
      if (founding && storage.isEmpty() && await clusterExists(transport, identity.id, cfg)) {
        log.warn(
          "a cluster already runs at --peers: starting empty and recovering instead of bootstrapping",
        );
        founding = false;
      }
      const known = new Map<number, string>(identity.peers);
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
      const raft = await RaftNode.start({
        id: identity.id,
        storage,
        transport,
        stateMachine: sm,
        bootstrap: founding ? [...cfg.peers.keys()] : undefined,
        // Identical on every founder (the log must be): peer addresses only;
        // client addresses are announced once a leader exists.
        bootstrapContext: (pid) =>
          memberContext({ peerAddr: cfg.peers.get(pid) ?? "", clientAddr: "" }),
        tickMs: cfg.tickMs,
        raft: { electionTick: cfg.electionTicks },
        snapshotEvery: cfg.snapshotEvery,
        keepEntries: Math.min(5_000, cfg.snapshotEvery),
        logger: (l) => log.debug(l),
      });
      const server = new grpc.Server(CHANNEL_OPTIONS);
      const node = new DbNode(cfg, identity.id, log, { raft, sm, transport, server });
      sm.onLeader = (leader, term) => {
        log.info("leader changed", { leader, term });
        if (leader) void node.#announce(); // a new leader may need our addresses
      };
      transport.onAnnounce = (req) => node.#onAnnounce(req);
      const pkg = loadProto("cassemdb.proto", "cassemdb");
      server.addService(
        serviceOf(pkg, "KV").service,
        kvService(node) as grpc.UntypedServiceImplementation,
      );
      server.addService(
        serviceOf(pkg, "Cluster").service,
        clusterService(node) as grpc.UntypedServiceImplementation,
      );
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(
          cfg.listen,
          grpc.ServerCredentials.createInsecure(),
          (e, p) => (e ? reject(e) : resolve(p)),
        )
      );
      if (cfg.listen.endsWith(":0")) {
        node.clientAddr = `${cfg.listen.slice(0, cfg.listen.lastIndexOf(":"))}:${port}`;
      }
      if (cfg.http) node.#http = serveDebugHttp(node, cfg.http);
      node.#startLoops();
      log.info("cassemdb node started", {
        id: identity.id,
        client: node.clientAddr,
        peer: transport.address,
        dir: cfg.dir,
        applied: raft.applied,
        keys: node.store.count(),
      });
      return node;
    } catch (e) {
      await transport?.close();
      storage.close();
      throw e;
    }
  }

  /** Proposes `cmd` on the leader and resolves with the store's result. */
  async propose(cmd: Command): Promise<ApplyResult> {
    const index = await this.raft.propose(encodeCommand(cmd));
    const r = this.sm.takeResult(index);
    if (!r) throw new Error(`Cannot find the result of the command applied at ${index}`);
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
      this.hub.close();
      await this.raft.stop({ keepTransport: true });
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
    this.#log.info("cassemdb node stopped", { id: this.id });
  }

  // ---- leader duties ---------------------------------------------------------------

  #startLoops(): void {
    this.#timers.push(setInterval(() => void this.#expire(), EXPIRY_SCAN_MS));
    this.#timers.push(setInterval(() => void this.#promote(), 200));
    this.#timers.push(setInterval(() => void this.#announce(), 1000));
    void this.#announce();
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
    if (!r.ok) throw statusError(grpc.status.INTERNAL, r.message);
  }
}

/** Who this node is and whom it starts with. */
interface Identity {
  id: number;
  peers: Map<number, string>;
  /** Whether to bootstrap a new cluster (founding member, empty disk). */
  bootstrap: boolean;
}

/**
 * Reads `node.json` in the data dir, or creates it: a founding member takes
 * `--id`; a joining node asks the cluster (AddNode) for its id and peers.
 */
async function resolveIdentity(cfg: DbConfig, empty: boolean, log: Logger): Promise<Identity> {
  const file = `${cfg.dir}/node.json`;
  let saved: { id: number } | undefined;
  try {
    saved = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (saved && !empty) {
    if (!cfg.join && saved.id !== cfg.id && cfg.peers.size > 0 && !cfg.peers.has(saved.id)) {
      throw new Error(
        `Cannot start as ${cfg.dir} belongs to node ${saved.id}, which --peers does not list`,
      );
    }
    return {
      id: saved.id,
      peers: cfg.join ? new Map() : withoutSelf(cfg.peers, saved.id),
      bootstrap: false,
    };
  }
  if (cfg.join) {
    const client = new DbClient({ endpoints: [cfg.join], timeoutMs: 15_000 });
    try {
      log.info("joining", { via: cfg.join });
      const resp = await client.addNode({
        peerAddr: cfg.advertisePeer,
        clientAddr: cfg.advertiseClient,
        id: cfg.idGiven ? cfg.id : 0,
      });
      await Deno.writeTextFile(file, JSON.stringify({ id: resp.id }));
      const peers = new Map(
        resp.members.filter((m) => m.id !== resp.id).map((m) => [m.id, m.peerAddr]),
      );
      log.info("joined as a learner", { id: resp.id, members: resp.members.length });
      return { id: resp.id, peers, bootstrap: false };
    } catch (e) {
      client.close();
      throw e;
    }
    // On success the client stays open: closing it sends GOAWAY to the leader,
    // which Deno 2.9.6 may crash on (denoland/deno#36788).
  }
  await Deno.writeTextFile(file, JSON.stringify({ id: cfg.id }));
  return { id: cfg.id, peers: withoutSelf(cfg.peers, cfg.id), bootstrap: true };
}

function withoutSelf(peers: Map<number, string>, id: number): Map<number, string> {
  return new Map([...peers].filter(([pid]) => pid !== id));
}

/**
 * Whether any founding peer already follows a leader: then a cluster exists
 * and this empty node must not bootstrap a second one (it recovers instead).
 */
async function clusterExists(t: GrpcTransport, id: number, cfg: DbConfig): Promise<boolean> {
  const probes = [...cfg.peers].filter(([pid]) => pid !== id).map(async ([, addr]) => {
    try {
      const r = await t.announce(addr, {
        id,
        peerAddr: cfg.advertisePeer,
        clientAddr: cfg.advertiseClient,
      }, {
        timeoutMs: 500,
      });
      return r.leader > 0;
    } catch {
      return false;
    }
  });
  return (await Promise.all(probes)).some(Boolean);
}

/** Serves GET /status (JSON) and GET /healthz on `addr`. */
function serveDebugHttp(node: DbNode, addr: string): Deno.HttpServer {
  const i = addr.lastIndexOf(":");
  return Deno.serve({
    hostname: addr.slice(0, i),
    port: Number(addr.slice(i + 1)),
    onListen: () => {},
  }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/status") {
      const s = node.raft.status();
      return Response.json({
        ...node.statusReport(s),
        lastIndex: s.lastIndex,
        recovering: s.recovering,
        watchers: node.hub.watcherCount,
        progress: s.progress,
        raft: node.raft.stats(),
        transport: node.transport.stats(),
        memory: Deno.memoryUsage(),
      });
    }
    if (path === "/healthz") {
      // A removed node keeps the last leader it knew but takes no part.
      const ok = node.raft.leader !== 0 && !node.sm.removed;
      return Response.json({ ok, leader: node.raft.leader }, { status: ok ? 200 : 503 });
    }
    return Response.json({ error: `no route ${path}: try /status or /healthz` }, { status: 404 });
  });
}

/** Members as returned to callers of DbNode (for tests). */
export function membersOf(node: DbNode): Member[] {
  return protoMembers(node.store.members());
}
