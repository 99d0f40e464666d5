import assert from "node:assert/strict";
import type {
  Entity,
  KvClient,
  ListOptions,
  ListWatchHandlers,
  Snapshot,
  WatchEvent,
} from "../shared/db/mod.ts";
import { waitFor } from "../tests/support/procs.ts";
import { TestEnv } from "./_test_env.ts";

const E = "/v1/apps/shop/envs/prod";

async function rawOf(r: Response): Promise<string[]> {
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()).elements.map((e: { raw: string }) => e.raw);
}

/** A client whose list-then-watch holds change events back until `release()`. */
function delayedWatch(db: KvClient): {
  db: KvClient;
  release(): void;
  held(): number;
  snapshot(s: Snapshot): void;
  map(e: Entity): Entity;
} {
  const queue: { h: ListWatchHandlers; ev: WatchEvent }[] = [];
  let holding = true;
  let last: ListWatchHandlers | undefined;
  let lastOptions: ListOptions | undefined;
  const wrapped = Object.create(db) as KvClient;
  wrapped.listAndWatch = (prefix, handlers, options) =>
    db.listAndWatch(prefix, {
      ...handlers,
      onSnapshot: (s) => (last = handlers).onSnapshot(s),
      onChanges: (ev) => (holding ? queue.push({ h: handlers, ev }) : handlers.onChanges(ev)),
    }, lastOptions = options);
  for (
    const m of ["get", "getMany", "range", "set", "unset", "commitTxn", "watch", "list"] as const
  ) {
    (wrapped as unknown as Record<string, unknown>)[m] = (db[m] as (...a: unknown[]) => unknown)
      .bind(db);
  }
  return {
    db: wrapped,
    release() {
      holding = false;
      for (const { h, ev } of queue.splice(0)) h.onChanges(ev);
    },
    held: () => queue.length,
    /** Delivers `s` as the list-then-watch would after re-listing. */
    snapshot: (s) => last!.onSnapshot(s),
    /** `e` as the listing's `mapEntity` returns it (as listed pages are). */
    map: (e) => lastOptions?.mapEntity?.(e) ?? e,
  };
}

Deno.test("a body read from cassemdb that is newer than the watch waits for the watch, so pushes and reads agree", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 1, raw: "A1" });
    const d = delayedWatch(t.db);
    const a = await t.agent({ db: d.db, fetchTimeoutMs: 5_000 });
    await t.pub.publish("shop", "prod", "a", { version: 2, raw: "A2" });
    assert.equal(d.held(), 1, "the watch has not delivered v2");
    // The agent's metadata says v1, cassemdb has v2: the cold read fetches v2 and waits.
    const reading = a.request(`${E}/elements?keys=a`);
    await new Promise((r) => setTimeout(r, 50));
    d.release();
    assert.deepEqual(await rawOf(await reading), ["A2"]);
  } finally {
    await t.close();
  }
});

Deno.test("once a version was pushed no read answers an older one, whether its body was cached, evicted or never read", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    for (const k of ["a", "b", "c", "d"]) {
      await t.pub.publish("shop", "prod", k, { version: 1, raw: `${k}1` });
    }
    // Room for two bodies only: reading c and d evicts a.
    const a = await t.agent({ cacheEntries: 2, cacheK: 2 });
    const w = await t.watch(a, `${E}/watch?keys=b`);
    for (let i = 0; i < 2; i++) await w.next();
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await rawOf(await a.request(`${E}/elements?keys=a`)), ["a1"]);
    }
    assert.equal(
      a.core.cache.has(a.core.state.element("shop", "prod", "a").live!),
      true,
      "a was admitted",
    );
    for (let v = 2; v <= 30; v++) {
      await t.pub.publish("shop", "prod", "a", { version: v, raw: `a${v}` });
      await t.pub.publish("shop", "prod", "b", { version: v, raw: `b${v}` });
      const pushed = JSON.parse((await w.next())!.data);
      assert.equal(pushed.raw, `b${v}`);
      // b was pushed at v: every read after it sees b at v or later, and a at v.
      const got = await rawOf(await a.request(`${E}/elements?keys=a,b`));
      assert.deepEqual(got, [`a${v}`, `b${v}`]);
      if (v % 5 === 0) {
        for (let i = 0; i < 2; i++) await a.request(`${E}/elements?keys=c,d`);
      }
    }
    assert.ok(a.core.cache.stats().evictions > 0, "the scenario evicted bodies");
  } finally {
    await t.close();
  }
});

