import assert from "node:assert/strict";
import { rawFingerprint } from "../shared/config/mod.ts";
import { instanceKey } from "../shared/config/mod.ts";
import { jsonOf, TestEnv } from "./_test_env.ts";

const E = "/v1/apps/shop/envs/prod";

Deno.test("elements: versions, missing keys and the agent's revision", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "timeout", {
      version: 3,
      raw: '{"ms": 30}',
      contentType: "json",
    });
    const rev = await t.pub.publish("shop", "prod", "name", { version: 1, raw: "cassem" });
    const a = await t.agent();
    const r = await a.request(`${E}/elements?keys=timeout,nope,name`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("x-cassem-revision"), String(rev));
    assert.equal(r.headers.get("x-cassem-stale"), null);
    const body = await r.json();
    assert.deepEqual(body, {
      elements: [
        {
          key: "timeout",
          version: 3,
          contentType: "json",
          raw: '{"ms": 30}',
          fingerprint: await rawFingerprint('{"ms": 30}'),
          revision: rev - 1,
          gray: false,
        },
        {
          key: "name",
          version: 1,
          contentType: "plaintext",
          raw: "cassem",
          fingerprint: await rawFingerprint("cassem"),
          revision: rev,
          gray: false,
        },
      ],
      missing: ["nope"],
      revision: rev,
    });
  } finally {
    await t.close();
  }
});

Deno.test("raw: the body with its MIME type and ETag; If-None-Match answers 304", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "cfg", { version: 2, raw: "a: 1\n", contentType: "yaml" });
    await t.pub.publish("shop", "prod", "txt", { version: 1, raw: "héllo" });
    const a = await t.agent();
    const r = await a.request(`${E}/elements/cfg/raw`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/yaml");
    const etag = `"${await rawFingerprint("a: 1\n")}"`;
    assert.equal(r.headers.get("etag"), etag);
    assert.equal(r.headers.get("x-cassem-version"), "2");
    assert.equal(await r.text(), "a: 1\n");
    const txt = await a.request(`${E}/elements/txt/raw`);
    assert.equal(txt.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await txt.text(), "héllo");
    for (const inm of [etag, `W/${etag}`, `"x", ${etag}`, "*"]) {
      const n = await a.request(`${E}/elements/cfg/raw`, { headers: { "if-none-match": inm } });
      assert.equal(n.status, 304, inm);
      assert.equal(n.headers.get("etag"), etag);
      assert.equal(await n.text(), "");
    }
    const other = await a.request(`${E}/elements/cfg/raw`, {
      headers: { "if-none-match": '"0000"' },
    });
    assert.equal(other.status, 200);
    await other.body?.cancel();
    const missing = await jsonOf(await a.request(`${E}/elements/nope/raw`));
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, {
      error: {
        code: "NOT_FOUND",
        message: 'Cannot find element of shop/prod "nope": it is not served',
        field: "key",
      },
    });
  } finally {
    await t.close();
  }
});

Deno.test("SSE: the initial state, ready, then each publish in the same turn with id = revision", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    const r1 = await t.pub.publish("shop", "prod", "a", { version: 1, raw: "A1" });
    const a = await t.agent();
    const s = await t.watch(a, `${E}/watch?keys=a,b`, { "x-cassem-client-id": "c1" });
    const first = await s.next();
    assert.equal(first?.event, "message");
    assert.deepEqual(JSON.parse(first!.data), {
      key: "a",
      version: 1,
      contentType: "plaintext",
      raw: "A1",
      fingerprint: await rawFingerprint("A1"),
      revision: r1,
      gray: false,
    });
    const miss = await s.next();
    assert.equal(miss?.event, "missing");
    assert.deepEqual(JSON.parse(miss!.data), { key: "b", revision: r1 });
    const ready = await s.next();
    assert.equal(ready?.event, "ready");
    assert.deepEqual(JSON.parse(ready!.data), { revision: r1, full: false });
    assert.equal(s.lastEventId, String(r1));

    const r2 = await t.pub.publish("shop", "prod", "b", { version: 1, raw: "B1" });
    const ev = await s.next();
    assert.deepEqual(JSON.parse(ev!.data).raw, "B1");
    assert.equal(ev!.lastEventId, String(r2));
    // A publish of a key it does not watch pushes nothing.
    await t.pub.publish("shop", "prod", "c", { version: 1, raw: "C1" });
    const r4 = await t.pub.remove("shop", "prod", "a");
    const gone = await s.next();
    assert.equal(gone?.event, "missing");
    assert.deepEqual(JSON.parse(gone!.data), { key: "a", revision: r4 });
    assert.equal(gone!.lastEventId, String(r4));
  } finally {
    await t.close();
  }
});

