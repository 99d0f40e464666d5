/**
 * Raw grpc-js unary calls for the benchmarks: no DbClient, no retries, no
 * leader following — one `makeUnaryRequest` per call on the method's own
 * serializers, so what is measured is the server and the bare gRPC stack.
 *
 * @module
 */

import { CHANNEL_OPTIONS, grpc, LOADER_OPTIONS } from "../shared/grpc.ts";
import * as loader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

export { grpc };

/** The protocols the benchmarks speak. */
export type Protocol = "cassem" | "etcd" | "echo";

const PROTOS: Record<Protocol, { file: string; pkg: string }> = {
  cassem: { file: "../proto/cassemdb.proto", pkg: "cassemdb" },
  etcd: { file: "./etcd_rpc.proto", pkg: "etcdserverpb" },
  echo: { file: "./echo.proto", pkg: "benchecho" },
};

const cache = new Map<string, grpc.GrpcObject>();

/**
 * The loaded package of `protocol`. `longs: "string"` keeps uint64 ids exact
 * (etcd member ids are random 64-bit numbers); the default is cassem's
 * options (int64 as numbers), used by every measured call.
 */
export function loadPackage(protocol: Protocol, longs: "number" | "string" = "number") {
  const key = `${protocol}:${longs}`;
  let pkg = cache.get(key);
  if (!pkg) {
    const { file, pkg: name } = PROTOS[protocol];
    const def = loader.loadSync(fileURLToPath(new URL(file, import.meta.url)), {
      ...LOADER_OPTIONS,
      longs: longs === "string" ? String : Number,
    });
    pkg = grpc.loadPackageDefinition(def)[name] as grpc.GrpcObject;
    cache.set(key, pkg);
  }
  return pkg;
}

/** A unary method bound to one channel: `call(req)` resolves with the decoded response. */
export type UnaryCall = (req: unknown, timeoutMs?: number) => Promise<unknown>;

/** A grpc-js client of `service` at `address` and a raw caller for each of its methods. */
export class RawClient {
  readonly client: grpc.Client;
  readonly #svc: grpc.ServiceDefinition;

  constructor(
    address: string,
    protocol: Protocol,
    service: string,
    opts: { longs?: "number" | "string" } = {},
  ) {
    const ctor = loadPackage(protocol, opts.longs)[service] as grpc.ServiceClientConstructor;
    if (!ctor?.service) throw new Error(`Cannot find service ${service} of ${protocol}`);
    this.#svc = ctor.service;
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  /** A caller of `method` (e.g. "SetKV", "Put"). */
  method(method: string): UnaryCall {
    const def = this.#svc[method];
    if (!def) throw new Error(`Cannot find method ${method}`);
    const client = this.client;
    return (req, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          req,
          new grpc.Metadata(),
          { deadline: Date.now() + timeoutMs },
          (err: grpc.ServiceError | null, resp?: unknown) => (err ? reject(err) : resolve(resp)),
        );
      });
  }

  close(): void {
    this.client.close();
  }
}

/** One call of `service.method` on a short-lived client. */
export async function callOnce(
  address: string,
  protocol: Protocol,
  service: string,
  method: string,
  req: unknown,
  opts: { timeoutMs?: number; longs?: "number" | "string" } = {},
): Promise<unknown> {
  const c = new RawClient(address, protocol, service, { longs: opts.longs });
  try {
    return await c.method(method)(req, opts.timeoutMs ?? 2_000);
  } finally {
    c.close();
  }
}
