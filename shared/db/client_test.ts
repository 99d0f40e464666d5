import assert from "node:assert/strict";
import { grpc, loadProto, serviceOf } from "../grpc.ts";
import { DbClient } from "./client.ts";
import { freePort, waitFor } from "../../tests/support/procs.ts";
import { startRelay } from "../../tests/support/tcp_relay.ts";
import {
  FIELD,
  isCancelled,
  isInvalidArgument,
  isUnavailable,
  LEADER_ADDR,
  REQUEST_ID_METADATA,
  RETRYABLE,
  REVISION,
} from "./errors.ts";

/** An answer that never comes: the node took the request and stopped (SIGSTOP). */
const HANG = Symbol("hang");

/** What a fake node answers: a response, or a status with metadata. */
type Answer = unknown | { status: grpc.status; details: string; md?: Record<string, string> };
type Handler = (req: Record<string, unknown>) => Answer;

/** A Watch stream of a fake node: the request, and the stream to write its messages to. */
type WatchHandler = (
  req: { startRevision: number },
  call: grpc.ServerWritableStream<unknown, unknown>,
) => void;

/** A gRPC server that speaks cassemdb's KV and Cluster services with programmed answers. */
class FakeNode {
  readonly calls: string[] = [];
  /** The `x-request-id` of each call, in order (undefined: none sent). */
  readonly requestIds: (string | undefined)[] = [];
  readonly handlers = new Map<string, Handler>();
  /** Serves Watch streams (UNIMPLEMENTED when unset). */
  watch: WatchHandler | undefined;
  readonly #server = new grpc.Server();
  address = "";

  async start(): Promise<this> {
    const pkg = loadProto("cassemdb.proto", "cassemdb");
    for (const svc of ["KV", "Cluster"]) {
      const def = serviceOf(pkg, svc).service;
      const impl: grpc.UntypedServiceImplementation = {};
      for (const name of Object.keys(def)) {
        if (def[name]!.responseStream) {
          impl[name] = (call: grpc.ServerWritableStream<{ startRevision: number }, unknown>) => {
            this.calls.push(name);
            if (this.watch) this.watch(call.request, call);
            else {call.emit("error", {
                code: grpc.status.UNIMPLEMENTED,
                details: `no ${name} here`,
              });}
          };
          continue;
        }
        impl[name] = (
          call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>,
          cb: grpc.sendUnaryData<unknown>,
        ) => {
          this.calls.push(name);
          this.requestIds.push(call.metadata.get(REQUEST_ID_METADATA)[0]?.toString());
          const h = this.handlers.get(name);
          if (!h) return cb({ code: grpc.status.UNIMPLEMENTED, details: `no ${name} here` });
          const answer = h(call.request);
          if (answer === HANG) return;
          const a = answer as {
            status?: grpc.status;
            details?: string;
            md?: Record<string, string>;
          };
          if (a && typeof a === "object" && "status" in a && a.status !== undefined) {
            const md = new grpc.Metadata();
            for (const [k, v] of Object.entries(a.md ?? {})) md.set(k, v);
            return cb({ code: a.status, details: a.details, metadata: md });
          }
          cb(null, a);
        };
      }
      this.#server.addService(def, impl);
    }
    const port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync(
        "127.0.0.1:0",
        grpc.ServerCredentials.createInsecure(),
        (e, p) => (e ? reject(e) : resolve(p)),
      )
    );
    this.address = `127.0.0.1:${port}`;
    return this;
  }

  count(name: string): number {
    return this.calls.filter((c) => c === name).length;
  }

  stop(): void {
    this.#server.forceShutdown();
  }
}

/** A node that accepts connections and never answers: a paused process. */
function blackhole(): { address: string; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of listener) conns.push(c);
    } catch { /* closed */ }
  })();
  return {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* gone */ }
      }
    },
  };
}

/** A port nothing listens on (a free one, handed out once). */
function closedPort(): string {
  return `127.0.0.1:${freePort()}`;
}

const ENTITY = {
  key: "k",
  type: "ELEMENT",
  val: new TextEncoder().encode("v"),
  fingerprint: "0123456789abcdef",
  createdAt: 1,
  updatedAt: 1,
  ttl: 0,
  expireAt: 0,
  size: 1,
  createRevision: 3,
  modRevision: 3,
};

