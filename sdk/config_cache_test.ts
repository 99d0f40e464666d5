import assert from "node:assert/strict";
import { memoryCache } from "./cache_store.ts";
import { cacheName, ConfigCache } from "./config_cache.ts";
import type { ElementJson } from "./element.ts";

const ID = { app: "shop", env: "prod", clientId: "c-1", labels: { zone: "a" } };

function el(key: string, version: number, revision = version * 10): ElementJson {
  return {
    key,
    version,
    contentType: "json",
    raw: `{"v":${version}}`,
    fingerprint: `fp-${key}-${version}`,
    revision,
    gray: false,
  };
}

Deno.test("ConfigCache keeps the newest known version per key and reloads it from its store", async () => {
  const store = memoryCache();
  const errors: Error[] = [];
  const a = new ConfigCache(store, ID, (e) => errors.push(e));
  await a.load();
  a.update([["x", el("x", 1)], ["y", undefined]], 10);
  a.update([["x", el("x", 2)]], 20);
  a.update([["x", el("x", 1)]], 15); // an older answer: ignored
  await a.flush();
  assert.equal(store.texts.size, 1);
  const b = new ConfigCache(store, ID, (e) => errors.push(e));
  await b.load();
  assert.equal(b.get("x")?.element?.version, 2);
  assert.equal(b.get("x")?.asOf, 20);
  assert.deepEqual(b.get("y"), { element: undefined, asOf: 10 });
  assert.ok(b.knowsAll(["x", "y"]));
  assert.ok(!b.knowsAll(["x", "z"]));
  assert.equal(b.revision, 20);
  assert.deepEqual(errors, []);
});

Deno.test("ConfigCache coalesces saves: a burst of 100 updates costs at most two writes", async () => {
  let writes = 0;
  const inner = memoryCache();
  const store = {
    ...inner,
    save: async (n: string, t: string) => {
      writes++;
      await new Promise((r) => setTimeout(r, 5));
      await inner.save(n, t);
    },
  };
  const c = new ConfigCache(store, ID, () => {});
  for (let i = 1; i <= 100; i++) c.update([["x", el("x", i)]], i);
  await c.flush();
  assert.ok(writes <= 2, `${writes} writes`);
  const saved = JSON.parse(inner.texts.get(cacheName(ID))!);
  assert.equal(saved.entries.x.element.version, 100, "the last write holds the newest state");
});

Deno.test("ConfigCache names snapshots by app, env and identity, and ignores one of another app or a broken one", async () => {
  assert.notEqual(cacheName(ID), cacheName({ ...ID, clientId: "c-2" }));
  assert.notEqual(cacheName(ID), cacheName({ ...ID, labels: { zone: "b" } }));
  assert.equal(
    cacheName({ ...ID, labels: { a: "1", b: "2" } }),
    cacheName({ ...ID, labels: { b: "2", a: "1" } }),
    "label order does not matter",
  );
  const store = memoryCache();
  for (
    const [text, why] of [
      ["{not json", /Cannot use the config cache/],
      [JSON.stringify({ format: 1, app: "other", env: "prod", entries: {} }), /of shop\/prod/],
      [
        JSON.stringify({
          format: 1,
          app: "shop",
          env: "prod",
          entries: { x: { element: { ...el("x", 1), version: "one" }, asOf: 1 } },
        }),
        /version is malformed/,
      ],
    ] as const
  ) {
    store.texts.set(cacheName(ID), text);
    const errors: Error[] = [];
    const c = new ConfigCache(store, ID, (e) => errors.push(e));
    await c.load();
    assert.equal(c.get("x"), undefined);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, why);
  }
});
