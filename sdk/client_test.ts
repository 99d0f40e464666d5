import assert from "node:assert/strict";
import { instanceKey } from "../shared/config/mod.ts";
import { TestEnv } from "../agent/_test_env.ts";
import { deadUrl, serve, serveAgent, stubAgent, type TestServer, until } from "./_testing.ts";
import { createClient } from "./client.ts";
import { memoryCache } from "./cache_store.ts";
import { AgentAnswerError, type CassemError, ContentError, UnavailableError } from "./errors.ts";
import type { WatchUpdate } from "./watch.ts";

/** A TestEnv with `shop/prod` served, plus HTTP servers to close. */
async function world(secret?: string) {
  const t = new TestEnv();
  await t.pub.appEnv("shop", "prod", secret);
  const servers: TestServer[] = [];
  return {
    t,
    async agent(): Promise<TestServer> {
      const s = serveAgent(await t.agent());
      servers.push(s);
      return s;
    },
    async close() {
      await t.close(); // ends every stream first
      for (const s of servers) await s.close();
    },
  };
}

const FAST = { initialMs: 20, maxMs: 200 };

Deno.test("get parses every content type the way cassem does, and a caller's parser types it", async () => {
  const w = await world();
  try {
    const p = w.t.pub;
    await p.publish("shop", "prod", "j", {
      version: 1,
      raw: '{"ms": 30, "on": true}',
      contentType: "json",
    });
    await p.publish("shop", "prod", "y", {
      version: 2,
      raw: "a:\n  - 1\n  - two\n",
      contentType: "yaml",
    });
    await p.publish("shop", "prod", "t", {
      version: 3,
      raw: 'name = "x"\n[db]\nport = 5432\n',
      contentType: "toml",
    });
    await p.publish("shop", "prod", "i", {
      version: 4,
      raw: "[db]\nhost = h\n",
      contentType: "ini",
    });
    await p.publish("shop", "prod", "p", {
      version: 5,
      raw: "a.b = c\\u0041\nk:v\n",
      contentType: "properties",
    });
    await p.publish("shop", "prod", "x", { version: 6, raw: "hello" });
    const a = await w.agent();
    const c = createClient({ agents: [a.url], app: "shop", env: "prod", onError: () => {} });
    try {
      const j = await c.get<{ ms: number }>("j");
      assert.deepEqual([j.version, j.contentType, j.value, j.stale], [1, "json", {
        ms: 30,
        on: true,
      }, false]);
      assert.deepEqual((await c.get("y")).value, { a: [1, "two"] });
      // TOML, INI and properties build prototype-less objects: compare their JSON.
      const plain = (v: unknown) => JSON.parse(JSON.stringify(v));
      assert.deepEqual(plain((await c.get("t")).value), { name: "x", db: { port: 5432 } });
      assert.deepEqual(plain((await c.get("i")).value), { db: { host: "h" } });
      assert.deepEqual(plain((await c.get("p")).value), { "a.b": "cA", k: "v" });
      assert.equal((await c.get("x")).value, "hello");
      const typed = await c.get("j", {
        parse: (v) => {
          const o = v as { ms: unknown };
          if (typeof o.ms !== "number") throw new TypeError("ms must be a number");
          return { timeoutMs: o.ms };
        },
      });
      assert.deepEqual(typed.value, { timeoutMs: 30 });
      await assert.rejects(
        () =>
          c.get("y", {
            parse: () => {
              throw new TypeError("not a timeout");
            },
          }),
        (e) =>
          e instanceof ContentError &&
          /version 2 of y as the parser refused it: not a timeout/.test(e.message),
      );
      const many = await c.getMany(["j", "nope", "x"]);
      assert.deepEqual(many.elements.map((e) => e.key), ["j", "x"]);
      assert.deepEqual(many.missing, ["nope"]);
      assert.equal(many.agent, a.url);
      await assert.rejects(() => c.get("nope"), (e) => (e as CassemError).code === "NOT_FOUND");
      await assert.rejects(() => c.getMany([]), /keys must be 1 to 100 non-empty keys/);
    } finally {
      await c.close();
    }
  } finally {
    await w.close();
  }
});