// grpc-js keeps timers and sockets of its own (keepalive, idle channels) past a test's end.
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("DbClient constructor refuses no endpoints and non-positive timeouts", opts, () => {
  assert.throws(() => new DbClient({ endpoints: [] }), RangeError);
  assert.throws(
    () => new DbClient({ endpoints: ["127.0.0.1:1"], attemptTimeoutMs: 0 }),
    RangeError,
  );
  assert.throws(() => new DbClient({ endpoints: ["127.0.0.1:1"], timeoutMs: -5 }), RangeError);
});

Deno.test(
  "DbClient reads move on from a node that does not answer after one attempt",
  opts,
  async () => {
    const hole = blackhole();
    const node = await new FakeNode().start();
    node.handlers.set("GetKV", () => ({ entity: ENTITY, revision: 7 }));
    const db = new DbClient({
      endpoints: [hole.address, node.address],
      timeoutMs: 5_000,
      attemptTimeoutMs: 300,
    });
    try {
      const t0 = Date.now();
      const r = await db.get("k");
      const took = Date.now() - t0;
      assert.equal(r.revision, 7);
      assert.equal(new TextDecoder().decode(r.entity!.val), "v");
      assert.ok(
        took >= 250 && took < 2_000,
        `took ${took} ms: one attempt, not the whole deadline`,
      );
      // The silent node is avoided now: the next read goes straight to the other.
      const t1 = Date.now();
      await db.get("k");
      assert.ok(Date.now() - t1 < 250, "the next read did not wait for the silent node");
    } finally {
      db.close();
      node.stop();
      hole.close();
    }
  },
);

Deno.test(
  "DbClient: a write to a node that took it and went silent fails once, flagged mayHaveApplied",
  opts,
  async () => {
    const paused = await new FakeNode().start();
    const node = await new FakeNode().start();
    paused.handlers.set("SetKV", () => HANG);
    node.handlers.set(
      "SetKV",
      () => ({ entity: { ...ENTITY, val: new Uint8Array() }, revision: 8 }),
    );
    const db = new DbClient({
      endpoints: [paused.address, node.address],
      timeoutMs: 5_000,
      attemptTimeoutMs: 300,
    });
    try {
      const t0 = Date.now();
      const err = await db.set("k", "v").then(() => undefined, (e) => e);
      assert.ok(isUnavailable(err) && err.code === "DEADLINE_EXCEEDED", String(err));
      assert.equal(err.mayHaveApplied, true, "the node has it and may apply it later");
      assert.ok(Date.now() - t0 < 2_000, "failed after one attempt, not the whole deadline");
      assert.equal(node.count("SetKV"), 0, "a write with an unknown outcome is never sent twice");
      const r = await db.set("k", "v");
      assert.equal(r.revision, 8, "the next write goes to the other node");
      assert.equal(db.leaderAddr, node.address, "the node that applied a write is the leader");
      assert.equal(paused.count("SetKV"), 1);
    } finally {
      db.close();
      node.stop();
      paused.stop();
    }
  },
);

Deno.test(
  "DbClient: a write to a node that never completed the connection is sent elsewhere",
  opts,
  async () => {
    const hole = blackhole();
    const node = await new FakeNode().start();
    node.handlers.set(
      "SetKV",
      () => ({ entity: { ...ENTITY, val: new Uint8Array() }, revision: 8 }),
    );
    const db = new DbClient({
      endpoints: [hole.address, node.address],
      timeoutMs: 5_000,
      attemptTimeoutMs: 300,
    });
    try {
      const r = await db.set("k", "v");
      assert.equal(r.revision, 8, "grpc-js never sent it (no HTTP/2 session): safe to send again");
      assert.equal(node.count("SetKV"), 1);
    } finally {
      db.close();
      node.stop();
      hole.close();
    }
  },
);

Deno.test(
  "DbClient retries a write that was certainly not applied and follows the leader",
  opts,
  async () => {
    const follower = await new FakeNode().start();
    const leader = await new FakeNode().start();
    follower.handlers.set("SetKV", () => ({
      status: grpc.status.UNAVAILABLE,
      details: "Cannot serve the request as this node is not the leader",
      md: { [LEADER_ADDR]: leader.address, [RETRYABLE]: "1" },
    }));
    leader.handlers.set(
      "SetKV",
      () => ({ entity: { ...ENTITY, val: new Uint8Array() }, revision: 9 }),
    );
    const db = new DbClient({ endpoints: [closedPort(), follower.address] });
    try {
      const r = await db.set("k", "v");
      assert.equal(r.revision, 9);
      assert.equal(db.leaderAddr, leader.address);
      assert.ok(db.endpoints.includes(leader.address), "the leader's address was learnt");
      assert.deepEqual([follower.count("SetKV"), leader.count("SetKV")], [1, 1]);
    } finally {
      db.close();
      follower.stop();
      leader.stop();
    }
  },
);

