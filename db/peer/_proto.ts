/**
 * Loads `proto/raft.proto` once, with the options the peer package relies on:
 * camelCase field names, 64-bit integers as JS numbers, enums as numbers,
 * and defaults filled in. The transport decodes each received frame from a
 * copy of its own (`deserializeOwned`), so `bytes` fields are views into it
 * that messages keep.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

/** The options `raft.proto` is loaded with; the codec's proto types depend on them. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  defaults: true,
  oneofs: true,
};

/** Path of `proto/raft.proto`, the one source of truth of the peer protocol. */
export const RAFT_PROTO_PATH: string = fileURLToPath(
  new URL("../../proto/raft.proto", import.meta.url),
);

let definition: protoLoader.PackageDefinition | undefined;

/** The loaded package definition (loaded on first use, then cached). */
export function raftPackageDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync(RAFT_PROTO_PATH, LOADER_OPTIONS);
  return definition;
}

/** The `cassemraft.RaftPeer` service definition, for servers and clients. */
export function raftPeerService(): grpc.ServiceDefinition {
  const def = raftPackageDefinition()["cassemraft.RaftPeer"];
  if (!def || !("Stream" in def)) {
    throw new Error(`Cannot find the service cassemraft.RaftPeer in ${RAFT_PROTO_PATH}`);
  }
  return def as unknown as grpc.ServiceDefinition;
}
