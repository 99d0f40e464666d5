/**
 * cassemagent: serves cassem config to client applications from memory,
 * over HTTP (Hono on `Deno.serve`) and gRPC (`proto/agent.proto`) in one
 * process, kept current by one watch of cassemdb.
 *
 *   deno task agent                        on 127.0.0.1:7081 (HTTP) and :7082 (gRPC)
 *   deno task agent --db 10.0.0.1:7021,10.0.0.2:7021 --listen 0.0.0.0:7081
 *   deno task agent --help                 every flag
 *
 * @module
 */

import { parseKeyring } from "../shared/config/mod.ts";
import type { Keyring } from "../shared/config/mod.ts";
import { coalesceSocketWrites } from "../shared/coalesce_writes.ts";
import { DbClient } from "../shared/db/mod.ts";
import { createLogger, resolveLogFormat } from "../shared/log.ts";
import { grpcServerObserver, instrumentKvClient } from "../shared/metrics/mod.ts";
import { AgentMetrics } from "./metrics.ts";
import { createAgent } from "./app.ts";
import { defaultAgentId, FlagError, parseFlags, USAGE } from "./flags.ts";
import { startGrpcServer } from "./grpc_service.ts";
import { releaseMemory, startBurstRelease, startMemoryTrim } from "./memory_trim.ts";
import { SelfRecord } from "./self_record.ts";

function fail(message: string): never {
  console.error(message);
  Deno.exit(2);
}

let cfg;
try {
  cfg = parseFlags(Deno.args);
} catch (e) {
  if (e instanceof FlagError) fail(e.message);
  throw e;
}
if (cfg === "help") {
  console.log(USAGE);
  Deno.exit(0);
}

let keyring: Keyring | undefined;
const keyText = cfg.secretKeyFile !== undefined
  ? await Deno.readTextFile(cfg.secretKeyFile).catch((e) =>
    fail(
      `Cannot start cassemagent as --secret-key-file ${cfg.secretKeyFile} cannot be read: ${e.message}`,
    )
  )
  : Deno.env.get("CASSEM_SECRET_KEY");
if (keyText !== undefined) {
  try {
    keyring = await parseKeyring(
      keyText,
      cfg.secretKeyFile !== undefined
        ? `--secret-key-file ${cfg.secretKeyFile}`
        : "CASSEM_SECRET_KEY",
    );
  } catch (e) {
    fail(`Cannot start cassemagent: ${(e as Error).message}`);
  }
}

coalesceSocketWrites();

// Bind first: a port in use is reported before anything else starts.
let listener: Deno.HttpServer<Deno.NetAddr> | undefined;
let handler: (
  req: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response> = () => new Response("starting", { status: 503 });
try {
  listener = Deno.serve({
    hostname: cfg.listen.hostname,
    port: cfg.listen.port,
    onListen: () => {},
  }, (req, info) => handler(req, info));
} catch (e) {
  fail(
    e instanceof Deno.errors.AddrInUse
      ? `Cannot start cassemagent as --listen ${cfg.listen.hostname}:${cfg.listen.port} is in use`
      : `Cannot start cassemagent as --listen ${cfg.listen.hostname}:${cfg.listen.port} cannot be bound: ${
        (e as Error).message
      }`,
  );
}
const httpAddr = `${cfg.listen.hostname}:${listener.addr.port}`;
const agentId = cfg.id ?? defaultAgentId(Deno.hostname(), listener.addr.port);
const log = createLogger(`cassemagent[${agentId}]`, cfg.logLevel, {
  format: resolveLogFormat(cfg.logFormat),
});
if (!keyring) {
  log.warn(
    "no secret key: secret elements are answered with an error (set CASSEM_SECRET_KEY or --secret-key-file)",
  );
}

const metrics = new AgentMetrics({ processMetrics: true });
// Every cassemdb call counted.
const db = instrumentKvClient(new DbClient({ endpoints: cfg.db }), { metrics: metrics.db });
const agent = createAgent({
  db,
  metrics,
  agentId,
  log,
  keyring,
  cacheEntries: cfg.cacheEntries,
  cacheBytes: cfg.cacheBytes,
  cacheK: cfg.cacheK,
  cacheCompressMinBytes: cfg.cacheCompressMinBytes,
  instanceTtlSeconds: cfg.instanceTtlSeconds,
  heartbeatMs: cfg.heartbeatMs,
  maxQueuedBytes: cfg.streamBufferBytes,
  corsOrigins: cfg.corsOrigins,
});
// The peer address costs a call into the runtime: found only when a route asks for it.
handler = (req, info) =>
  agent.fetch(req, {
    get remoteAddr() {
      return info.remoteAddr.hostname;
    },
  });

let grpcAddr: string | null = null;
let grpc: Awaited<ReturnType<typeof startGrpcServer>> | undefined;
if (cfg.grpcListen) {
  const want = `${cfg.grpcListen.hostname}:${cfg.grpcListen.port}`;
  try {
    grpc = await startGrpcServer(agent.core, agent.instances, want, {
      maxQueuedBytes: cfg.streamBufferBytes,
      interceptors: [grpcServerObserver({ metrics: metrics.grpc, logger: log })],
    });
  } catch (e) {
    const inUse = /EADDRINUSE|address already in use|No address added/i.test(String(e));
    await listener.shutdown();
    fail(
      inUse
        ? `Cannot start cassemagent as --grpc-listen ${want} is in use`
        : `Cannot start cassemagent as --grpc-listen ${want} cannot be bound: ${
          (e as Error).message
        }`,
    );
  }
  grpcAddr = `${cfg.grpcListen.hostname}:${grpc.port}`;
}

const self = new SelfRecord({
  db,
  agentId,
  addr: httpAddr,
  grpcAddr,
  ttlSeconds: cfg.agentTtlSeconds,
  annotations: {
    cacheEntries: String(cfg.cacheEntries),
    cacheBytes: String(cfg.cacheBytes),
    cacheK: String(cfg.cacheK),
    cacheCompressMinBytes: String(cfg.cacheCompressMinBytes),
  },
  log,
});
self.start();
log.info("cassemagent started", { http: httpAddr, grpc: grpcAddr ?? "off", db: cfg.db.join(",") });
console.log(`cassemagent ready id=${agentId} http=${httpAddr} grpc=${grpcAddr ?? "off"}`);
void agent.ready.then(
  (rev) => {
    log.info("serving", { revision: rev, elements: agent.core.state.elementCount });
    // The first listing was the biggest burst of short-lived objects and buffers: give it back now.
    releaseMemory();
  },
  () => {},
);
startMemoryTrim();
// After a burst of records read from cassemdb (a listing, cold reads of many bodies), their
// garbage goes back at once; during a long one, every 32 MiB read.
startBurstRelease({ activity: () => agent.core.readBytes });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal });
  // Bounded: a cassemdb out of reach must not hold the exit up.
  const bounded = <T>(p: Promise<T>) =>
    Promise.race([p, new Promise<void>((r) => setTimeout(r, 1_500))]);
  await bounded(Promise.all([agent.close({ unregister: true }), self.stop()]));
  grpc?.forceShutdown();
  await bounded(listener!.shutdown());
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
