import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { grpc } from "../grpc.ts";
import { createLogger, parseLogLine } from "../log.ts";
import { currentRequestId } from "../request_context.ts";
import { GrpcServerMetrics, grpcServerObserver, REQUEST_ID_METADATA } from "./grpc_server.ts";
import { parsePrometheusText } from "./prom_text.ts";
import { createRegistry } from "./registry.ts";

const json = {
  requestSerialize: (x: unknown) => Buffer.from(JSON.stringify(x)),
  requestDeserialize: (b: Buffer) => JSON.parse(b.toString()),
  responseSerialize: (x: unknown) => Buffer.from(JSON.stringify(x)),
  responseDeserialize: (b: Buffer) => JSON.parse(b.toString()),
};
const SERVICE = {
  Echo: { path: "/t.Test/Echo", requestStream: false, responseStream: false, ...json },
  Stream: { path: "/t.Test/Stream", requestStream: false, responseStream: true, ...json },
} as unknown as grpc.ServiceDefinition;

// deno-lint-ignore no-explicit-any
type Any = any;

/** A server with the observer, a client, the ids its handlers saw and its log lines. */
async function setup() {
  const registry = createRegistry();
  const lines: string[] = [];
  const logger = createLogger("t", "debug", { format: "json", write: (l) => lines.push(l) });
  const seen: (string | undefined)[] = [];
  const server = new grpc.Server({
    interceptors: [grpcServerObserver({ metrics: new GrpcServerMetrics(registry), logger })],
  });
  server.addService(SERVICE, {
    Echo: async (call: Any, cb: Any) => {
      await new Promise((r) => setTimeout(r, 1));
      seen.push(currentRequestId());
      if (call.request.fail) cb({ code: grpc.status.NOT_FOUND, details: "no such thing" });
      else cb(null, call.request);
    },
    Stream: (call: Any) => {
      seen.push(currentRequestId());
      call.write({ n: 1 });
      call.write({ n: 2 });
      if (call.request.hang) return; // until the client cancels
      setTimeout(() => call.emit("error", { code: grpc.status.OUT_OF_RANGE, details: "gone" }), 5);
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (e, p) => e ? rej(e) : res(p),
    )
  );
  const Client = grpc.makeGenericClientConstructor(SERVICE, "Test");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as Any;
  const md = (id?: string) => {
    const m = new grpc.Metadata();
    if (id) m.set(REQUEST_ID_METADATA, id);
    return m;
  };
  const echo = (req: unknown, id?: string) =>
    new Promise<number>((r) => client.Echo(req, md(id), (e: Any) => r(e?.code ?? 0)));
  const stream = (req: unknown, id?: string, cancelAfter?: number) =>
    new Promise<number>((r) => {
      const s = client.Stream(req, md(id));
      let n = 0;
      s.on("data", () => {
        if (++n === cancelAfter) s.cancel();
      });
      s.on("error", (e: Any) => r(e.code));
      s.on("end", () => r(0));
    });
  const metrics = async () => parsePrometheusText(await registry.metrics());
  const close = () => {
    client.close();
    server.forceShutdown();
  };
  return { echo, stream, metrics, seen, lines, close };
}

Deno.test("grpcServerObserver counts unary and stream calls by method and status code", async () => {
  const t = await setup();
  try {
    assert.equal(await t.echo({ a: 1 }), 0);
    assert.equal(await t.echo({ a: 2 }), 0);
    assert.equal(await t.echo({ fail: true }), grpc.status.NOT_FOUND);
    assert.equal(await t.stream({}), grpc.status.OUT_OF_RANGE);
    assert.equal(await t.stream({ hang: true }, undefined, 2), grpc.status.CANCELLED);
    // The server learns of the cancellation a moment later.
    let m = await t.metrics();
    for (
      let i = 0;
      i < 100 && m.sum("grpc_server_handled_total", { grpc_method: "Stream" }) < 2;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 20));
      m = await t.metrics();
    }
    const echo = { grpc_type: "unary", grpc_service: "t.Test", grpc_method: "Echo" };
    const stream = { grpc_type: "server_stream", grpc_service: "t.Test", grpc_method: "Stream" };
    assert.equal(m.value("grpc_server_started_total", echo), 3);
    assert.equal(m.value("grpc_server_handled_total", { ...echo, grpc_code: "OK" }), 2);
    assert.equal(m.value("grpc_server_handled_total", { ...echo, grpc_code: "NOT_FOUND" }), 1);
    assert.equal(m.value("grpc_server_handling_seconds_count", echo), 3);
    assert.ok(m.value("grpc_server_handling_seconds_sum", echo) > 0.002);
    assert.equal(m.value("grpc_server_msg_received_total", echo), 3);
    assert.equal(m.value("grpc_server_msg_sent_total", echo), 2);
    assert.equal(m.value("grpc_server_started_total", stream), 2);
    assert.equal(m.value("grpc_server_handled_total", { ...stream, grpc_code: "OUT_OF_RANGE" }), 1);
    assert.equal(m.value("grpc_server_handled_total", { ...stream, grpc_code: "CANCELLED" }), 1);
    assert.equal(m.value("grpc_server_msg_sent_total", stream), 4);
    assert.equal(m.sum("grpc_server_handled_total"), 5, "each call ends once");
  } finally {
    t.close();
  }
});

Deno.test("grpcServerObserver runs handlers under the caller's x-request-id and logs each such call", async () => {
  const t = await setup();
  try {
    await t.echo({}, "req-1");
    await t.echo({ fail: true }, "req-2");
    await t.echo({});
    await t.echo({}, "bad id with spaces");
    await t.stream({}, "req-3");
    assert.deepEqual(t.seen, ["req-1", "req-2", undefined, undefined, "req-3"]);
    const calls = t.lines.map((l) => parseLogLine(l)!).filter((r) => r.msg === "grpc call");
    assert.deepEqual(
      calls.map((r) => [r.level, r.requestId, r.fields!.method, r.fields!.code]),
      [
        ["debug", "req-1", "/t.Test/Echo", "OK"],
        ["debug", "req-2", "/t.Test/Echo", "NOT_FOUND"],
        ["debug", "req-3", "/t.Test/Stream", "OUT_OF_RANGE"],
      ],
    );
    assert.equal(calls[1]!.fields!.details, "no such thing");
  } finally {
    t.close();
  }
});
