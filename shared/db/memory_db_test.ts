import assert from "node:assert/strict";
import type { Snapshot, WatchEvent } from "./api.ts";
import {
  isAlreadyExists,
  isCancelled,
  isCompacted,
  isCompareFailed,
  isInvalidArgument,
  isNotFound,
  isUnavailable,
  mayHaveApplied,
  WatchHandlerError,
} from "./errors.ts";
import { MemoryDb } from "./memory_db.ts";

const dec = new TextDecoder();
const text = (v: Uint8Array | undefined) => (v ? dec.decode(v) : undefined);

/** Resolves once `probe` returns a value other than undefined (microtask-driven, bounded). */
async function until<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 2_000; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`Cannot see ${what} within 2,000 turns`);
}

Deno.test("MemoryDb get/set/unset answer with revisions and typed errors", async () => {
  const db = new MemoryDb({ clock: () => 1_000 });
  const missing = await db.get("app/k");
  assert.deepEqual(missing, { entity: undefined, revision: 0 });

  const s = await db.set("app/k", "v1");
  assert.equal(s.revision, 1);
  assert.equal(s.entity.val.byteLength, 0, "a write's answer carries no value");
  assert.equal(s.entity.size, 2);
  assert.equal(s.entity.modRevision, 1);
  assert.equal(s.entity.createdAt, 1_000);

  const g = await db.get("app/k");
  assert.equal(text(g.entity?.val), "v1");
  assert.equal(g.revision, 1);
  assert.equal((await db.get("app")).entity?.type, "DIRECTORY", "the parent directory was created");

  await assert.rejects(db.set("app/k", "v2"), isAlreadyExists);
  await assert.rejects(
    db.set("app/k", "v2", { condition: { modRevision: 7 } }),
    (e) => isCompareFailed(e) && e.field === "condition",
  );
  const s2 = await db.set("app/k", "v2", { condition: { modRevision: 1 } });
  assert.equal(s2.entity.createRevision, 1);
  assert.equal(s2.entity.modRevision, 2);

  await assert.rejects(db.set("a//b", "x"), (e) => isInvalidArgument(e) && e.field === "key");
  await assert.rejects(
    db.set("big", new Uint8Array(256 * 1024 + 1)),
    (e) => isInvalidArgument(e) && e.field === "val",
  );
  await assert.rejects(db.unset("nope"), (e) => isNotFound(e) && e.field === "key");
  await assert.rejects(
    db.unset("app"),
    (e) => e instanceof Error && "field" in e && e.field === "is_dir",
  );

  const u = await db.unset("app", { isDir: true });
  assert.deepEqual(u, { removed: 2, revision: 3 });
  assert.equal((await db.get("app/k")).entity, undefined);
  assert.equal(db.revision, 3);
  db.close();
});

Deno.test("MemoryDb hands out copies: changing a returned value does not change the store", async () => {
  const db = new MemoryDb();
  await db.set("k", "abc");
  const a = await db.get("k");
  a.entity!.val[0] = 0x7a;
  assert.equal(text((await db.get("k")).entity?.val), "abc");
});

Deno.test("MemoryDb getMany, range and ttl", async () => {
  let now = 10_000;
  const db = new MemoryDb({ clock: () => now });
  for (const k of ["p/a", "p/b", "p/c", "q/a"]) await db.set(k, k);
  const many = await db.getMany(["p/c", "nope", "p/a"]);
  assert.deepEqual(many.entities.map((e) => e.key), ["p/c", "p/a"]);
  assert.equal(many.revision, 4);

  const p1 = await db.range("p/", { limit: 2 });
  assert.deepEqual(p1.entities.map((e) => e.key), ["p/a", "p/b"]);
  assert.equal(p1.hasMore, true);
  const p2 = await db.range("p/", { limit: 2, seek: p1.nextSeekKey });
  assert.deepEqual(p2.entities.map((e) => e.key), ["p/c"]);
  assert.equal(p2.hasMore, false);
  assert.equal(p2.nextSeekKey, "");
  await assert.rejects(
    db.range("p/", { limit: 101 }),
    (e) => isInvalidArgument(e) && e.field === "limit",
  );

  await db.set("t", "x", { ttl: 2 });
  assert.equal((await db.ttl("t")).ttl, 2);
  assert.equal((await db.ttl("p/a")).ttl, -1);
  assert.deepEqual(await db.ttl("nope"), { ttl: undefined, revision: db.revision });
  now += 2_000;
  // Reads never return an expired key: the "leader" expired it first.
  assert.equal((await db.get("t")).entity, undefined);
});

