/**
 * Who a cassemdb node is: its node id, its cluster id and, for a founder,
 * the founding membership, kept in `<dir>/node.json` next to the raft data.
 *
 * - A founder derives the cluster id from the founding membership (`--peers`)
 *   and `--cluster-token`, the way etcd derives its cluster id from
 *   `--initial-cluster` and `--initial-cluster-token`: founders started
 *   independently with the same flags agree on it without talking, and a
 *   founder whose disk was lost derives it again.
 * - A joining node learns its id from AddNode and the cluster id from a
 *   member (`Identify`).
 * - On every later start the record wins over the flags: flags that
 *   contradict it ({@linkcode planIdentity}) stop the node with a message
 *   that says what the dir holds and what to do. `--join` on a dir that has
 *   joined already is ignored, with a warning, so that a joined node restarts
 *   with the command line it was started with.
 *
 * @module
 */

import { DbClient } from "../../shared/db/mod.ts";
import type { Logger } from "../../shared/log.ts";
import { FOUNDING_TERM } from "../../shared/raft/mod.ts";
import { fingerprint } from "../../shared/store/mod.ts";
import { type DbConfig, formatPeers } from "../config.ts";
import type { GrpcTransport } from "../peer/mod.ts";
import { DataDirError, IdentityConflictError } from "./errors.ts";

/** The record file's name inside a data directory. */
export const NODE_FILE = "node.json";

/** `node.json`: who the node in a data directory is. */
export interface NodeRecord {
  /** The node's raft id. */
  id: number;
  /** The cluster it belongs to. */
  clusterId: string;
  /** The founding members (id → peer address), when this node founded the cluster; absent when it joined. */
  founders?: Map<number, string>;
  /** The `--cluster-token` it was founded with ("" for none). */
  token?: string;
}

/** A record as `node.json` holds it (written before cluster ids, `clusterId` is missing). */
interface NodeFile {
  id: number;
  clusterId?: string;
  founders?: Record<string, string>;
  token?: string;
}

/**
 * The cluster id of a cluster founded by `founders` with `token`: 16 hex
 * digits, the same on every founder. Pure.
 */
export function clusterIdOf(founders: ReadonlyMap<number, string>, token: string): string {
  return fingerprint(
    new TextEncoder().encode(`cassemdb cluster\n${token}\n${formatPeers(founders)}`),
  );
}

/**
 * The record in `dir`, or undefined when there is none. A record written
 * before cluster ids has an empty `clusterId`.
 * @throws {DataDirError} naming the file when it cannot be read or parsed.
 */
