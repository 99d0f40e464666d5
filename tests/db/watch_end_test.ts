/**
 * Every way a watch ends reaches the client as a status (issue 7, section 0):
 * OUT_OF_RANGE with `x-cassem-compact-revision` when the node installed a
 * snapshot past the watcher, RESOURCE_EXHAUSTED for a watcher that fell
 * behind, UNAVAILABLE when the node was removed from the cluster or is
 * stopping. Each is shown on real nodes through a bare grpc-js stream, which
 * records every message and the exact status and metadata; before, the first
 * two ended the stream silently (or not at all) and a stopping node ended it
 * with OK.
 */

import assert from "node:assert/strict";
import { COMPACT_REVISION } from "../../shared/db/mod.ts";
import { grpc } from "../../shared/grpc.ts";
import { safety } from "./_checks.ts";
import { waitFor } from "../support/procs.ts";
import { type DbProc, type TestCluster, withCluster } from "./_cluster.ts";
import { RawKv, type RawWatch, type WatchResp } from "./_raw.ts";
import { scenario } from "./_scenario.ts";

const S = grpc.status;
const enc = new TextEncoder();

/** Writes `n` keys `prefix + i` one after another (so that each is its own raft entry). */
async function writeSeq(c: TestCluster, via: DbProc[], prefix: string, n: number, val = "v") {
  const db = c.client({ endpoints: via.map((p) => p.clientAddr), timeoutMs: 15_000 });
  for (let i = 0; i < n; i++) await db.set(`${prefix}${i}`, enc.encode(val));
}

