import assert from "node:assert/strict";
import type { Agent } from "./app.ts";
import { TestEnv } from "./_test_env.ts";

const E = "/v1/apps/shop/envs/prod";

/** The raw text each of `clients` reads of `key` (elements and raw routes agree). */
async function rawFor(a: Agent, key: string, clients: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of clients) {
    const headers = { "x-cassem-client-id": id };
    const r = await a.request(`${E}/elements?keys=${key}`, { headers });
    assert.equal(r.status, 200);
    const body = await r.json();
    // The agent's revision now, even when nothing this URL answers changed.
    assert.equal(body.revision, a.core.state.revision, `revision read by ${id}`);
    assert.equal(r.headers.get("x-cassem-revision"), String(body.revision));
    const el = body.elements[0];
    const raw = await a.request(`${E}/elements/${key}/raw`, { headers });
    assert.equal(await raw.text(), el.raw, `raw route of ${id}`);
    assert.equal(raw.headers.get("x-cassem-version"), String(el.version));
    out.push(`${el.version}:${el.raw}:${el.gray}`);
  }
  return out;
}

/** Checks that the store holds exactly the cache's bodies. */
function assertStoreMatchesCache(a: Agent): void {
  const cache = a.core.cache.stats();
  const store = a.core.bodies.stats();
  assert.equal(store.bodies, cache.entries, "one stored body per cache entry, none leaked");
}

Deno.test("a prepared answer never outlives its version: every publish, gray change, promote and abort is read at once", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "k", { version: 1, raw: "one" });
    const a = await t.agent();
    const clients = ["c-1", "c-2"];
    // Read three times: admitted to the cache, prepared, then answered from both.
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await rawFor(a, "k", clients), ["1:one:false", "1:one:false"]);
    }
    assert.equal(a.core.cache.stats().entries, 1);
    const steps: [() => Promise<number>, string[]][] = [
      [() => t.pub.publish("shop", "prod", "k", { version: 2, raw: "two" }), [
        "2:two:false",
        "2:two:false",
      ]],
      [() =>
        t.pub.gray("shop", "prod", "k", { version: 3, raw: "three" }, {
          kind: "clients",
          clientIds: ["c-1"],
        }), ["3:three:true", "2:two:false"]],
      [() =>
        t.pub.gray("shop", "prod", "k", { version: 4, raw: "four" }, {
          kind: "clients",
          clientIds: ["c-2"],
        }), ["2:two:false", "4:four:true"]],
      [() => t.pub.promote("shop", "prod", "k"), ["4:four:false", "4:four:false"]],
      [() =>
        t.pub.gray("shop", "prod", "k", { version: 5, raw: "five" }, {
          kind: "clients",
          clientIds: ["c-1", "c-2"],
        }), ["5:five:true", "5:five:true"]],
      [() => t.pub.abort("shop", "prod", "k"), ["4:four:false", "4:four:false"]],
      // Another element changed: same versions of k, a newer revision.
      [() => t.pub.publish("shop", "prod", "other", { version: 1, raw: "x" }), [
        "4:four:false",
        "4:four:false",
      ]],
    ];
    for (const [change, want] of steps) {
      const rev = await change();
      await a.core.waitRevision(rev, "test");
      // The first read after the change, and the hot ones after it.
      for (let i = 0; i < 3; i++) assert.deepEqual(await rawFor(a, "k", clients), want);
      assertStoreMatchesCache(a);
    }
  } finally {
    await t.close();
  }
});

Deno.test("the body store holds exactly the cache's bodies through admissions, evictions, publishes and removals", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    for (let i = 0; i < 20; i++) {
      await t.pub.publish("shop", "prod", `k${i}`, { version: 1, raw: `v1-${i}`.padEnd(300, ".") });
    }
    const a = await t.agent({ cacheEntries: 8 });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) {
        const r = await a.request(`${E}/elements?keys=k${i},k${(i + 1) % 20}`);
        assert.equal(r.status, 200);
        await r.body?.cancel();
      }
      assertStoreMatchesCache(a);
    }
    assert.equal(a.core.cache.stats().entries, 8);
    assert.ok(a.core.cache.stats().evictions > 0);
    const cached = [...a.core.cache.keys()].map((v) => v.key);
    // A publish replaces a cached body in place; a removal frees it.
    const rev1 = await t.pub.publish("shop", "prod", cached[0]!, { version: 2, raw: "new" });
    const rev2 = await t.pub.remove("shop", "prod", cached[1]!);
    await a.core.waitRevision(Math.max(rev1, rev2), "test");
    assertStoreMatchesCache(a);
    assert.equal(a.core.cache.stats().entries, 7, "the removed element's body went");
    const r = await a.request(`${E}/elements?keys=${cached[0]}`);
    assert.equal((await r.json()).elements[0].raw, "new");
    assert.equal(a.core.bodies.stats().bytes >= "new".length, true);
  } finally {
    await t.close();
  }
});