Deno.test(
  "DbClient: UNAVAILABLE without x-cassem-retryable on a write may have applied; a read is retried",
  opts,
  async () => {
    const node = await new FakeNode().start();
    let gets = 0;
    node.handlers.set(
      "SetKV",
      () => ({ status: grpc.status.UNAVAILABLE, details: "Connection dropped" }),
    );
    node.handlers.set(
      "GetKV",
      () =>
        ++gets < 3
          ? { status: grpc.status.UNAVAILABLE, details: "no leader yet", md: { [RETRYABLE]: "1" } }
          : {
            status: grpc.status.NOT_FOUND,
            details: "Cannot get k as it does not exist",
            md: { [REVISION]: "41" },
          },
    );
    node.handlers.set("Range", () => ({
      status: grpc.status.INVALID_ARGUMENT,
      details: "Cannot accept limit as ...",
      md: { [FIELD]: "limit" },
    }));
    const db = new DbClient({ endpoints: [node.address], timeoutMs: 3_000 });
    try {
      await assert.rejects(db.set("k", "v"), (e) => isUnavailable(e) && e.mayHaveApplied);
      assert.equal(node.count("SetKV"), 1);
      assert.deepEqual(await db.get("k"), { entity: undefined, revision: 41 });
      assert.equal(gets, 3, "the read was retried until it got an answer");
      await assert.rejects(
        db.range("", { limit: 500 }),
        (e) => isInvalidArgument(e) && e.field === "limit",
      );
      assert.equal(node.count("Range"), 1, "a refusal is not retried");
    } finally {
      db.close();
      node.stop();
    }
  },
);

Deno.test("DbClient: aborting a call cancels it at once", opts, async () => {
  const paused = await new FakeNode().start();
  paused.handlers.set("SetKV", () => HANG);
  const db = new DbClient({
    endpoints: [paused.address],
    timeoutMs: 10_000,
    attemptTimeoutMs: 10_000,
  });
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const err = await db.set("k", "v", { signal: ac.signal }).then(() => undefined, (e) => e);
    assert.ok(isCancelled(err), String(err));
    assert.ok(Date.now() - t0 < 2_000);
    assert.equal(err.mayHaveApplied, true, "the node has it");
    assert.equal(paused.count("SetKV"), 1);
  } finally {
    db.close();
    paused.stop();
  }
});

Deno.test(
  "DbClient.status reads the role as a literal union and refuses an unknown one",
  opts,
  async () => {
    const node = await new FakeNode().start();
    let role = "follower";
    node.handlers.set("Status", () => ({
      id: 2,
      leader: 1,
      role,
      term: 3,
      commit: 10,
      applied: 10,
      revision: 5,
      keys: 4,
      members: [],
      watchOldestRevision: 1,
    }));
    const db = new DbClient({ endpoints: [node.address] });
    try {
      assert.equal((await db.status({ endpoint: node.address })).role, "follower");
      role = "boss";
      await assert.rejects(
        db.status(),
        (e) => e instanceof Error && /role must be one of/.test(e.message),
      );
    } finally {
      db.close();
      node.stop();
    }
  },
);

Deno.test(
  "DbClient sends requestId as x-request-id on every attempt of the call, and refuses a malformed one",
  opts,
  async () => {
    const follower = await new FakeNode().start();
    const leader = await new FakeNode().start();
    follower.handlers.set("SetKV", () => ({
      status: grpc.status.UNAVAILABLE,
      details: "not the leader",
      md: { [LEADER_ADDR]: leader.address, [RETRYABLE]: "1" },
    }));
    leader.handlers.set(
      "SetKV",
      () => ({ entity: { ...ENTITY, val: new Uint8Array() }, revision: 9 }),
    );
    follower.handlers.set("GetKV", () => ({ entity: ENTITY, revision: 9 }));
    const db = new DbClient({ endpoints: [follower.address] });
    try {
      await db.set("k", "v", { requestId: "adm-req.1:a" });
      await db.get("k");
      // The write is redirected: both of its attempts carry the id; the read carries none.
      assert.deepEqual(follower.requestIds, ["adm-req.1:a", undefined]);
      assert.deepEqual(leader.requestIds, ["adm-req.1:a"]);
      for (const bad of ["", "has space", "x".repeat(129), "é"]) {
        await assert.rejects(
          db.get("k", { requestId: bad }),
          (e: Error) =>
            e instanceof RangeError &&
            /Cannot send requestId as it must be 1 to 128 printable ASCII characters/.test(
              e.message,
            ),
        );
      }
      assert.equal(follower.count("GetKV"), 1, "nothing sent with a malformed id");
    } finally {
      db.close();
      leader.stop();
      follower.stop();
    }
  },
);

