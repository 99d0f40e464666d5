/**
 * What the transport knows about reaching each peer: when a stream to it was
 * last accepted, when a batch from it last arrived, and the last failure with
 * its kind. A node without a leader names its unreachable peers and why from
 * this (db/server/leaderless.ts).
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import { REFUSAL_KEY } from "./call_identity.ts";

/** Why a peer could not be reached. */
export type PeerFailureKind =
  /** Nothing listens at its address. */
  | "refused"
  /** No answer in time (connect, keepalive or deadline). */
  | "timeout"
  /** Its address serves a node of another cluster. */
  | "other-cluster"
  /** Its address serves another node of this cluster (a stale address). */
  | "wrong-node"
  /** It is starting and does not take calls yet. */
  | "not-ready"
  /** An open connection broke. */
  | "lost"
  /** This node knows no address for it. */
  | "no-address"
  /** Anything else; the detail says what. */
  | "error";

/** One failure to reach a peer. */
export interface PeerFailure {
  /** What kind of failure. */
  kind: PeerFailureKind;
  /** What grpc-js or the peer said. */
  detail: string;
  /** When it happened (ms since the epoch). */
  at: number;
}

/** The transport's view of one peer (see {@linkcode GrpcTransport.peerHealth}). */
export interface PeerHealth {
  /** The peer's node id. */
  id: number;
  /** Its address, when known. */
  address: string | undefined;
  /** When a stream to it was last accepted (ms since the epoch; 0: never). */
  acceptedAt: number;
  /** When the stream now open to it, not accepted yet, was opened (0: none such): how long it has not answered. */
  waitingSince: number;
  /** When a batch from it last arrived (0: never). */
  heardAt: number;
  /** Its last failure, if any. */
  failure: PeerFailure | undefined;
}

/**
 * Whether `h` says the peer is unreachable now: a failure newer than the
 * last accepted stream and the last batch heard from it.
 */
export function isUnreachable(h: PeerHealth): boolean {
  return h.address === undefined ||
    (h.failure !== undefined && h.failure.at >= Math.max(h.acceptedAt, h.heardAt));
}

/** The kind of a failed call or stream, from its status. */
export function classifyFailure(
  s: { code: grpc.status; details?: string; metadata?: grpc.Metadata },
): PeerFailureKind {
  const refusal = s.metadata?.get(REFUSAL_KEY)[0]?.toString();
  if (refusal === "other-cluster" || refusal === "not-ready") return refusal;
  const d = s.details ?? "";
  if (/ECONNREFUSED|connection refused/i.test(d)) return "refused";
  if (s.code === grpc.status.DEADLINE_EXCEEDED || /timeout|timed out|deadline/i.test(d)) {
    return "timeout";
  }
  if (/ECONNRESET|EPIPE|Connection dropped|connection (was )?(closed|reset)|GOAWAY/i.test(d)) {
    return "lost";
  }
  return "error";
}

/** How a failure reads in a log line: "connection refused", "timed out", ... */
export function describeFailure(f: Pick<PeerFailure, "kind" | "detail">): string {
  switch (f.kind) {
    case "refused":
      return "connection refused";
    case "timeout":
      return "timed out";
    case "other-cluster":
      return "it belongs to another cluster";
    case "wrong-node":
      return `another node answers there (${f.detail})`;
    case "not-ready":
      return "it is starting";
    case "lost":
      return "connection lost";
    case "no-address":
      return "no address known";
    case "error":
      return f.detail || "unknown error";
  }
}