Deno.test("get fails over past agents that are down, and sends the highest revision it has seen", async () => {
  const w = await world();
  try {
    const rev = await w.t.pub.publish("shop", "prod", "k", { version: 1, raw: "v1" });
    const a = await w.agent();
    const dead = deadUrl();
    const c = createClient({ agents: [dead, a.url], app: "shop", env: "prod", onError: () => {} });
    try {
      const got = await c.get("k");
      assert.equal(got.raw, "v1");
      assert.equal(c.revision, rev);
      assert.equal(
        a.requests.at(-1)!.headers.get("x-cassem-min-revision"),
        null,
        "nothing seen yet",
      );
      await c.get("k");
      assert.equal(
        a.requests.at(-1)!.headers.get("x-cassem-min-revision"),
        String(rev),
        "the revision it saw (the agent reached it: its fast path answers)",
      );
      const onlyDead = createClient({
        agents: [dead],
        app: "shop",
        env: "prod",
        requestTimeoutMs: 2_000,
      });
      await assert.rejects(
        () => onlyDead.get("k"),
        (e) => e instanceof UnavailableError && e.message.includes(dead) && e.attempts.length === 1,
      );
      await onlyDead.close();
    } finally {
      await c.close();
    }
  } finally {
    await w.close();
  }
});

Deno.test("a missing or wrong secret is terminal: get rejects, a watch stops, onError hears it, ready rejects", async () => {
  const w = await world("s3cret");
  try {
    await w.t.pub.publish("shop", "prod", "k", { version: 1, raw: "v1" });
    const a = await w.agent();
    for (
      const [secret, code] of [[undefined, "UNAUTHENTICATED"], [
        "nope",
        "PERMISSION_DENIED",
      ]] as const
    ) {
      const c = createClient({ agents: [a.url], app: "shop", env: "prod", secret, backoff: FAST });
      await assert.rejects(
        () => c.get("k"),
        (e) => e instanceof AgentAnswerError && e.code === code && e.terminal,
      );
      const errors: CassemError[] = [];
      const h = c.watch(["k"], () => assert.fail("no update"), { onError: (e) => errors.push(e) });
      await assert.rejects(h.ready, (e) => (e as CassemError).code === code);
      await h.done;
      assert.deepEqual(errors.map((e) => [e.code, e.terminal]), [[code, true]]);
      await c.close();
    }
    const ok = createClient({ agents: [a.url], app: "shop", env: "prod", secret: "s3cret" });
    assert.equal((await ok.get("k")).raw, "v1");
    await ok.close();
  } finally {
    await w.close();
  }
});

Deno.test("watch delivers the initial state, then each revision once, and resumes on another agent when one stops", async () => {
  const w = await world();
  try {
    const p = w.t.pub;
    await p.publish("shop", "prod", "a", { version: 1, raw: '{"n":1}', contentType: "json" });
    const a1 = await w.agent();
    const a2 = await w.agent();
    const c = createClient({
      agents: [a1.url, a2.url],
      app: "shop",
      env: "prod",
      clientId: "w-1",
      backoff: FAST,
    });
    const updates: WatchUpdate<{ n: number }>[] = [];
    const h = c.watch<{ n: number }>(["a", "b"], (u) => updates.push(u));
    await h.ready;
    assert.equal(updates.length, 1);
    assert.deepEqual(
      [
        updates[0]!.initial,
        updates[0]!.stale,
        updates[0]!.changed.map((e) => e.value),
        updates[0]!.removed,
      ],
      [true, false, [{ n: 1 }], ["b"]],
    );
    const r2 = await p.publish("shop", "prod", "b", {
      version: 1,
      raw: '{"n":10}',
      contentType: "json",
    });
    const r3 = await p.publish("shop", "prod", "a", {
      version: 2,
      raw: '{"n":2}',
      contentType: "json",
    });
    await until("two more updates", () => updates.length === 3);
    assert.deepEqual(
      updates.slice(1).map((u) => [u.revision, u.changed.map((e) => `${e.key}${e.version}`)]),
      [
        [r2, ["b1"]],
        [r3, ["a2"]],
      ],
    );
    assert.equal(h.agent, a1.url);
    // The first agent stops: its stream ends with `close`; the watch resumes on the second.
    await w.t.agents[0]!.close();
    await until("the watch on the second agent", () => h.agent === a2.url);
    const resumeHeader = a2.requests.findLast((r) => r.url.includes("/watch"))!.headers.get(
      "last-event-id",
    );
    assert.equal(resumeHeader, String(r3));
    const r4 = await p.publish("shop", "prod", "a", {
      version: 3,
      raw: '{"n":3}',
      contentType: "json",
    });
    const r5 = await p.remove("shop", "prod", "b");
    await until("two more updates", () => updates.length === 5);
    assert.deepEqual(
      updates.slice(3).map((u) => [
        u.revision,
        u.changed.map((e) => `${e.key}${e.version}`),
        u.removed,
      ]),
      [
        [r4, ["a3"], []],
        [r5, [], ["b"]],
      ],
    );
    assert.deepEqual(h.current("a")?.value, { n: 3 });
    assert.equal(h.current("b"), undefined);
    h.close();
    await h.done;
    await c.close();
  } finally {
    await w.close();
  }
});