/** Writes `n` keys, `concurrency` at a time. */
async function writeMany(
  c: TestCluster,
  via: DbProc,
  prefix: string,
  n: number,
  opts: { concurrency?: number; val?: Uint8Array } = {},
) {
  const db = c.client({ endpoints: [via.clientAddr], timeoutMs: 15_000 });
  let next = 0;
  const val = opts.val ?? enc.encode("v");
  const worker = async () => {
    while (next < n) await db.set(`${prefix}${next++}`, val);
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
}

/** The status a watch ended with, within `timeoutMs`; fails naming what the stream got. */
async function endOf(w: RawWatch, what: string, timeoutMs = 20_000) {
  return await waitFor(what, () => w.end, { timeoutMs }).catch((e) => {
    throw new Error(
      `${
        (e as Error).message
      }: the stream got ${w.messages.length} messages up to revision ${w.lastRevision} and no status`,
    );
  });
}

/** Revisions of a stream's messages must increase strictly (the first has no changes). */
function checkOrder(messages: WatchResp[]): void {
  assert.ok(messages.length > 0, "the stream got no first message");
  assert.deepEqual(messages[0]!.changes, [], "the first message carries no changes");
  for (let i = 1; i < messages.length; i++) {
    assert.ok(
      messages[i]!.revision > messages[i - 1]!.revision,
      `revision ${messages[i]!.revision} after ${messages[i - 1]!.revision}`,
    );
    assert.ok(messages[i]!.changes.length > 0, "a later message without changes");
  }
}

scenario(
  import.meta.url,
  "cassemdb ends a watch with OUT_OF_RANGE when its node installs a snapshot past it",
  async () => {
    await withCluster({ name: "watch-compacted", snapshotEvery: 20 }, async (c) => {
      await c.startFounders(3);
      const { node: leader } = await c.waitLeader();
      const [follower, other] = c.running().filter((p) => p !== leader) as [DbProc, DbProc];
      await writeSeq(c, [leader], "w/a", 5);
      const w = new RawKv(follower.clientAddr).watch({
        keys: ["w/"],
        startRevision: 1,
      });
      await waitFor("the watcher at revision 5", () => w.lastRevision >= 5 || undefined);

      // The follower is paused while the others commit far past a snapshot:
      // one write at a time, so that the leader runs out of appends it may
      // keep in flight to the paused node, and must send it a snapshot.
      const pid = follower.pid!;
      Deno.kill(pid, "SIGSTOP");
      c.note(`SIGSTOP ${follower.name} with a watcher at revision ${w.lastRevision}`);
      try {
        await writeSeq(c, [leader, other], "w/b", 300);
      } finally {
        Deno.kill(pid, "SIGCONT");
        c.note(`SIGCONT ${follower.name}`);
      }
      const end = await endOf(w, "the watch's end on the follower");
      const [st] = await c.waitConverged();
      const compact = Number(end.metadata[COMPACT_REVISION]);
      console.log(
        `watch on ${follower.name} ended at revision ${w.lastRevision} of ${st!.revision} with ${
          S[end.code]
        } (${COMPACT_REVISION} ${compact}): ${end.details}`,
      );
      await safety(() => {
        assert.equal(end.code, S.OUT_OF_RANGE, `${S[end.code]}: ${end.details}`);
        assert.ok(compact > w.lastRevision + 1, `compact revision ${compact}`);
        assert.ok(compact <= st!.revision + 1, `compact revision ${compact} of ${st!.revision}`);
        checkOrder(w.messages);
      });
      // What the client is told agrees with what a new watch from there gets.
      const again = new RawKv(follower.clientAddr).watch({
        keys: ["w/"],
        startRevision: w.lastRevision + 1,
      });
      const refused = await endOf(again, "a new watch's refusal");
      assert.equal(refused.code, S.OUT_OF_RANGE);
      assert.ok(Number(refused.metadata[COMPACT_REVISION]) >= compact);
    });
  },
);

scenario(
  import.meta.url,
  "cassemdb ends a watch with a status when the watcher is slow, its node is removed, or stops",
  async () => {
    await withCluster({ name: "watch-ends" }, async (c) => {
      await c.startFounders(3);
      const { node: leader } = await c.waitLeader();
      const [gone, stopping] = c.running().filter((p) => p !== leader) as [DbProc, DbProc];

      // Slow: a watcher that stops reading is cut once 1,000 revisions wait
      // for it, and is told where to resume.
      const slow = new RawKv(leader.clientAddr).watch({ keys: ["slow/"], startRevision: 0 });
      await waitFor("the slow watcher's first message", () => slow.messages.length || undefined);
      const from = slow.lastRevision;
      slow.pause();
      await writeMany(c, leader, "slow/k", 1_300, { val: new Uint8Array(512) });
      slow.resume();
      const slowEnd = await endOf(slow, "the slow watcher's end");
      console.log(
        `slow watcher: ${slow.messages.length} messages up to revision ${slow.lastRevision}, then ${
          S[slowEnd.code]
        }: ${slowEnd.details}`,
      );
      await safety(() => {
        assert.equal(slowEnd.code, S.RESOURCE_EXHAUSTED, `${S[slowEnd.code]}: ${slowEnd.details}`);
        assert.match(slowEnd.details, /one after the last revision received/);
        checkOrder(slow.messages);
        // Every revision up to the cut, none missed: each write is one revision.
        const got = slow.messages.slice(1).map((m) => m.revision);
        assert.deepEqual(
          got,
          got.map((_, i) => from + 1 + i),
          "revisions delivered before the cut",
        );
        assert.ok(slow.lastRevision < from + 1_300, "the watcher was cut before the end");
      });
      // Resuming after the last revision received gets the rest, without a gap.
      const resumeAt = slow.lastRevision + 1;
      const rest = new RawKv(leader.clientAddr).watch({ keys: ["slow/"], startRevision: resumeAt });
      await waitFor(
        "the resumed watcher at the last write",
        () => rest.lastRevision >= from + 1_300 || undefined,
      );
      await safety(() => {
        checkOrder(rest.messages);
        const more = rest.messages.slice(1).map((m) => m.revision);
        assert.equal(rest.messages[0]!.revision, resumeAt - 1);
        assert.deepEqual(more, more.map((_, i) => resumeAt + i), "revisions after the resume");
      });
      rest.cancel();

      // Removed: a watcher on a node removed from the cluster. The node says
      // so if it applied its own removal; a removed node need not learn that
      // (the leader stops talking to it), and then it says it has had no
      // leader for 10 election timeouts.
      const onGone = new RawKv(gone.clientAddr).watch({ keys: ["rm/"], startRevision: 0 });
      await waitFor("the watcher on the node to remove", () => onGone.messages.length || undefined);
      const removedAt = Date.now();
      await c.client({ endpoints: [leader.clientAddr] }).removeNode(gone.id);
      const removedEnd = await endOf(onGone, "the removed node's watch end");
      console.log(
        `removed node: ${S[removedEnd.code]} ${
          removedEnd.at - removedAt
        } ms after RemoveNode: ${removedEnd.details}`,
      );
      const why = /was removed from the cluster|has had no leader for \d+ ms/;
      assert.equal(removedEnd.code, S.UNAVAILABLE, removedEnd.details);
      assert.match(removedEnd.details, why);
      // And it refuses new watches, saying why.
      const refused = await endOf(
        new RawKv(gone.clientAddr).watch({ keys: ["rm/"] }),
        "a new watch on the removed node",
      );
      assert.equal(refused.code, S.UNAVAILABLE);
      assert.match(refused.details, why);

      // Stopping: SIGTERM ends the node's watches with UNAVAILABLE before it exits.
      await writeMany(c, leader, "stop/k", 3);
      const onStopping = new RawKv(stopping.clientAddr).watch({
        keys: ["stop/"],
        startRevision: 1,
      });
      await waitFor(
        "the watcher on the node to stop",
        () => onStopping.messages.length >= 2 || undefined,
      );
      const status = await c.terminate(stopping);
      assert.equal(status?.code, 0, "a SIGTERMed node exits 0");
      const stopEnd = await endOf(onStopping, "the stopped node's watch end", 5_000);
      console.log(`stopping node: ${S[stopEnd.code]}: ${stopEnd.details}`);
      assert.equal(stopEnd.code, S.UNAVAILABLE, stopEnd.details);
      assert.match(stopEnd.details, /this node is stopping: resume on another node/);
      checkOrder(onStopping.messages);
    });
  },
);