export async function readNodeRecord(dir: string): Promise<NodeRecord | undefined> {
  const path = `${dir}/${NODE_FILE}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new DataDirError(path, "read", e);
  }
  let f: NodeFile;
  try {
    f = JSON.parse(text);
    if (!Number.isSafeInteger(f.id) || f.id < 1) throw new Error(`id is ${f.id}`);
  } catch (e) {
    throw new DataDirError(path, "use", new Error(`it is not a node record: ${osText(e)}`));
  }
  return {
    id: f.id,
    clusterId: typeof f.clusterId === "string" ? f.clusterId : "",
    founders: f.founders
      ? new Map(Object.entries(f.founders).map(([id, addr]) => [Number(id), addr]))
      : undefined,
    token: f.token,
  };
}

/**
 * Writes `rec` to `dir`'s record, atomically (a temporary file renamed over it).
 * @throws {DataDirError} naming the file when it cannot be written.
 */
export async function writeNodeRecord(dir: string, rec: NodeRecord): Promise<void> {
  const path = `${dir}/${NODE_FILE}`;
  const f: NodeFile = {
    id: rec.id,
    clusterId: rec.clusterId,
    ...(rec.founders ? { founders: Object.fromEntries(rec.founders) } : {}),
    ...(rec.token !== undefined ? { token: rec.token } : {}),
  };
  try {
    await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(f) + "\n");
    await Deno.rename(`${path}.tmp`, path);
  } catch (e) {
    throw new DataDirError(path, "write", e);
  }
}

/** What a node does at start, decided from its flags and its data dir. */
export type IdentityPlan =
  | {
    /** Restart as the recorded node (its raft data may still be empty: it then recovers). */
    kind: "restart";
    record: NodeRecord;
    /** Initial peer addresses (the founders but this node; none for a node that joined). */
    peers: Map<number, string>;
    /** Lines to log as warnings at start. */
    warnings: string[];
  }
  | {
    /** Found the cluster (or rejoin it, when it already runs: see `findRunningCluster`). */
    kind: "found";
    record: NodeRecord & { founders: Map<number, string> };
    peers: Map<number, string>;
    warnings: string[];
  }
  | { kind: "join"; via: string; warnings: string[] };

/**
 * Decides how to start from the flags, the record in the data dir (if any)
 * and whether the raft storage is empty. Pure.
 * @throws {IdentityConflictError} when the flags contradict the data dir:
 * another `--id`, another `--peers` than the founding one (or none for a
 * multi-node founder), `--peers` on a node that joined, another
 * `--cluster-token`, or raft data without a record.
 */
export function planIdentity(
  cfg: DbConfig,
  saved: NodeRecord | undefined,
  storageEmpty: boolean,
): IdentityPlan {
  const warnings: string[] = [];
  if (saved && saved.clusterId === "") {
    // Written before cluster ids: a founder adopts the id of its flags, once.
    if (cfg.join || !cfg.peers.has(saved.id)) {
      throw new IdentityConflictError(
        "--dir",
        `Cannot start as ${cfg.dir}/${NODE_FILE} was written by an older cassemdb and has no cluster id: remove ${cfg.dir} and join the cluster again`,
      );
    }
    const founders = cfg.peers;
    const clusterId = clusterIdOf(founders, cfg.clusterToken);
    warnings.push(
      `${cfg.dir}/${NODE_FILE} has no cluster id (older cassemdb): recording cluster ${clusterId} of --peers ${
        formatPeers(founders)
      }`,
    );
    saved = { id: saved.id, clusterId, founders, token: cfg.clusterToken };
  }
  if (!saved) {
    if (!storageEmpty) {
      throw new IdentityConflictError(
        "--dir",
        `Cannot start as ${cfg.dir} holds raft data but no ${NODE_FILE}: it is damaged or not a cassemdb data dir; pick another --dir`,
      );
    }
    if (cfg.join) return { kind: "join", via: cfg.join, warnings };
    const founders = new Map(cfg.peers);
    return {
      kind: "found",
      record: {
        id: cfg.id,
        clusterId: clusterIdOf(founders, cfg.clusterToken),
        founders,
        token: cfg.clusterToken,
      },
      peers: withoutSelf(founders, cfg.id),
      warnings,
    };
  }
  const holds = `${cfg.dir} holds node ${saved.id} of cluster ${saved.clusterId}`;
  if (cfg.idGiven && cfg.id !== saved.id) {
    throw new IdentityConflictError(
      "--id",
      `Cannot start as --id ${cfg.id} contradicts the data dir: ${holds}; drop --id or pick another --dir`,
    );
  }
  if (cfg.clusterTokenGiven && cfg.clusterToken !== (saved.token ?? "")) {
    throw new IdentityConflictError(
      "--cluster-token",
      `Cannot start as --cluster-token contradicts the data dir: ${holds}, founded with ${
        saved.token ? `another token` : "no token"
      }; drop --cluster-token or pick another --dir`,
    );
  }
  const founders = saved.founders;
  if (cfg.join) {
    warnings.push(`--join ${cfg.join} is ignored: ${holds}, which restarts as it is`);
  } else if (founders && cfg.peersGiven && formatPeers(cfg.peers) !== formatPeers(founders)) {
    throw new IdentityConflictError(
      "--peers",
      `Cannot start as --peers ${
        formatPeers(cfg.peers)
      } contradicts the data dir: ${holds}, founded with --peers ${
        formatPeers(founders)
      }; pass that --peers, or pick another --dir for a new cluster`,
    );
  } else if (founders && !cfg.peersGiven && founders.size > 1) {
    throw new IdentityConflictError(
      "--peers",
      `Cannot start as a single node: ${holds}, founded with --peers ${
        formatPeers(founders)
      }; pass that --peers, or pick another --dir for a new single node`,
    );
  } else if (!founders && cfg.peersGiven) {
    throw new IdentityConflictError(
      "--peers",
      `Cannot start as --peers contradicts the data dir: ${holds}, which it joined (it founded nothing); restart it without --peers`,
    );
  }
  const peers = founders ? withoutSelf(founders, saved.id) : new Map<number, string>();
  if (storageEmpty && founders) {
    return { kind: "found", record: { ...saved, founders }, peers, warnings };
  }
  return { kind: "restart", record: saved, peers, warnings };
}

/**
 * Joins the cluster at `cfg.join` (AddNode): resolves with the id it
 * assigned and the members' peer addresses, this node's excluded.
 */
export async function joinCluster(
  cfg: DbConfig,
  log: Logger,
): Promise<{ id: number; peers: Map<number, string> }> {
  const client = new DbClient({ endpoints: [cfg.join], timeoutMs: 15_000 });
  try {
    log.info("joining", { via: cfg.join });
    const resp = await client.addNode({
      peerAddr: cfg.advertisePeer,
      clientAddr: cfg.advertiseClient,
      id: cfg.idGiven ? cfg.id : 0,
    });
    const peers = new Map(
      resp.members.filter((m) => m.id !== resp.id && m.peerAddr).map((m) => [m.id, m.peerAddr]),
    );
    log.info("joined as a learner", { id: resp.id, members: resp.members.length });
    return { id: resp.id, peers };
  } catch (e) {
    client.close();
    throw e;
  }
  // On success the client stays open: closing it sends GOAWAY to the leader,
  // which Deno 2.9.6 may crash on (denoland/deno#36788).
}

/**
 * Learns the cluster id from the first of `peers` that answers Identify
 * (with a cluster id of its own), trying them in turn for up to `timeoutMs`.
 * @throws {Error} naming the peers when none answers in time.
 */
export async function learnClusterId(
  transport: GrpcTransport,
  peers: ReadonlyMap<number, string>,
  timeoutMs = 15_000,
): Promise<string> {
  const end = Date.now() + timeoutMs;
  const errors: string[] = [];
  while (Date.now() < end) {
    for (const addr of peers.values()) {
      try {
        const r = await transport.identify(addr, { timeoutMs: 1_000 });
        if (r.clusterId) return r.clusterId;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `Cannot learn the cluster id as no member answered within ${timeoutMs} ms (${
      [...peers.values()].join(", ") || "no members"
    }): ${errors.at(-1) ?? "no answer"}`,
  );
}

/**
 * Whether this cluster already runs at the founding peers: one of them
 * follows a leader, or is past the founding term (an election was held, so
 * this founder may have voted before its disk was lost). Then a founder
 * with an empty disk must not bootstrap again — a second cluster, or a
 * second vote in a term — and recovers instead (it neither votes nor
 * campaigns until a leader has caught it up). A fresh founder that starts
 * late sees the same and recovers too, which is safe: the peers past the
 * founding term are a majority that elects without it (pre-vote raises no
 * term without a majority). A peer that answers for another cluster is logged as an
 * error and otherwise ignored: the transport refuses to talk to it anyway.
 */
export async function findRunningCluster(
  transport: GrpcTransport,
  peers: ReadonlyMap<number, string>,
  clusterId: string,
  log: Logger,
): Promise<boolean> {
  const probes = [...peers].map(async ([id, addr]) => {
    try {
      const r = await transport.identify(addr, { timeoutMs: 500 });
      if (r.clusterId && r.clusterId !== clusterId) {
        log.error("a founding peer address serves a node of another cluster", {
          peer: id,
          address: addr,
          answered: `node ${r.id} of cluster ${r.clusterId}`,
          cluster: clusterId,
        });
        return false;
      }
      return r.clusterId === clusterId && (r.leader > 0 || r.term > FOUNDING_TERM);
    } catch {
      return false;
    }
  });
  return (await Promise.all(probes)).some(Boolean);
}

function withoutSelf(peers: ReadonlyMap<number, string>, id: number): Map<number, string> {
  return new Map([...peers].filter(([pid]) => pid !== id));
}

/** An error's message on one line (JSON.parse quotes the text it choked on, newlines included). */
function osText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ");
}
