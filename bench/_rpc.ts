/**
 * Raw grpc-js unary calls for the benchmarks: no DbClient, no retries, no
 * leader following — one `makeUnaryRequest` per call on the method's own
 * serializers, so what is measured is the server and the bare gRPC stack.
 *
 * @module
 */

import { CHANNEL_OPTIONS, grpc, loadProto } from "../shared/grpc.ts";

/** The protocols the benchmarks speak. */
export type Protocol = "cassem" | "etcd" | "echo";

const PROTOS: Record<Protocol, { file: string | URL; pkg: string }> = {
  cassem: { file: "cassemdb.proto", pkg: "cassemdb" },
  etcd: { file: new URL("./etcd_rpc.proto", import.meta.url), pkg: "etcdserverpb" },
  echo: { file: new URL("./echo.proto", import.meta.url), pkg: "benchecho" },
};

/**
 * The loaded package of `protocol`. `longs: "string"` keeps uint64 ids exact
 * (etcd member ids are random 64-bit numbers); the default is cassem's
 * options (int64 as numbers), used by every measured call.
 */
export function loadPackage(
  protocol: Protocol,
  longs: "number" | "string" = "number",
): grpc.GrpcObject {
  const { file, pkg } = PROTOS[protocol];
  return loadProto(file, pkg, { longsAsStrings: longs === "string" });
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
