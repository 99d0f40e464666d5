/**
 * A grpc-js server interceptor that observes every call of a server, unary
 * and streaming alike:
 *
 * - metrics named as go-grpc-prometheus names them, so that existing
 *   dashboards work: `grpc_server_started_total`, `grpc_server_handled_total`
 *   (by status code), `grpc_server_handling_seconds`,
 *   `grpc_server_msg_received_total` and `grpc_server_msg_sent_total`, each
 *   labelled `grpc_type`, `grpc_service`, `grpc_method`;
 * - the caller's request id (metadata {@linkcode REQUEST_ID_METADATA}): the
 *   handler runs with it as the current request id (`request_context.ts`),
 *   so every line it logs names it, and one debug line per such call says
 *   how it ended.
 *
 * Pass it to the server: `new grpc.Server({ ...CHANNEL_OPTIONS, interceptors:
 * [grpcServerObserver({ metrics, logger })] })`.
 *
 * @module
 */

import client from "prom-client";
import { REQUEST_ID_METADATA } from "../db/mod.ts";
import { grpc } from "../grpc.ts";
import type { Logger } from "../log.ts";
import { withRequestId } from "../request_context.ts";
import { LATENCY_BUCKETS, type Registry } from "./registry.ts";

export { REQUEST_ID_METADATA };

type CallLabels = "grpc_type" | "grpc_service" | "grpc_method";

/** The gRPC server metrics of one service, registered on its registry. */
export class GrpcServerMetrics {
  /** Calls started. */
  readonly started: client.Counter<CallLabels>;
  /** Calls ended, by status code name (`OK`, `NOT_FOUND`, ...; `CANCELLED` when the client left). */
  readonly handled: client.Counter<CallLabels | "grpc_code">;
  /** Time from a call's start to its status. */
  readonly handling: client.Histogram<CallLabels>;
  /** Request messages received. */
  readonly received: client.Counter<CallLabels>;
  /** Response messages sent (for a watch: one per revision delivered, plus its first). */
  readonly sent: client.Counter<CallLabels>;

  /** Registers the metrics on `registry`. */
  constructor(registry: Registry) {
    const labelNames = ["grpc_type", "grpc_service", "grpc_method"] as const;
    const registers = [registry];
    this.started = new client.Counter({
      name: "grpc_server_started_total",
      help: "gRPC calls started on the server.",
      labelNames,
      registers,
    });
    this.handled = new client.Counter({
      name: "grpc_server_handled_total",
      help: "gRPC calls completed on the server, by status code.",
      labelNames: [...labelNames, "grpc_code"],
      registers,
    });
    this.handling = new client.Histogram({
      name: "grpc_server_handling_seconds",
      help: "Time from a gRPC call's start to its status (for a stream, its whole life).",
      labelNames,
      buckets: [...LATENCY_BUCKETS],
      registers,
    });
    this.received = new client.Counter({
      name: "grpc_server_msg_received_total",
      help: "gRPC request messages received on the server.",
      labelNames,
      registers,
    });
    this.sent = new client.Counter({
      name: "grpc_server_msg_sent_total",
      help: "gRPC response messages sent by the server.",
      labelNames,
      registers,
    });
  }
}

/** Options of {@linkcode grpcServerObserver}. */
export interface GrpcObserverOptions {
  /** Where to record calls (none: no metrics). */
  metrics?: GrpcServerMetrics;
  /** Gets one debug line per call that carries a request id (none: no lines). */
  logger?: Logger;
}

/** A request id as a log may hold it: printable ASCII, 1..128 characters. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The `grpc_type` label of a method. */
function typeOf(d: grpc.ServerMethodDefinition<unknown, unknown>): string {
  if (d.requestStream) return d.responseStream ? "bidi_stream" : "client_stream";
  return d.responseStream ? "server_stream" : "unary";
}

/** The status code's name (`OK`, `UNAVAILABLE`, ...). */
function codeName(code: number): string {
  return grpc.status[code] ?? String(code);
}

/** Builds the interceptor (see the module doc). */
export function grpcServerObserver(options: GrpcObserverOptions): grpc.ServerInterceptor {
  const { metrics, logger } = options;
  const labelsOf = new Map<string, Record<CallLabels, string>>();
  return (desc, call) => {
    let labels = labelsOf.get(desc.path);
    if (!labels) {
      const slash = desc.path.lastIndexOf("/");
      labels = {
        grpc_type: typeOf(desc),
        grpc_service: desc.path.slice(1, slash),
        grpc_method: desc.path.slice(slash + 1),
      };
      labelsOf.set(desc.path, labels);
    }
    const l = labels;
    const t0 = performance.now();
    let requestId: string | undefined;
    let ended = false;
    metrics?.started.inc(l);
    const end = (code: number, details: string) => {
      if (ended) return;
      ended = true;
      const seconds = (performance.now() - t0) / 1000;
      const name = codeName(code);
      metrics?.handled.inc({ ...l, grpc_code: name });
      metrics?.handling.observe(l, seconds);
      if (requestId !== undefined) {
        logger?.debug("grpc call", {
          method: desc.path,
          code: name,
          ms: Math.round(seconds * 10_000) / 10,
          ...(code === grpc.status.OK ? {} : { details }),
          requestId,
        });
      }
    };
    // Runs the handler (started on the half-close of a unary or server
    // stream call) with the caller's request id as the current one.
    const inContext = (next: () => void) =>
      requestId === undefined ? next() : withRequestId(requestId, next);
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(md, nextMd) {
            const v = md.get(REQUEST_ID_METADATA)[0]?.toString();
            if (v !== undefined && REQUEST_ID.test(v)) requestId = v;
            nextMd(md);
          },
          onReceiveMessage(msg, nextMsg) {
            metrics?.received.inc(l);
            inContext(() => nextMsg(msg));
          },
          onReceiveHalfClose(nextHalfClose) {
            inContext(nextHalfClose);
          },
          onCancel() {
            // grpc-js also reports the close of a call that ended normally.
            end(grpc.status.CANCELLED, "the client cancelled the call");
          },
        });
      },
      sendMessage(msg, next) {
        metrics?.sent.inc(l);
        next(msg);
      },
      sendStatus(status, next) {
        end(status.code, status.details);
        next(status);
      },
    });
  };
}
