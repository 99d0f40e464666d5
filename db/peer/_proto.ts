/**
 * The RaftPeer service of `proto/raft.proto`, loaded with the shared options
 * except that enums stay numbers: the codec's proto types mirror the
 * TypeScript enums of shared/raft.
 *
 * @module
 */

import { type grpc, loadProto, serviceOf } from "../../shared/grpc.ts";

/** The `cassemraft.RaftPeer` service definition, for servers and clients. */
export function raftPeerService(): grpc.ServiceDefinition {
  return serviceOf(loadProto("raft.proto", "cassemraft", { enumsAsNumbers: true }), "RaftPeer")
    .service;
}