Deno.test("SSE resume with Last-Event-ID, on the same agent or another: only what changed after it", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    for (const k of ["a", "b", "c"]) {
      await t.pub.publish("shop", "prod", k, { version: 1, raw: `${k}1` });
    }
    const a1 = await t.agent();
    const a2 = await t.agent();
    const s = await t.watch(a1, `${E}/watch?keys=a,b,c`);
    for (let i = 0; i < 4; i++) await s.next();
    const last = s.lastEventId;
    await s.cancel();
    // While away: b changes, c goes, d (not watched) appears.
    await t.pub.publish("shop", "prod", "b", { version: 2, raw: "b2" });
    await t.pub.remove("shop", "prod", "c");
    await t.pub.publish("shop", "prod", "d", { version: 1, raw: "d1" });
    for (const agent of [a1, a2]) {
      const r = await t.watch(agent, `${E}/watch?keys=a,b,c`, { "last-event-id": last });
      const got = [];
      for (;;) {
        const ev = await r.next();
        assert.ok(ev, "stream ended early");
        got.push(ev.event === "message" ? JSON.parse(ev.data).raw : `${ev.event}:${ev.data}`);
        if (ev.event === "ready") break;
      }
      assert.equal(got.length, 3, JSON.stringify(got));
      assert.equal(got[0], "b2");
      assert.match(got[1], /^missing:\{"key":"c"/);
      assert.match(got[2], /^ready:\{"revision":\d+,"full":false\}$/);
      await r.cancel();
    }
  } finally {
    await t.close();
  }
});

Deno.test("long poll: at once when a fingerprint differs, else at the next change, else empty at the timeout", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 1, raw: "A1" });
    const a = await t.agent();
    const fp = await rawFingerprint("A1");
    const poll = async (held: Record<string, string | null>, timeoutMs: number) =>
      jsonOf(
        await a.request(`${E}/poll`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ held, timeoutMs }),
        }),
      );

    const now = await poll({ a: null, b: "ff" }, 5_000);
    assert.equal(now.status, 200);
    assert.deepEqual((now.body.elements as { raw: string }[]).map((e) => e.raw), ["A1"]);
    assert.deepEqual(now.body.missing, ["b"]);

    const empty = await poll({ a: fp }, 50);
    assert.deepEqual([empty.body.elements, empty.body.missing], [[], []]);

    const waiting = poll({ a: fp, b: null }, 10_000);
    await new Promise((r) => setTimeout(r, 30));
    await t.pub.publish("shop", "prod", "a", { version: 2, raw: "A2" });
    const changed = await waiting;
    assert.deepEqual((changed.body.elements as { raw: string }[]).map((e) => e.raw), ["A2"]);
  } finally {
    await t.close();
  }
});

Deno.test("instances: register, renew with and without a body, unregister; the record has a TTL", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    const a = await t.agent({ instanceTtlSeconds: 10 });
    const headers = {
      "content-type": "application/json",
      "x-cassem-client-id": "web-1",
      "x-cassem-labels": "region=eu",
    };
    const report = {
      watching: [{ app: "shop", env: "prod", keys: ["a"] }],
      running: [{
        app: "shop",
        env: "prod",
        key: "a",
        version: 1,
        fingerprint: "0".repeat(64),
        gray: false,
      }],
    };
    const reg = await jsonOf(
      await a.request("/v1/instances", {
        method: "POST",
        headers,
        body: JSON.stringify(report),
      }),
    );
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.equal(reg.body.ttlSeconds, 10);
    assert.equal(reg.body.renewAfterSeconds, 3);
    const stored = await t.db.get(instanceKey("web-1"));
    const rec = JSON.parse(new TextDecoder().decode(stored.entity!.val));
    assert.deepEqual(rec.labels, { region: "eu" });
    assert.equal(rec.agentId, "agent-1");
    assert.deepEqual(rec.watching, report.watching);
    assert.equal(stored.entity!.ttl, 10);

    t.now += 8_000;
    const renew = await a.request("/v1/instances/web-1", { method: "PUT", headers });
    assert.equal(renew.status, 200, await renew.clone().text());
    t.now += 8_000; // 16 s after registering, 8 s after the renewal
    await t.db.expireDue();
    assert.ok((await t.db.get(instanceKey("web-1"))).entity, "renewed: still there");

    const del = await jsonOf(
      await a.request("/v1/instances/web-1", { method: "DELETE", headers }),
    );
    assert.deepEqual(del.body, { removed: true });
    const again = await jsonOf(
      await a.request("/v1/instances/web-1", { method: "PUT", headers }),
    );
    assert.equal(again.status, 404);
    assert.equal((again.body.error as { field: string }).field, "clientId");
  } finally {
    await t.close();
  }
});

