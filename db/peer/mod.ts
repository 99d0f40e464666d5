/**
 * The peer network of cassemdb: the gRPC {@linkcode GrpcTransport} that
 * carries raft messages between nodes (service `cassemraft.RaftPeer` of
 * `proto/raft.proto`), and the codec between raft messages and their proto
 * objects.
 *
 * @module
 */

export * from "./codec.ts";
export * from "./grpc_transport.ts";