Deno.test("cassemdb out of reach: held bodies answer with X-Cassem-Stale, others 503; fresh again when it returns", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "held", { version: 1, raw: "H" });
    await t.pub.publish("shop", "prod", "cold", { version: 1, raw: "C" });
    let down = false;
    const a = await t.agent({
      probe: () => (down ? Promise.reject(new Error("down")) : Promise.resolve()),
    });
    for (let i = 0; i < 2; i++) await a.request(`${E}/elements?keys=held`);
    down = true;
    t.db.disconnectWatches(); // the watch reports a failure and resumes
    await waitFor("the agent marked stale", () => a.core.health.stale || undefined);
    const r = await a.request(`${E}/elements?keys=held`);
    assert.equal(r.headers.get("x-cassem-stale"), "true");
    assert.equal(r.headers.get("x-cassem-revision"), String(a.core.state.revision));
    assert.deepEqual(await rawOf(r), ["H"]);
    const cold = await a.request(`${E}/elements?keys=cold`);
    assert.equal(cold.status, 503);
    const err = (await cold.json()).error;
    assert.equal(err.code, "UNAVAILABLE");
    assert.match(
      err.message,
      /shop\/prod\/cold as cassemdb is out of reach and this agent does not hold it/,
    );
    down = false;
    await waitFor("the agent current again", () => !a.core.health.stale || undefined);
    const back = await a.request(`${E}/elements?keys=cold`);
    assert.equal(back.headers.get("x-cassem-stale"), null);
    assert.deepEqual(await rawOf(back), ["C"]);
  } finally {
    await t.close();
  }
});

Deno.test("a re-listing (after compaction) pushes what changed, and a resume from before it is full", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 1, raw: "a1" });
    await t.pub.publish("shop", "prod", "b", { version: 1, raw: "b1" });
    const d = delayedWatch(t.db);
    const a = await t.agent({ db: d.db });
    const w = await t.watch(a, `${E}/watch?keys=a,b`);
    for (let i = 0; i < 3; i++) await w.next();
    const before = w.lastEventId;
    // Changes the agent's watch never delivers; then the re-listing a compacted watch makes.
    await t.pub.publish("shop", "prod", "a", { version: 2, raw: "a2" });
    await t.pub.remove("shop", "prod", "b");
    const listed = await t.db.list("cassem/serve/");
    d.snapshot({ ...listed, reset: true });
    const got = [await w.next(), await w.next()].map((e) => `${e!.event}:${e!.data}`).sort();
    assert.match(got[0]!, /^message:.*"raw":"a2"/);
    assert.match(got[1]!, /^missing:\{"key":"b"/);
    assert.equal(w.lastEventId, String(listed.revision));
    // The log restarted at the re-listing: a resume from before it gets everything, flagged.
    const r = await t.watch(a, `${E}/watch?keys=a,b`, { "last-event-id": before });
    const evs = [await r.next(), await r.next(), await r.next()];
    assert.deepEqual(evs.map((e) => e!.event), ["message", "missing", "ready"]);
    assert.equal(JSON.parse(evs[2]!.data).full, true);
  } finally {
    await t.close();
  }
});

Deno.test("a re-listing whose page came before an element was watched reads its body, and pushes it", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 1, raw: "a1" });
    const d = delayedWatch(t.db);
    const a = await t.agent({ db: d.db });
    await t.pub.publish("shop", "prod", "c", { version: 1, raw: "c1" }); // never delivered
    // The re-listing's pages arrive (and are decoded, values dropped) before anyone watches c.
    const listed = await t.db.list("cassem/serve/");
    const entities = listed.entities.map(d.map);
    assert.ok(entities.every((e) => e.val.length === 0), "the listing kept no value");
    const w = await t.watch(a, `${E}/watch?keys=c`);
    assert.deepEqual([(await w.next())!.event, (await w.next())!.event], ["missing", "ready"]);
    d.snapshot({ entities, revision: listed.revision, reset: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ev = await Promise.race([
      w.next(),
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 5_000)),
    ]);
    clearTimeout(timer);
    assert.ok(ev, "c was pushed");
    assert.equal(ev.event, "message");
    assert.equal(JSON.parse(ev.data).raw, "c1");
  } finally {
    await t.close();
  }
});

Deno.test("a client that reads its stream too slowly is cut off with RESOURCE_EXHAUSTED; memory stays bounded", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "big", { version: 1, raw: "x" });
    const a = await t.agent({ maxQueuedBytes: 64 * 1024 });
    const r = await a.request(`${E}/watch?keys=big`, {
      headers: { accept: "text/event-stream" },
    });
    // Nobody reads r.body while 40 versions of 8 KiB are published.
    for (let v = 2; v <= 40; v++) {
      await t.pub.publish("shop", "prod", "big", { version: v, raw: String(v).padEnd(8_192, ".") });
    }
    assert.equal(a.core.subscribers.size, 0, "the slow subscriber was dropped");
    const text = await r.text();
    assert.ok(text.length < 64 * 1024 + 16_384, `queued at most the bound: ${text.length}`);
    assert.match(
      text,
      /event: close\ndata: \{"code":"RESOURCE_EXHAUSTED","message":"Cannot go on pushing as the client reads too slowly/,
    );
  } finally {
    await t.close();
  }
});