Deno.test("a streaming client's record: written while its stream is open, kept when it moved to another agent, removed when it closes", async () => {
  const t = new TestEnv();
  const recordOf = async () => {
    const { entity } = await t.db.get(instanceKey("mover"));
    return entity ? JSON.parse(new TextDecoder().decode(entity.val)) : undefined;
  };
  const until = async <T>(probe: () => Promise<T | undefined>): Promise<T> => {
    for (let i = 0; i < 500; i++) {
      const v = await probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("Cannot see the record change within 5 s");
  };
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 4, raw: "A4" });
    const a1 = await t.agent();
    const a2 = await t.agent();
    const s1 = await t.watch(a1, `${E}/watch?keys=a`, { "x-cassem-client-id": "mover" });
    const first = await until(async () =>
      (await recordOf())?.agentId === "agent-1" ? await recordOf() : undefined
    );
    assert.deepEqual(
      first.running.map((r: { key: string; version: number }) => [r.key, r.version]),
      [["a", 4]],
    );
    const s2 = await t.watch(a2, `${E}/watch?keys=a`, { "x-cassem-client-id": "mover" });
    await until(async () => (await recordOf())?.agentId === "agent-2" || undefined);
    await s1.cancel(); // agent-1 sees its stream close after the client moved
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await recordOf())?.agentId, "agent-2", "agent-1 did not remove agent-2's record");
    await s2.cancel();
    await until(async () => (await recordOf()) === undefined || undefined);
  } finally {
    await t.close();
  }
});

Deno.test("a body from 512 bytes is cached deflated and answered exactly, also after a publish", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    const big = (n: number) =>
      JSON.stringify(
        Array.from(
          { length: n },
          (_, i) => ({ host: `10.0.0.${i % 250}`, port: 8000 + i, név: "✓" }),
        ),
        null,
        2,
      );
    const v1 = big(40);
    await t.pub.publish("shop", "prod", "cfg", { version: 1, raw: v1, contentType: "json" });
    await t.pub.publish("shop", "prod", "small", { version: 1, raw: "x".repeat(100) });
    // No prepared answers kept: every cached read inflates its body from the store.
    const a = await t.agent({ preparedEntries: 1 });
    const read = async (key: string) => {
      const r = await a.request(`${E}/elements/${key}/raw`);
      assert.equal(r.status, 200);
      return await r.text();
    };
    for (let i = 0; i < 4; i++) {
      assert.equal(await read("cfg"), v1);
      assert.equal(await read("small"), "x".repeat(100));
    }
    const st = (await jsonOf(await a.request("/v1/status"))).body as Record<string, number>;
    assert.equal(st.entries, 2, "both bodies are cached");
    assert.equal(st.storeDeflated, 1, "the big one is deflated, the small one is not");
    const utf8 = (s: string) => new TextEncoder().encode(s).length;
    assert.equal(st.storeTextBytes, utf8(v1) + 100);
    // A new version replaces the cached body; the answer is the new text, exactly.
    const v2 = big(41);
    const rev = await t.pub.publish("shop", "prod", "cfg", {
      version: 2,
      raw: v2,
      contentType: "json",
    });
    for (let i = 0; i < 200 && a.core.state.revision < rev; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    for (let i = 0; i < 3; i++) assert.equal(await read("cfg"), v2);
    const r = await a.request(`${E}/elements?keys=cfg`);
    assert.equal((await r.json()).elements[0].raw, v2);
    // Replaced in the cache by the watch, deflated again: no read missed it.
    const st2 = (await jsonOf(await a.request("/v1/status"))).body as Record<string, number>;
    assert.equal(st2.misses, st.misses, "the new version was cached when it arrived");
    assert.equal(st2.storeDeflated, 1);
    assert.equal(st2.storeTextBytes, utf8(v2) + 100);
  } finally {
    await t.close();
  }
});
