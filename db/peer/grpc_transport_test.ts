import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { transportContract } from "../../shared/raft/_transport_contract.ts";
import { EntryType, type Message, message, MessageType } from "../../shared/raft/types.ts";
import type { AnnounceRequest } from "./codec.ts";
import { GrpcTransport, type GrpcTransportOptions } from "./grpc_transport.ts";
import { sleep, waitFor } from "../../tests/support/procs.ts";

const LOOPBACK = "127.0.0.1:0";

/** Nodes 1..n on loopback, each knowing the others' addresses. */
async function cluster(
  n: number,
  opts: Partial<GrpcTransportOptions> = {},
): Promise<GrpcTransport[]> {
  const ts: GrpcTransport[] = [];
  for (let id = 1; id <= n; id++) {
    ts.push(await GrpcTransport.listen({ ...opts, id, address: LOOPBACK }));
  }
  for (const t of ts) for (const o of ts) t.setPeer(o.id, o.address);
  return ts;
}

async function closeAll(ts: Iterable<GrpcTransport>): Promise<void> {
  await Promise.all([...ts].map((t) => t.close()));
}

interface Inbox {
  got: Message[];
  unreachable: number[];
}

function inbox(t: GrpcTransport): Inbox {
  const box: Inbox = { got: [], unreachable: [] };
  t.start({ message: (m) => box.got.push(m), unreachable: (id) => box.unreachable.push(id) });
  return box;
}