Deno.test("MemoryDb txn builder: succeeds atomically or names the failed compare", async () => {
  const db = new MemoryDb();
  const v1 = await db.set("el/v1", "one");
  const ok = await db.txn()
    .if("el/v1", { modRevision: v1.revision })
    .if("el/pointer", { mustNotExist: true })
    .set("el/v2", "two")
    .set("el/pointer", "v2")
    .unset("el/v1")
    .commit();
  assert.equal(ok.succeeded, true);
  assert.equal(ok.revision, 2);
  assert.deepEqual(ok.entities.map((e) => e.key), ["el/v2", "el/pointer"]);
  assert.equal(ok.failed, undefined);

  const lost = await db.txn().if("el/v2", { modRevision: 2 }).if("el/v1", { mustExist: true })
    .set("el/pointer", "v3", { overwrite: true }).commit();
  assert.equal(lost.succeeded, false);
  assert.deepEqual(lost.failed, { index: 1, key: "el/v1", modRevision: 0 });
  assert.equal(lost.revision, 2, "the revision the compares were evaluated at");
  assert.equal(text((await db.get("el/pointer")).entity?.val), "v2");

  // A failing op fails the whole transaction, naming the op's field; nothing applies.
  await assert.rejects(
    db.txn().set("el/new", "x").unset("el/missing").commit(),
    (e) => isNotFound(e) && e.field === "ops[1].unset.key",
  );
  await assert.rejects(db.txn().commit(), (e) => isInvalidArgument(e) && e.field === "ops");
  assert.equal((await db.get("el/new")).entity, undefined);
  assert.equal(db.revision, 2);
});

Deno.test("MemoryDb watch delivers each revision once, resumes after a drop, ends on compaction", async () => {
  const db = new MemoryDb();
  await db.set("w/a", "0");
  const events: WatchEvent[] = [];
  const retries: Error[] = [];
  let failed: Error | undefined;
  const w = db.watch({ keys: ["w"], startRevision: 1 }, {
    onChanges: (ev) => events.push(ev),
    onRetry: (e) => retries.push(e),
    onError: (e) => (failed = e),
  });
  await until(() => (w.revision >= 1 ? true : undefined), "the replay of revision 1");
  await db.set("w/b", "1");
  await db.set("other", "x");
  db.disconnectWatches();
  await db.set("w/c", "2");
  await until(() => (w.revision >= 4 ? true : undefined), "revision 4");
  assert.deepEqual(events.map((e) => e.revision), [1, 2, 4]);
  assert.deepEqual(events.map((e) => e.changes.map((c) => c.key)), [["w", "w/a"], ["w/b"], [
    "w/c",
  ]]);
  assert.equal(retries.length, 1);
  assert.ok(isUnavailable(retries[0]));

  // Dropped, then a write and a compaction before it resumes: the resume is
  // told OUT_OF_RANGE, and the watch ends. (A caught-up watch that resumes
  // from after the compaction would carry on: it misses nothing.)
  db.disconnectWatches();
  const p = db.set("w/d", "3");
  db.compact();
  await p;
  await assert.rejects(w.done, isCompacted);
  assert.ok(isCompacted(failed));
  db.close();
});

Deno.test("MemoryDb watch: a handler that throws ends the watch with WatchHandlerError", async () => {
  const db = new MemoryDb();
  let errors = 0;
  const w = db.watch({ keys: ["k"] }, {
    onChanges: () => {
      throw new Error("boom");
    },
    onError: () => errors++,
  });
  await until(() => (w.revision >= 0 ? true : undefined), "the watch start");
  await db.set("k", "x");
  await assert.rejects(w.done, (e) => e instanceof WatchHandlerError && e.revision === 1);
  assert.equal(errors, 1);
  assert.throws(() => db.watch({ keys: ["k"], startRevision: -1 }, { onChanges() {} }), RangeError);
});

Deno.test("MemoryDb watch: INVALID_ARGUMENT is terminal, not a retry", async () => {
  const db = new MemoryDb();
  let retries = 0;
  const w = db.watch({ keys: ["a//b"] }, { onChanges() {}, onRetry: () => retries++ });
  await assert.rejects(w.done, (e) => isInvalidArgument(e) && e.field === "keys[0]");
  assert.equal(retries, 0);
});