Deno.test(
  "DbClient: a watch on a node cut off by the network (connection open, silent) moves on within two attempt timeouts",
  opts,
  async () => {
    const set = (revision: number) => ({
      op: "SET",
      key: "k",
      current: { ...ENTITY, modRevision: revision },
      revision,
      reason: "",
    });
    const cutOff = await new FakeNode().start();
    const other = await new FakeNode().start();
    // Both answer a watch from revision 5: its first message, then the changes they have.
    cutOff.watch = (req, call) => {
      call.write({ changes: [], revision: req.startRevision - 1 });
      call.write({ changes: [set(5)], revision: 5 }); // and then nothing, ever
    };
    other.watch = (req, call) => {
      call.write({ changes: [], revision: req.startRevision - 1 });
      for (let r = req.startRevision; r <= 6; r++) call.write({ changes: [set(r)], revision: r });
    };
    const link = startRelay(cutOff.address);
    const db = new DbClient({ endpoints: [link.address, other.address], attemptTimeoutMs: 400 });
    const got: number[] = [];
    let arrived = 0;
    const w = db.watch({ keys: ["k"], startRevision: 5 }, {
      onChanges(ev) {
        got.push(ev.revision);
        arrived = Date.now();
      },
    });
    try {
      await waitFor("revision 5 from the first node", () => (got.length > 0 ? true : undefined));
      link.cut();
      const cutAt = Date.now();
      await waitFor("revision 6 from the other node", () => (got.length > 1 ? true : undefined), {
        timeoutMs: 20_000,
      });
      const took = arrived - cutAt;
      assert.deepEqual(got, [5, 6], "every revision once, resumed after the last delivered");
      assert.equal(other.count("Watch"), 1);
      // Keepalive pings every 400 ms, each answered within 400 ms: about 0.8 s,
      // with room for a loaded machine (grpc-js's default would take 10 to 15 s).
      assert.ok(took < 4_000, `the watch stayed on the silent node for ${took} ms`);
    } finally {
      w.close();
      db.close();
      link.close();
      cutOff.stop();
      other.stop();
    }
  },
);

Deno.test(
  "DbClient: a call's own timeoutMs bounds it on a silent node: DEADLINE_EXCEEDED near it, mayHaveApplied for a write only",
  opts,
  async () => {
    const silent = await new FakeNode().start();
    silent.handlers.set("SetKV", () => HANG);
    silent.handlers.set("GetKV", () => HANG);
    // The client's own deadlines are far longer: only the call's timeoutMs can end these calls.
    const db = new DbClient({
      endpoints: [silent.address],
      timeoutMs: 30_000,
      attemptTimeoutMs: 30_000,
    });
    const TIMEOUT = 600;
    try {
      for (
        const [what, call, write] of [
          ["set", () => db.set("k", "v", { timeoutMs: TIMEOUT }), true],
          ["get", () => db.get("k", { timeoutMs: TIMEOUT }), false],
        ] as const
      ) {
        const t0 = performance.now();
        const err = await (call as () => Promise<unknown>)().then(() => undefined, (e) => e);
        const took = performance.now() - t0;
        assert.equal(err?.code, "DEADLINE_EXCEEDED", `${what}: ${err}`);
        assert.equal(err.mayHaveApplied, write, `${what}: mayHaveApplied`);
        // Not before the deadline; well before the client's own 30 s (generous for a loaded machine).
        assert.ok(
          took >= TIMEOUT - 50,
          `${what} failed after ${took} ms, before its ${TIMEOUT} ms`,
        );
        assert.ok(took < TIMEOUT + 3_000, `${what} took ${took} ms for a ${TIMEOUT} ms timeout`);
      }
      assert.equal(silent.count("SetKV"), 1, "a write with an unknown outcome is never sent twice");
    } finally {
      db.close();
      silent.stop();
    }
  },
);
