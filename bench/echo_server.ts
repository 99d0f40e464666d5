/**
 * The bare grpc-js baseline: a server with one trivial unary method (Echo
 * returns its request), on the same channel options as cassemdb. Run as its
 * own process by the benchmarks; prints `{"port":N}` once listening and
 * stops on SIGTERM/SIGINT.
 *
 *   deno run -A bench/echo_server.ts [--listen 127.0.0.1:0]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CHANNEL_OPTIONS, grpc } from "../shared/grpc.ts";
import { loadPackage } from "./_rpc.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: { listen: { type: "string", default: "127.0.0.1:0" } },
});

const ctor = loadPackage("echo").Echo as grpc.ServiceClientConstructor;
const server = new grpc.Server(CHANNEL_OPTIONS);
server.addService(ctor.service, {
  Echo: (
    call: grpc.ServerUnaryCall<{ data: Uint8Array }, unknown>,
    cb: grpc.sendUnaryData<unknown>,
  ) => cb(null, { data: call.request.data }),
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync(
    values.listen!,
    grpc.ServerCredentials.createInsecure(),
    (e, p) => (e ? reject(e) : resolve(p)),
  )
);
console.log(JSON.stringify({ port }));
const stop = () => {
  server.forceShutdown();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