/** Polls `cond` every 2 ms until it holds, at most `ms`. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  await waitFor(what, () => (cond() ? true : undefined), { timeoutMs: ms, everyMs: 2 });
}

function app(from: number, to: number, index: number, bytes = 8): Message {
  return message({
    type: MessageType.App,
    from,
    to,
    term: 1,
    index,
    entries: [{ term: 1, index: index + 1, type: EntryType.Normal, data: new Uint8Array(bytes) }],
  });
}

transportContract("GrpcTransport", async () => {
  const ts = new Map((await cluster(3)).map((t) => [t.id, t]));
  return {
    transport: (id: number) => ts.get(id)!,
    kill: (id: number) => ts.get(id)!.close(),
    close: () => closeAll(ts.values()),
  };
});

Deno.test("GrpcTransport keeps 10,000 messages in order across many send calls", async () => {
  const ts = await cluster(2);
  try {
    const [one, two] = ts as [GrpcTransport, GrpcTransport];
    const box = inbox(two);
    inbox(one);
    let index = 0;
    for (let call = 0; call < 1000; call++) {
      one.send(Array.from({ length: 10 }, () => app(1, 2, index++, 64)));
      // Let batches leave and complete between some of the calls.
      if (call % 50 === 0) await sleep(0);
    }
    await until(() => box.got.length === 10_000, "10,000 messages");
    assert.deepEqual(box.got.map((m) => m.index), Array.from({ length: 10_000 }, (_, i) => i));
    const st = one.stats();
    assert.equal(st.sent, 10_000);
    assert.equal(st.dropped, 0);
    assert.equal(st.failedStreams, 0);
  } finally {
    await closeAll(ts);
  }
});

Deno.test("GrpcTransport sends what queues up within one task as one batch", async () => {
  const ts = await cluster(2);
  try {
    const [one, two] = ts as [GrpcTransport, GrpcTransport];
    const box = inbox(two);
    inbox(one);
    for (let i = 0; i < 2000; i++) {
      one.send([app(1, 2, i)]);
      if (i % 100 === 0) await sleep(0);
    }
    await until(() => box.got.length === 2000, "2,000 messages");
    const st = one.stats();
    assert.equal(st.sent, 2000);
    // One batch per send would be 2,000; the sends of one task leave together.
    assert.ok(st.batches <= 100, `expected at most 100 batches: current value is ${st.batches}`);
    assert.equal(st.streams, 1);
    assert.equal(two.stats().received, 2000);
  } finally {
    await closeAll(ts);
  }
});

Deno.test("GrpcTransport splits a queue into batches of maxBatchBytes", async () => {
  const ts = await cluster(2, { maxBatchBytes: 10_000 });
  try {
    const [one, two] = ts as [GrpcTransport, GrpcTransport];
    const box = inbox(two);
    inbox(one);
    // 40 messages of ~1 KiB: at most 9 per batch, so at least 5 batches.
    one.send(Array.from({ length: 40 }, (_, i) => app(1, 2, i, 1000)));
    await until(() => box.got.length === 40, "40 messages");
    assert.ok(one.stats().batches >= 5, `expected at least 5 batches: ${one.stats().batches}`);
    assert.deepEqual(box.got.map((m) => m.index), Array.from({ length: 40 }, (_, i) => i));
  } finally {
    await closeAll(ts);
  }
});

Deno.test("GrpcTransport reaches a peer again after it restarts on the same port", async () => {
  const ts = await cluster(2);
  let back: GrpcTransport | undefined;
  try {
    const [one, two] = ts as [GrpcTransport, GrpcTransport];
    const box1 = inbox(one);
    const first = inbox(two);
    one.send([app(1, 2, 1)]);
    await until(() => first.got.length === 1, "the first message");
    const address = two.address;
    await two.close();
    one.send([app(1, 2, 2)]);
    await until(() => box1.unreachable.includes(2), "node 2 reported unreachable");
    back = await GrpcTransport.listen({ id: 2, address });
    const again = inbox(back);
    // Raft retries; so do we, until the channel has reconnected.
    for (let i = 3; again.got.length === 0; i++) {
      assert.ok(i < 500, "Cannot reach node 2 again within 5 s");
      one.send([app(1, 2, i)]);
      await sleep(10);
    }
    assert.equal(again.got[0]!.from, 1);
  } finally {
    await closeAll(back ? [...ts, back] : ts);
  }
});

Deno.test("GrpcTransport drops the oldest messages of a full queue, snapshot chunks last", async () => {
  const ts = await cluster(2, { maxQueueMessages: 10 });
  try {
    const [one, two] = ts as [GrpcTransport, GrpcTransport];
    const box = inbox(two);
    const box1 = inbox(one);
    const snap = message({
      type: MessageType.Snap,
      from: 1,
      to: 2,
      index: 1000,
      snapshot: {
        metadata: { index: 5, term: 1, confState: { voters: [1, 2], learners: [] } },
        offset: 0,
        total: 3,
        data: new Uint8Array([1, 2, 3]),
      },
    });
    one.send([snap, ...Array.from({ length: 100 }, (_, i) => app(1, 2, i))]);
    // Reported at once, from within send.
    assert.deepEqual(box1.unreachable, [2]);
    assert.equal(one.stats().dropped, 91);
    await until(() => box.got.length === 10, "the 10 kept messages");
    assert.deepEqual(box.got.map((m) => m.index), [1000, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
    assert.equal(box.got[0]!.type, MessageType.Snap);
  } finally {
    await closeAll(ts);
  }
});

Deno.test("GrpcTransport drops snapshot chunks too when nothing else is left", async () => {
  const ts = await cluster(2, { maxQueueMessages: 2 });
  try {
    const [one, two] = ts as [GrpcTransport, GrpcTransport];
    const box = inbox(two);
    inbox(one);
    const snaps = [0, 1, 2, 3, 4].map((k) =>
      message({
        type: MessageType.Snap,
        from: 1,
        to: 2,
        snapshot: {
          metadata: { index: 5, term: 1, confState: { voters: [1, 2], learners: [] } },
          offset: k,
          total: 5,
          data: new Uint8Array([k]),
        },
      })
    );
    one.send([app(1, 2, 1), ...snaps]);
    assert.equal(one.stats().dropped, 4);
    await until(() => box.got.length === 2, "the 2 kept chunks");
    assert.deepEqual(box.got.map((m) => m.snapshot!.offset), [3, 4]);
  } finally {
    await closeAll(ts);
  }
});

Deno.test("GrpcTransport bounds a queue by bytes", async () => {
  const ts = await cluster(2, { maxQueueBytes: 10_000 });
  try {
    const [one, two] = ts as [GrpcTransport, GrpcTransport];
    const box = inbox(two);
    const box1 = inbox(one);
    one.send(Array.from({ length: 20 }, (_, i) => app(1, 2, i, 1000)));
    assert.deepEqual(box1.unreachable, [2]);
    await until(() => box.got.length > 0, "the kept messages");
    await sleep(20);
    // Each counts 1,000 + 88 bytes: 9 fit in 10,000.
    assert.deepEqual(box.got.map((m) => m.index), [11, 12, 13, 14, 15, 16, 17, 18, 19]);
  } finally {
    await closeAll(ts);
  }
});

Deno.test("GrpcTransport reports a peer without an address at once", async () => {
  const ts = await cluster(1);
  try {
    const [one] = ts as [GrpcTransport];
    const box = inbox(one);
    one.send([app(1, 7, 1), app(1, 7, 2), app(1, 8, 1)]);
    assert.deepEqual(box.unreachable, [7, 8]);
    assert.equal(one.stats().dropped, 3);
    assert.equal(one.stats().batches, 0);
    assert.equal(one.stats().streams, 0);
  } finally {
    await closeAll(ts);
  }
});

Deno.test("GrpcTransport treats reaching another node than the one addressed as a failure", async () => {
  const ts = await cluster(2);
  try {
    const [one, two] = ts as [GrpcTransport, GrpcTransport];
    const box1 = inbox(one);
    const box2 = inbox(two);
    // A stale address: node 3's address now serves node 2.
    one.setPeer(3, two.address);
    one.send([app(1, 3, 1)]);
    await until(() => box1.unreachable.includes(3), "node 3 reported unreachable");
    assert.equal(box2.got.length, 0);
    assert.equal(two.stats().rejected, 1);
    assert.equal(one.stats().failedStreams, 1);
  } finally {
    await closeAll(ts);
  }
});

Deno.test("GrpcTransport drops local message kinds and messages that arrive before start", async () => {
  const ts = await cluster(2);
  try {
    const [one, two] = ts as [GrpcTransport, GrpcTransport];
    const box1 = inbox(one);
    one.send([app(1, 2, 1)]);
    await until(() => box1.unreachable.length === 1, "node 2 reported unreachable");
    assert.equal(two.stats().rejected, 1);
    const box = inbox(two);
    one.send([message({ type: MessageType.Hup, from: 1, to: 2 }), app(1, 2, 2)]);
    await until(() => box.got.length === 1, "the App message");
    assert.equal(box.got[0]!.index, 2);
    assert.equal(two.stats().rejected, 2);
    await until(() => box1.unreachable.length === 2, "node 2 reported unreachable again");
    assert.deepEqual(one.stats().dropped, 2);
    assert.deepEqual(one.stats().failedStreams, 0);
  } finally {
    await closeAll(ts);
  }
});

Deno.test("GrpcTransport setPeer moves a peer to its new address and forgets it", async () => {
  const ts = await cluster(2);
  try {
    const [one, two] = ts as [GrpcTransport, GrpcTransport];
    const box1 = inbox(one);
    const box2 = inbox(two);
    // Nothing listens on port 1.
    one.setPeer(2, "127.0.0.1:1");
    one.send([app(1, 2, 1)]);
    await until(() => box1.unreachable.includes(2), "node 2 reported unreachable");
    one.setPeer(2, two.address);
    assert.equal(one.peerAddress(2), two.address);
    one.send([app(1, 2, 2)]);
    await until(() => box2.got.length === 1, "the message at the new address");
    assert.equal(box2.got[0]!.index, 2);
    one.setPeer(2, undefined);
    assert.equal(one.peerAddress(2), undefined);
    box1.unreachable.length = 0;
    one.send([app(1, 2, 3)]);
    assert.deepEqual(box1.unreachable, [2]);
    // An address grpc-js cannot parse forgets the peer instead of throwing.
    one.setPeer(2, two.address);
    one.setPeer(2, "");
    assert.equal(one.peerAddress(2), undefined);
    one.send([app(1, 2, 4)]);
    assert.deepEqual(box1.unreachable, [2, 2]);
  } finally {
    await closeAll(ts);
  }
});

Deno.test("GrpcTransport answers Announce through onAnnounce", async () => {
  const seen: AnnounceRequest[] = [];
  const leader = await GrpcTransport.listen({
    id: 1,
    address: LOOPBACK,
    onAnnounce: (req) => {
      seen.push(req);
      return Promise.resolve({ ok: true, leader: 1 });
    },
  });
  const plain = await GrpcTransport.listen({ id: 2, address: LOOPBACK });
  const failing = await GrpcTransport.listen({
    id: 3,
    address: LOOPBACK,
    onAnnounce: () =>
      Promise.reject(Object.assign(new Error("not the leader"), { code: grpc.status.UNAVAILABLE })),
  });
  try {
    const req = { id: 2, peerAddr: plain.address, clientAddr: "127.0.0.1:2379" };
    assert.deepEqual(await plain.announce(leader.address, req), { ok: true, leader: 1 });
    assert.deepEqual(seen, [req]);
    // Through the channel of a known peer too.
    plain.setPeer(1, leader.address);
    assert.deepEqual(await plain.announce(leader.address, req), { ok: true, leader: 1 });

    const unimplemented = await leader.announce(plain.address, req).catch((e) => e);
    assert.ok(unimplemented instanceof Error);
    assert.match(unimplemented.message, /^Cannot announce to .* as the call failed/);
    assert.equal((unimplemented.cause as grpc.ServiceError).code, grpc.status.UNIMPLEMENTED);

    const refused = await leader.announce(failing.address, req).catch((e) => e);
    assert.equal((refused.cause as grpc.ServiceError).code, grpc.status.UNAVAILABLE);
    assert.match(refused.message, /not the leader/);

    // A handler set after listen, as a node built on the transport does.
    plain.onAnnounce = (r) => Promise.resolve({ ok: r.id === 1, leader: 2 });
    assert.deepEqual(await leader.announce(plain.address, { ...req, id: 1 }), {
      ok: true,
      leader: 2,
    });
    plain.onAnnounce = () => {
      throw new TypeError("bad address");
    };
    const thrown = await leader.announce(plain.address, req).catch((e) => e);
    assert.equal((thrown.cause as grpc.ServiceError).code, grpc.status.UNKNOWN);
    assert.match(thrown.message, /bad address/);
  } finally {
    await closeAll([leader, plain, failing]);
  }
});

Deno.test("GrpcTransport.listen rejects bad options and busy ports", async () => {
  await assert.rejects(
    GrpcTransport.listen({ id: 0, address: LOOPBACK }),
    (e: Error) => e instanceof RangeError && /positive integer: current value is 0/.test(e.message),
  );
  await assert.rejects(
    GrpcTransport.listen({ id: 1, address: "localhost" }),
    (e: Error) => e instanceof TypeError && /host:port: current value is localhost/.test(e.message),
  );
  await assert.rejects(
    GrpcTransport.listen({ id: 1, address: LOOPBACK, maxQueueBytes: 0 }),
    RangeError,
  );
  const t = await GrpcTransport.listen({ id: 1, address: LOOPBACK });
  // grpc-js logs the failed bind as an error; keep the test output clean.
  grpc.setLogVerbosity(grpc.logVerbosity.NONE);
  try {
    await assert.rejects(
      GrpcTransport.listen({ id: 2, address: t.address }),
      (e: Error) => e.message.startsWith(`Cannot listen on ${t.address} as binding failed`),
    );
  } finally {
    grpc.setLogVerbosity(grpc.logVerbosity.ERROR);
    await t.close();
  }
});

Deno.test("GrpcTransport.close is idempotent and stops sending", async () => {
  const ts = await cluster(2);
  try {
    const [one] = ts as [GrpcTransport, GrpcTransport];
    const box = inbox(one);
    const closing = one.close();
    assert.equal(one.close(), closing);
    await closing;
    assert.equal(one.closed, true);
    one.send([app(1, 2, 1)]);
    await sleep(20); // a flush would run in a later microtask
    assert.deepEqual(box.unreachable, []);
    assert.equal(one.stats().batches, 0);
    assert.equal(one.stats().streams, 0);
    await assert.rejects(one.announce("127.0.0.1:1", { id: 1, peerAddr: "", clientAddr: "" }));
  } finally {
    await closeAll(ts);
  }
});

Deno.test("GrpcTransport refuses a peer of another cluster; both sides log it once per interval, naming it", async () => {
  const lines1: string[] = [];
  const lines2: string[] = [];
  const one = await GrpcTransport.listen({
    id: 1,
    address: LOOPBACK,
    clusterId: "aaa",
    errorLogger: (l) => lines1.push(l),
    errorEveryMs: 60_000,
  });
  const two = await GrpcTransport.listen({
    id: 2,
    address: LOOPBACK,
    clusterId: "bbb",
    errorLogger: (l) => lines2.push(l),
    errorEveryMs: 60_000,
  });
  try {
    one.setPeer(2, two.address);
    const box1 = inbox(one);
    const box2 = inbox(two);
    const end = Date.now() + 1_500; // past the 1 s hold: a second refusal, not logged again
    for (let i = 0; Date.now() < end; i++) {
      one.send([app(1, 2, i)]);
      await sleep(50);
    }
    await until(() => lines1.length > 0 && lines2.length > 0, "both sides to log the refusal");
    assert.equal(box2.got.length, 0);
    assert.equal(two.stats().received, 0);
    assert.ok(box1.unreachable.includes(2));
    assert.ok(one.stats().failedStreams >= 2, `${one.stats().failedStreams} refused streams`);
    assert.deepEqual(lines2, [
      `refused raft messages from node 1 at ${one.address}: it belongs to cluster aaa, this node (id 2) to cluster bbb`,
    ]);
    assert.equal(lines1.length, 1);
    assert.match(
      lines1[0]!,
      new RegExp(
        `^node 2 at ${two.address} refused raft messages from this node \\(id 1, cluster aaa\\)`,
      ),
    );
    assert.equal(one.peerHealth(2).failure?.kind, "other-cluster");
    assert.equal(one.peerHealth(2).acceptedAt, 0, "a refused stream never counts as accepted");
    const req: AnnounceRequest = { id: 1, peerAddr: one.address, clientAddr: "127.0.0.1:1" };
    two.onAnnounce = () => Promise.resolve({ ok: true, leader: 2 });
    await assert.rejects(
      one.announce(two.address, req),
      (e: Error) =>
        (e.cause as grpc.ServiceError).code === grpc.status.FAILED_PRECONDITION &&
        /belongs to cluster aaa/.test(e.message),
    );
  } finally {
    await closeAll([one, two]);
  }
});

Deno.test("GrpcTransport refuses calls as not ready, without an error, until it learns its cluster", async () => {
  const errors: string[] = [];
  const one = await GrpcTransport.listen({
    id: 1,
    address: LOOPBACK,
    clusterId: "c1",
    errorLogger: (l) => errors.push(l),
  });
  const two = await GrpcTransport.listen({
    id: 2,
    address: LOOPBACK,
    clusterId: null,
    errorLogger: (l) => errors.push(l),
  });
  try {
    one.setPeer(2, two.address);
    inbox(one);
    const box2 = inbox(two);
    one.send([app(1, 2, 1)]);
    await until(() => one.peerHealth(2).failure !== undefined, "the refusal");
    assert.equal(one.peerHealth(2).failure?.kind, "not-ready");
    assert.equal(box2.got.length, 0);
    assert.equal(two.clusterId, null);
    two.setClusterId("c1");
    await until(
      () => {
        one.send([app(1, 2, 2)]);
        return box2.got.length > 0;
      },
      "a message once the cluster id is known",
      10_000,
    );
    // The sender learns of the acceptance from the stream's headers, a moment later.
    await until(
      () => one.peerHealth(2).acceptedAt > one.peerHealth(2).failure!.at,
      "the stream accepted after the refusal",
    );
    assert.deepEqual(errors, []);
  } finally {
    await closeAll([one, two]);
  }
});

Deno.test("GrpcTransport.identify answers who is there, whatever the caller's cluster", async () => {
  const one = await GrpcTransport.listen({ id: 1, address: LOOPBACK, clusterId: "mine" });
  const two = await GrpcTransport.listen({ id: 2, address: LOOPBACK, clusterId: "theirs" });
  const three = await GrpcTransport.listen({ id: 3, address: LOOPBACK, clusterId: null });
  try {
    two.leaderHint = 7;
    two.termOf = () => 5;
    assert.deepEqual(await one.identify(two.address), {
      id: 2,
      clusterId: "theirs",
      leader: 7,
      term: 5,
    });
    assert.deepEqual(await one.identify(three.address), {
      id: 3,
      clusterId: "",
      leader: 0,
      term: 0,
    });
    await assert.rejects(one.identify("127.0.0.1:1", { timeoutMs: 2_000 }), /Cannot identify/);
  } finally {
    await closeAll([one, two, three]);
  }
});

Deno.test("GrpcTransport.peerHealth records accepted streams, batches heard and failures by kind", async () => {
  const ts = await cluster(2);
  try {
    const [one, two] = ts as [GrpcTransport, GrpcTransport];
    inbox(one);
    const box2 = inbox(two);
    assert.deepEqual(one.peerHealth(9), {
      id: 9,
      address: undefined,
      acceptedAt: 0,
      waitingSince: 0,
      heardAt: 0,
      failure: undefined,
    });
    one.send([app(1, 2, 1)]);
    await until(() => box2.got.length === 1 && one.peerHealth(2).acceptedAt > 0, "accepted");
    assert.equal(one.peerHealth(2).waitingSince, 0, "an accepted stream waits for nothing");
    assert.equal(two.peerHealth(1).heardAt > 0, true);
    assert.equal(one.peerHealth(2).heardAt, 0);
    one.setPeer(3, "127.0.0.1:1"); // nothing listens there
    one.send([app(1, 3, 1)]);
    await until(() => one.peerHealth(3).failure !== undefined, "the failure", 10_000);
    assert.equal(one.peerHealth(3).failure?.kind, "refused");
    assert.equal(one.peerHealth(3).address, "127.0.0.1:1");
  } finally {
    await closeAll(ts);
  }
});
