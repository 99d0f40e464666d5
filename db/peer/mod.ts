/**
 * The peer network of cassemdb: the gRPC {@linkcode GrpcTransport} that
 * carries raft messages between nodes (service `cassemraft.RaftPeer` of
 * `proto/raft.proto`); the codec between raft messages and their proto
 * objects; the identity every peer call carries (cluster id, sender,
 * expected receiver); and what the transport knows about reaching each peer.
 *
 * @module
 */

export * from "./call_identity.ts";
export * from "./codec.ts";
export * from "./grpc_transport.ts";
export * from "./peer_health.ts";