Deno.test("MemoryDb listAndWatch: one snapshot, then each later change once", async () => {
  const db = new MemoryDb();
  for (let i = 0; i < 250; i++) await db.set(`l/k${String(i).padStart(3, "0")}`, `${i}`);
  await db.set("other/x", "x");
  const snaps: Snapshot[] = [];
  const events: WatchEvent[] = [];
  const lw = db.listAndWatch("l/", {
    onSnapshot: (s) => snaps.push(s),
    onChanges: (ev) => events.push(ev),
  }, { pageSize: 40 });
  const at = await lw.ready;
  assert.equal(at, 251);
  assert.equal(snaps.length, 1);
  assert.equal(snaps[0]!.entities.length, 250);
  assert.equal(snaps[0]!.reset, false);
  await db.set("l/k000", "new", { overwrite: true });
  await db.set("other/y", "y");
  await db.unset("l/k001");
  await until(() => (events.length >= 2 ? true : undefined), "two changes");
  assert.deepEqual(events.map((e) => [e.revision, e.changes[0]!.op]), [[252, "SET"], [
    254,
    "UNSET",
  ]]);
  assert.equal(lw.revision, 254);

  // Compaction under a resuming watch: a fresh snapshot, flagged reset.
  db.disconnectWatches();
  const p = db.set("l/k002", "after", { overwrite: true });
  db.compact();
  await p;
  await until(() => (snaps.length >= 2 ? true : undefined), "the second snapshot");
  assert.equal(snaps[1]!.reset, true);
  assert.equal(snaps[1]!.entities.length, 249);
  assert.equal(text(snaps[1]!.entities.find((e) => e.key === "l/k002")?.val), "after");
  lw.close();
  await lw.done;
});

Deno.test("MemoryDb list: everything under a prefix at one revision", async () => {
  const db = new MemoryDb();
  for (let i = 0; i < 30; i++) await db.set(`x/${i}`, `${i}`);
  const l = await db.list("x/", { pageSize: 7 });
  assert.equal(l.entities.length, 30);
  assert.equal(l.revision, 30);
  assert.deepEqual(l.entities.map((e) => e.key), [...l.entities.map((e) => e.key)].sort());
});

Deno.test("MemoryDb failNext: unavailable, and writes whose outcome is unknown", async () => {
  const db = new MemoryDb();
  db.failNext("unavailable", { method: "set" });
  await assert.rejects(db.set("k", "1"), (e) => isUnavailable(e) && !mayHaveApplied(e));
  assert.equal((await db.get("k")).entity, undefined);

  db.failNext("timeout-applied");
  await assert.rejects(db.set("k", "2"), (e) => isUnavailable(e) && mayHaveApplied(e));
  assert.equal(text((await db.get("k")).entity?.val), "2", "it applied");

  db.failNext("timeout-not-applied", { times: 2 });
  await assert.rejects(db.set("k", "3", { overwrite: true }), mayHaveApplied);
  await assert.rejects(db.get("k"), (e) => isUnavailable(e) && !mayHaveApplied(e));
  assert.equal(text((await db.get("k")).entity?.val), "2", "it did not apply");

  db.close();
  await assert.rejects(db.get("k"), isCancelled);
});

Deno.test("MemoryDb expires ttl keys as the leader does: watchers see UNSET expired", async () => {
  let now = 50_000;
  const db = new MemoryDb({ clock: () => now });
  const seen: string[] = [];
  const w = db.watch({ keys: ["inst"] }, {
    onChanges: (ev) => seen.push(...ev.changes.map((c) => `${c.op} ${c.key} ${c.reason}`)),
  });
  await until(() => (w.revision >= 0 ? true : undefined), "the watch start");
  await db.set("inst/a", "1", { ttl: 5 });
  now += 4_999;
  assert.equal(db.expireDue(), 0);
  now += 1;
  assert.equal(db.expireDue(), 1);
  await until(() => (seen.length >= 3 ? true : undefined), "the expiry");
  assert.deepEqual(seen, ["SET inst ", "SET inst/a ", "UNSET inst/a expired"]);
  assert.equal((await db.get("inst/a")).entity, undefined);
  w.close();
  db.close();
});
