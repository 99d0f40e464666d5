import assert from "node:assert/strict";
import {
  appKey,
  AppRecord,
  decodeRecord,
  oplogPrefix,
  OplogRecord,
} from "../../shared/config/mod.ts";
import { isUnavailable } from "../../shared/db/mod.ts";
import { createTestAdm } from "../testing.ts";
import {
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  UnavailableError,
} from "../errors.ts";
import { runTxn } from "./txn.ts";

const actor = { operator: "admin", requestId: "req-1" };

async function appRecord(t: Awaited<ReturnType<typeof createTestAdm>>, id: string) {
  const { entity } = await t.db.get(appKey(id));
  return entity
    ? { rec: decodeRecord(AppRecord, appKey(id), entity.val), rev: entity.modRevision }
    : undefined;
}

async function oplog(t: Awaited<ReturnType<typeof createTestAdm>>) {
  const { entities } = await t.db.list(oplogPrefix());
  return entities.map((e) => ({
    rec: decodeRecord(OplogRecord, e.key, e.val),
    rev: e.modRevision,
  }));
}

Deno.test("runTxn writes the change and its oplog entry at one revision", async () => {
  const t = await createTestAdm();
  await t.createTestApp("shop");
  const before = (await oplog(t)).length;
  const { revision } = await runTxn(t.deps, actor, "update app shop", async (tx) => {
    const cur = await tx.require(AppRecord, appKey("shop"), () => "gone");
    tx.put(AppRecord, cur.key, { ...cur.record, description: "new" });
    tx.log({ operation: "app.update", app: "shop", target: "apps/shop", remark: "why" });
  });
  const app = await appRecord(t, "shop");
  assert.equal(app?.rec.description, "new");
  assert.equal(app?.rev, revision);
  const entries = await oplog(t);
  assert.equal(entries.length, before + 1);
  const mine = entries.find((e) => e.rec.operation === "app.update")!;
  assert.equal(mine.rev, revision);
  assert.deepEqual(
    [mine.rec.operator, mine.rec.requestId, mine.rec.app, mine.rec.remark],
    ["admin", "req-1", "shop", "why"],
  );
  // The entry has the oplog TTL.
  const key =
    (await t.db.list(oplogPrefix())).entities.find((e) => e.modRevision === revision)!.key;
  const { ttl } = await t.db.ttl(key);
  assert.ok(ttl !== undefined && ttl > 179 * 24 * 3600, `ttl ${ttl}`);
});

Deno.test("runTxn reruns a mutation that lost the race from fresh reads", async () => {
  const t = await createTestAdm();
  await t.createTestApp("shop");
  let runs = 0;
  await runTxn(t.deps, actor, "update app shop", async (tx) => {
    runs++;
    const cur = await tx.require(AppRecord, appKey("shop"), () => "gone");
    if (runs === 1) {
      // Another writer changes the app between this read and the commit.
      const other = await appRecord(t, "shop");
      await t.db.set(appKey("shop"), JSON.stringify({ ...other!.rec, description: "theirs" }), {
        overwrite: true,
      });
    }
    tx.put(AppRecord, cur.key, { ...cur.record, description: cur.record.description + "+mine" });
    tx.log({ operation: "app.update", app: "shop", target: "apps/shop" });
  });
  assert.equal(runs, 2);
  assert.equal((await appRecord(t, "shop"))?.rec.description, "theirs+mine");
});

Deno.test("runTxn gives up with 409 after config.txnAttempts lost races", async () => {
  const t = await createTestAdm({ config: { txnAttempts: 3 } });
  await t.createTestApp("shop");
  let runs = 0;
  await assert.rejects(
    () =>
      runTxn(t.deps, actor, "update app shop", async (tx) => {
        runs++;
        const cur = await tx.require(AppRecord, appKey("shop"), () => "gone");
        await t.db.set(appKey("shop"), JSON.stringify(cur.record), { overwrite: true });
        tx.put(AppRecord, cur.key, cur.record);
        tx.log({ operation: "app.update", app: "shop", target: "apps/shop" });
      }),
    (e: unknown) => e instanceof ConflictError && /3 attempts/.test(e.message),
  );
  assert.equal(runs, 3);
});