/** SSE frames of an element. */
function el(key: string, version: number, id?: number): string {
  const json = JSON.stringify({
    key,
    version,
    contentType: "plaintext",
    raw: `${key}${version}`,
    fingerprint: `fp-${key}-${version}`,
    revision: id ?? 1,
    gray: false,
  });
  return `${id !== undefined ? `id: ${id}\n` : ""}data: ${json}\n\n`;
}
const ready = (rev: number) =>
  `id: ${rev}\nevent: ready\ndata: {"revision":${rev},"full":false}\n\n`;

Deno.test("a revision cut short is dropped and resumed from the last id; repeats of held versions are dropped", async () => {
  const seenIds: (string | null)[] = [];
  const stub = stubAgent((req, s, n) => {
    seenIds.push(req.headers.get("last-event-id"));
    if (n === 1) {
      s.write(el("a", 1) + el("b", 1, 5) + ready(5));
      // Revision 6 changes a and b: the stream breaks after a's event (no id yet).
      s.write(el("a", 2));
      setTimeout(() => s.close(), 50);
    } else {
      // The resume from 5: what changed since (revision 6), then ready at 7.
      s.write(el("a", 2) + el("b", 2, 7) + ready(7));
      // A repeat of a version the client holds (e.g. a full resume), then a real change.
      s.write(el("a", 2, 8));
      s.write(el("a", 3) + el("b", 3, 9));
    }
  });
  const c = createClient({
    agents: [stub.url],
    app: "shop",
    env: "prod",
    backoff: FAST,
    onError: () => {},
  });
  const updates: WatchUpdate[] = [];
  const h = c.watch(["a", "b"], (u) => updates.push(u));
  try {
    await until("revision 9", () => h.revision === 9);
    assert.deepEqual(seenIds, [null, "5"]);
    assert.deepEqual(
      updates.map((u) => [u.revision, u.changed.map((e) => `${e.key}${e.version}`)]),
      [[5, ["a1", "b1"]], [7, ["a2", "b2"]], [9, ["a3", "b3"]]],
      "a2 is delivered once (not when cut, not when repeated at 8), each revision whole",
    );
  } finally {
    h.close();
    await c.close();
    await stub.close();
  }
});

Deno.test("a stream silent for heartbeatTimeoutMs is left for the next agent; an agent behind the client's revision is skipped", async () => {
  let stalls = 0;
  const stalled = stubAgent((_req, s) => {
    stalls++;
    s.write(el("a", 1, 5) + ready(5)); // then nothing, not even a heartbeat
  });
  const behind = stubAgent((_req, s) => s.write(el("a", 1, 3) + ready(3)));
  const good = stubAgent((req, s) => {
    const from = req.headers.get("last-event-id");
    assert.equal(from, "5");
    s.write(el("a", 2, 8) + ready(8));
    const beat = setInterval(() => s.write(": heartbeat 8\n\n"), 100);
    setTimeout(() => clearInterval(beat), 3_000);
  });
  const c = createClient({
    agents: [stalled.url, behind.url, good.url],
    app: "shop",
    env: "prod",
    heartbeatTimeoutMs: 400,
    backoff: FAST,
    onError: () => {},
  });
  const updates: WatchUpdate[] = [];
  const h = c.watch(["a"], (u) => updates.push(u));
  try {
    await until("the watch on the good agent", () => h.agent === good.url && updates.length === 2);
    assert.equal(stalls, 1);
    assert.deepEqual(updates.map((u) => [u.revision, u.changed.map((e) => e.version)]), [[5, [1]], [
      8,
      [2],
    ]]);
    assert.equal(behind.requests.length, 1, "the agent behind was tried once");
    assert.equal(good.requests[0]!.headers.get("last-event-id"), "5");
    // Heartbeats keep the good stream open past the timeout.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(h.agent, good.url);
    assert.equal(good.requests.length, 1);
  } finally {
    h.close();
    await c.close();
    for (const s of [stalled, behind, good]) await s.close();
  }
});

