/**
 * Loads the `.proto` files under proto/ (the one source of truth for gRPC)
 * into grpc-js service definitions, once per process.
 *
 * @module
 */

import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

export { grpc };

/** Options every cassem service and client uses: camelCase fields, int64 as numbers. */
export const LOADER_OPTIONS: loader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

const cache = new Map<string, grpc.GrpcObject>();

/** Departures from {@linkcode LOADER_OPTIONS} for one package. */
export interface ProtoVariant {
  /** Enums as their numbers (the raft peer codec maps them itself). */
  enumsAsNumbers?: boolean;
  /** 64-bit integers as decimal strings (exact beyond 2^53, e.g. etcd member ids). */
  longsAsStrings?: boolean;
}

/**
 * The package `pkg` defined in `proto/<file>` (or in the file at a URL),
 * loaded once per variant.
 */
export function loadProto(
  file: string | URL,
  pkg: string,
  variant: ProtoVariant = {},
): grpc.GrpcObject {
  const url = typeof file === "string" ? new URL(`../proto/${file}`, import.meta.url) : file;
  const key = `${url.href}#${pkg}#${variant.enumsAsNumbers ?? false}#${
    variant.longsAsStrings ?? false
  }`;
  let obj = cache.get(key);
  if (!obj) {
    const def = loader.loadSync(fileURLToPath(url), {
      ...LOADER_OPTIONS,
      enums: variant.enumsAsNumbers ? undefined : String,
      longs: variant.longsAsStrings ? String : Number,
    });
    obj = grpc.loadPackageDefinition(def)[pkg] as grpc.GrpcObject;
    if (!obj) throw new Error(`Cannot load package ${pkg} as ${url.pathname} does not define it`);
    cache.set(key, obj);
  }
  return obj;
}

/** A service constructor (client class with `.service`) from a loaded package. */
export function serviceOf(pkg: grpc.GrpcObject, name: string): grpc.ServiceClientConstructor {
  const svc = pkg[name] as grpc.ServiceClientConstructor | undefined;
  if (!svc?.service) throw new Error(`Cannot find service ${name} in the loaded proto package`);
  return svc;
}

/** Max gRPC message size for cassem (snapshot chunks and 256 KiB values fit with room). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Channel options shared by cassem clients and servers. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  // Channelz keeps per-call statistics nobody reads here; its handler showed
  // up in the leader's CPU profile under load.
  "grpc.enable_channelz": 0,
};