Deno.test("runTxn refuses writes without an oplog entry, and a second entry", async () => {
  const t = await createTestAdm();
  await assert.rejects(
    () =>
      runTxn(t.deps, actor, "x", (tx) => {
        tx.put(AppRecord, appKey("a"), {} as never);
        return Promise.resolve();
      }),
    TypeError, // the record is checked before anything is sent
  );
  await t.createTestApp("shop");
  const before = await appRecord(t, "shop");
  await assert.rejects(
    () =>
      runTxn(t.deps, actor, "do x", async (tx) => {
        const cur = await tx.require(AppRecord, appKey("shop"), () => "gone");
        tx.put(AppRecord, cur.key, { ...cur.record, description: "unlogged" });
      }),
    /Cannot do x as the mutation staged writes without an oplog entry/,
  );
  assert.deepEqual(await appRecord(t, "shop"), before);
  await assert.rejects(() =>
    runTxn(t.deps, actor, "do x", (tx) => {
      tx.log({ operation: "app.update", target: "apps/a" });
      tx.log({ operation: "app.update", target: "apps/a" });
      return Promise.resolve();
    }), /log twice/);
});

Deno.test("If-Match and require: 412 on another revision, 404 when absent", async () => {
  const t = await createTestAdm();
  await t.createTestApp("shop");
  const rev = (await appRecord(t, "shop"))!.rev;
  await assert.rejects(
    () =>
      runTxn(
        t.deps,
        actor,
        "x",
        (tx) => tx.require(AppRecord, appKey("shop"), () => "gone", { ifMatch: rev + 1 }),
      ),
    PreconditionFailedError,
  );
  await runTxn(
    t.deps,
    actor,
    "x",
    (tx) => tx.require(AppRecord, appKey("shop"), () => "gone", { ifMatch: rev }),
  );
  await assert.rejects(
    () =>
      runTxn(
        t.deps,
        actor,
        "x",
        (tx) => tx.require(AppRecord, appKey("none"), () => "app none does not exist"),
      ),
    (e: unknown) => e instanceof NotFoundError && e.message === "app none does not exist",
  );
});

Deno.test("an unknown commit outcome is resolved by the oplog entry: applied once, or 503", async () => {
  const t = await createTestAdm({ config: { unknownOutcomeWaitMs: 300 } });
  await t.createTestApp("shop");
  let runs = 0;
  const mutate =
    (description: string) => async (tx: Parameters<Parameters<typeof runTxn>[3]>[0]) => {
      runs++;
      const cur = await tx.require(AppRecord, appKey("shop"), () => "gone");
      tx.put(AppRecord, cur.key, { ...cur.record, description });
      tx.log({ operation: "app.update", app: "shop", target: "apps/shop" });
    };
  // The answer is lost but the Txn applied: success, not a second application.
  t.db.failNext("timeout-applied", { method: "commitTxn" });
  const { revision } = await runTxn(t.deps, actor, "update app shop", mutate("applied"));
  assert.equal(runs, 1);
  assert.equal((await appRecord(t, "shop"))?.rev, revision);
  // Not applied, and it never shows up: 503 saying the outcome is unknown.
  t.db.failNext("timeout-not-applied", { method: "commitTxn" });
  await assert.rejects(
    () => runTxn(t.deps, actor, "update app shop", mutate("lost")),
    (e: unknown) => e instanceof UnavailableError && /may still apply/.test(e.message),
  );
  assert.equal((await appRecord(t, "shop"))?.rec.description, "applied");
  // Certainly not applied (UNAVAILABLE): the error goes up as is (the handler answers 503).
  t.db.failNext("unavailable", { method: "commitTxn" });
  await assert.rejects(() => runTxn(t.deps, actor, "update app shop", mutate("x")), isUnavailable);
});