Deno.test("with every agent down a new client starts from the cache (stale), then catches up when one answers", async () => {
  const w = await world();
  try {
    const p = w.t.pub;
    await p.publish("shop", "prod", "a", { version: 1, raw: "a1" });
    const a = await w.agent();
    const store = memoryCache();
    const first = createClient({ agents: [a.url], app: "shop", env: "prod", cache: store });
    const h1 = first.watch(["a", "b"], () => {});
    await h1.ready;
    await first.close();
    assert.equal(store.texts.size, 1);

    // A proxy that is down until told otherwise.
    let down = true;
    const gate = serveGate(a.url, () => down);
    const errors: CassemError[] = [];
    const second = createClient({
      agents: [gate.url],
      app: "shop",
      env: "prod",
      cache: store,
      backoff: FAST,
      onError: (e) => errors.push(e),
    });
    const got = await second.get("a");
    assert.deepEqual([got.raw, got.stale], ["a1", true]);
    const updates: WatchUpdate[] = [];
    const h2 = second.watch(["a", "b"], (u) => updates.push(u));
    await h2.ready;
    assert.deepEqual(
      [
        updates[0]!.initial,
        updates[0]!.stale,
        updates[0]!.changed.map((e) => e.raw),
        updates[0]!.removed,
      ],
      [true, true, ["a1"], ["b"]],
    );
    assert.ok(h2.stale);
    assert.ok(errors.some((e) => e.code === "UNAVAILABLE"));
    const rev = await p.publish("shop", "prod", "b", { version: 1, raw: "b1" });
    down = false;
    await until("the live update", () => updates.length === 2);
    assert.deepEqual(
      [
        updates[1]!.initial,
        updates[1]!.stale,
        updates[1]!.revision,
        updates[1]!.changed.map((e) => e.raw),
      ],
      [false, false, rev, ["b1"]],
    );
    assert.ok(!h2.stale);
    await second.close();
    await gate.close();
  } finally {
    await w.close();
  }
});

/** A proxy to `target` that answers 503 while `isDown()`. */
function serveGate(target: string, isDown: () => boolean): TestServer {
  return serve(async (req) => {
    if (isDown()) {
      return new Response('{"error":{"code":"UNAVAILABLE","message":"down"}}', { status: 503 });
    }
    const u = new URL(req.url);
    return await fetch(target + u.pathname + u.search, {
      headers: req.headers,
      method: req.method,
      signal: req.signal,
    });
  });
}

Deno.test("register records the instance with what it runs, renews it every renewAfterSeconds, and close removes it", async () => {
  const w = await world();
  try {
    await w.t.pub.publish("shop", "prod", "k", { version: 7, raw: "v7" });
    const s = serveAgent(await w.t.agent({ instanceTtlSeconds: 3 }));
    const c = createClient({ agents: [s.url], app: "shop", env: "prod", clientId: "reader-1" });
    await assert.rejects(
      () => createClient({ agents: [s.url], app: "shop", env: "prod" }).register(),
      /has no clientId/,
    );
    await c.get("k");
    const answer = await c.register();
    assert.equal(answer.renewAfterSeconds, 1);
    const stored = await w.t.db.get(instanceKey("reader-1"));
    const record = JSON.parse(new TextDecoder().decode(stored.entity!.val));
    assert.deepEqual(
      record.running.map((r: { key: string; version: number }) => [r.key, r.version]),
      [["k", 7]],
    );
    await until("a renewal", () => s.requests.some((r) => r.method === "PUT"), 10_000);
    assert.ok(
      new URL(s.requests.find((r) => r.method === "PUT")!.url).pathname.endsWith("/reader-1"),
    );
    await c.close();
    assert.ok(s.requests.some((r) => r.method === "DELETE"));
    assert.equal((await w.t.db.get(instanceKey("reader-1"))).entity, undefined, "removed");
    await s.close();
  } finally {
    await w.close();
  }
});

Deno.test("a read carries the client's revision, so a lagging agent behind the same URL cannot answer older", async () => {
  const fp = "f".repeat(64);
  const answer = (revision: number, raw: string) =>
    Response.json({
      elements: [{
        key: "k",
        version: revision,
        contentType: "plaintext",
        raw,
        fingerprint: fp,
        revision,
        gray: false,
      }],
      missing: [],
      revision,
    });
  // Behind one URL: an agent at revision 10, and a lagging one at 7 that answers requests without
  // the header (with it, it would wait for revision 10 or refuse, as an agent does).
  let lagging = false;
  const lb = serve((req) => {
    const min = req.headers.get("x-cassem-min-revision");
    return lagging && min === null ? answer(7, "old") : answer(10, "new");
  });
  const c = createClient({ agents: [lb.url], app: "shop", env: "prod", onError: () => {} });
  try {
    assert.equal((await c.get("k")).revision, 10);
    lagging = true;
    for (let i = 0; i < 3; i++) {
      const got = await c.get("k");
      assert.deepEqual([got.revision, got.raw], [10, "new"], "never older than what it saw");
    }
    assert.deepEqual(
      lb.requests.map((r) => r.headers.get("x-cassem-min-revision")),
      [null, "10", "10", "10"],
      "every read after the first carries the revision the client saw, once",
    );
  } finally {
    await c.close();
    await lb.close();
  }
});
