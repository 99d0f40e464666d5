/**
 * Who is calling whom on the peer port: every `Stream` and `Announce` call
 * carries, in its request metadata, the sender's cluster id, node id and
 * advertised peer address, and the node id it expects to reach
 * (`proto/raft.proto` lists the keys). A receiver of another cluster refuses
 * the call before reading any message, so two clusters never mix their logs,
 * even when one node's address now belongs to a node of another cluster.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";

/** Metadata key: the sender's cluster id. */
export const CLUSTER_KEY = "x-cassem-cluster";
/** Metadata key: the sender's node id. */
export const FROM_KEY = "x-cassem-from";
/** Metadata key: the sender's advertised RaftPeer address (`host:port`). */
export const FROM_ADDR_KEY = "x-cassem-from-addr";
/** Metadata key: the node id the sender expects to reach (0 when it does not know, as in Announce). */
export const TO_KEY = "x-cassem-to";
/** Trailing metadata key of a refused call: the {@linkcode RefusalKind}. */
export const REFUSAL_KEY = "x-cassem-refusal";

/** The identity a peer call carries. */
export interface CallIdentity {
  /** The sender's cluster id ("" when it has none). */
  clusterId: string;
  /** The sender's node id. */
  from: number;
  /** The sender's advertised RaftPeer address. */
  fromAddr: string;
  /** The node id the sender expects to reach; 0 when it does not know (Announce). */
  to: number;
}

/** Why a receiver refused a call. */
export type RefusalKind = "other-cluster" | "not-ready";

/** A refused call: the gRPC status to answer with, and what to log. */
export interface Refusal {
  /** Why. */
  kind: RefusalKind;
  /** The status code to answer with. */
  code: grpc.status;
  /** The status details the sender receives. */
  details: string;
}

/** The request metadata of a call made with `id`. */
export function identityMetadata(id: CallIdentity): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(CLUSTER_KEY, id.clusterId);
  md.set(FROM_KEY, String(id.from));
  md.set(FROM_ADDR_KEY, id.fromAddr);
  md.set(TO_KEY, String(id.to));
  return md;
}

/** The identity in a call's request metadata; missing keys read as "" and 0. */
export function readCallIdentity(md: grpc.Metadata): CallIdentity {
  const get = (k: string) => md.get(k)[0]?.toString() ?? "";
  const num = (k: string) => {
    const n = Number(get(k));
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  };
  return {
    clusterId: get(CLUSTER_KEY),
    from: num(FROM_KEY),
    fromAddr: get(FROM_ADDR_KEY),
    to: num(TO_KEY),
  };
}

/**
 * Whether node `self.id` takes a call from `caller`: refused when the caller
 * belongs to another cluster, or while this node does not know its own
 * cluster yet (`self.clusterId` null: a joining node before it learned it).
 */
export function checkCaller(
  caller: CallIdentity,
  self: { id: number; clusterId: string | null },
): Refusal | undefined {
  if (self.clusterId === null) {
    return {
      kind: "not-ready",
      code: grpc.status.UNAVAILABLE,
      details: `Cannot accept calls yet as node ${self.id} is still learning its cluster id`,
    };
  }
  if (caller.clusterId === self.clusterId) return undefined;
  return {
    kind: "other-cluster",
    code: grpc.status.FAILED_PRECONDITION,
    details: `Cannot accept raft calls from node ${caller.from} at ${
      caller.fromAddr || "?"
    } as it belongs to cluster ${
      clusterName(caller.clusterId)
    }: node ${self.id} belongs to cluster ${clusterName(self.clusterId)}`,
  };
}

/** A cluster id for messages ("" shows as "(none)"). */
export function clusterName(clusterId: string): string {
  return clusterId === "" ? "(none)" : clusterId;
}
