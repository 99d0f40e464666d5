/**
 * listAndWatch against real cassemdb processes when the revision it resumes
 * from is compacted on every node: it must re-list and flag the new snapshot
 * `reset`, and lose or repeat nothing after it.
 *
 * The consumer reaches the three nodes through TCP relays (one per node,
 * tests/support/tcp_relay.ts). With it caught up at revision R, the relays
 * are cut: its connections stay open and silent. Meanwhile 100 writes go in
 * (`--snapshot-every 20`), and every node is killed and restarted in turn,
 * so that each restores from a snapshot and its watch history starts there,
 * past R + 1 (checked in Status). A fresh listing (revision Q) and a watcher
 * from Q + 1 that nobody cuts record the truth; writers start; the relays
 * heal. The consumer's watch resumes at R + 1, is refused (OUT_OF_RANGE) by
 * every node, and listAndWatch re-lists under the writers.
 *
 * Checked: exactly one more snapshot, flagged `reset`, whose entities are the
 * listing at Q plus the reference watcher's changes up to its revision; before
 * it, nothing after R; after it, exactly the reference watcher's revisions
 * and changes (none twice, none skipped); the final state equals a fresh
 * listing.
 */

import assert from "node:assert/strict";
import {
  DbError,
  type Entity,
  isCompacted,
  isNotFound,
  mayHaveApplied,
  type Snapshot,
  type WatchEvent,
} from "../../shared/db/mod.ts";
import { recordWatch, safety } from "./_checks.ts";
import { waitFor } from "../support/procs.ts";
import { startRelay, type TcpRelay } from "../support/tcp_relay.ts";
import { type TestCluster, withCluster } from "./_cluster.ts";
import { scenario } from "./_scenario.ts";

const PREFIX = "lc/";
const KEYS = 100;
const key = (i: number) => `${PREFIX}k${String(i % KEYS).padStart(3, "0")}`;
const dec = new TextDecoder();

/** One delivery of the consumer, in order. */
type Delivery = { snapshot: Snapshot } | { event: WatchEvent };

scenario(
  import.meta.url,
  "listAndWatch re-lists with reset: true when its resume revision is compacted on every node",
  async () => {
    await withCluster({ name: "list-watch-compacted", snapshotEvery: 20 }, async (c) => {
      const nodes = await c.startFounders(3);
      const db = c.client({ timeoutMs: 15_000 });
      for (let i = 0; i < KEYS; i += 2) await db.set(key(i), "seed");

      // The consumer: every node through a relay of its own.
      const relays: TcpRelay[] = nodes.map((p) => startRelay(p.clientAddr));
      const consumer = c.client({ endpoints: relays.map((r) => r.address) });
      const deliveries: Delivery[] = [];
      const retries: Error[] = [];
      const lw = consumer.listAndWatch(PREFIX, {
        onSnapshot: (snapshot) => deliveries.push({ snapshot }),
        onChanges: (event) => deliveries.push({ event }),
        onRetry: (e) => retries.push(e),
      }, { pageSize: 10 });
      try {
        await lw.ready;
        for (let i = 1; i < 40; i += 2) await db.set(key(i), "before");
        const { revision: before } = await db.get(key(39));
        await waitFor(
          `the consumer at revision ${before}`,
          () => (lw.revision >= before ? true : undefined),
        );

        // Cut off, the consumer stays at R while every node's history moves past R + 1.
        for (const r of relays) r.cut();
        const cutAt = lw.revision;
        c.note(`consumer cut off at revision ${cutAt}`);
        for (let i = 0; i < 100; i++) {
          if (i % 4 === 3) await db.unset(key(i)).catch((e) => ignoreNotFound(e));
          else await db.set(key(i), `cut${i}`, { overwrite: true });
        }
        for (const p of nodes) {
          await c.kill(p);
          await c.restart(p);
          await c.waitLeader();
          await c.waitConverged();
        }
        const sts = await Promise.all(nodes.map((p) => c.status(p)));
        for (const [i, st] of sts.entries()) {
          assert.ok(
            st && st.watchOldestRevision > cutAt + 1,
            `${nodes[i]!.name} can still replay revision ${
              cutAt + 1
            } (oldest ${st?.watchOldestRevision}): ` +
              "the scenario compacted nothing",
          );
        }
        assert.equal(lw.revision, cutAt, "the consumer moved while cut off");

        // The truth: a listing at Q and every change after it.
        const listed = await db.list(PREFIX);
        const q = listed.revision;
        const truth = recordWatch(c.client(), {
          keys: [PREFIX],
          prefix: true,
          startRevision: q + 1,
        });

        // Writers run while the consumer comes back and re-lists.
        const written = runWriters(c, 4, 400);
        await waitFor(
          "writes after the listing",
          () => (written.acked() >= 50 ? true : undefined),
          {
            timeoutMs: 30_000,
          },
        );
        for (const r of relays) r.heal();
        c.note("consumer healed");
        await waitFor(
          "the consumer's second snapshot",
          () => (deliveries.filter((d) => "snapshot" in d).length >= 2 ? true : undefined),
          { timeoutMs: 60_000 },
        );
        const { ambiguous } = await written.done;
        const [st] = await c.waitConverged();
        const final = await db.list(PREFIX);
        assert.equal(final.revision, st!.revision);
        const end = final.revision;
        await waitFor(`the consumer at revision ${end}`, () => (lw.revision >= end || undefined), {
          timeoutMs: 30_000,
        });
        await waitFor(
          `the reference at revision ${end}`,
          () => (truth.revision() >= end || undefined),
          {
            timeoutMs: 30_000,
          },
        );
        truth.close();

        await safety(() => {
          const snaps = deliveries.flatMap((
            d,
            i,
          ) => ("snapshot" in d ? [{ s: d.snapshot, i }] : []));
          assert.equal(snaps.length, 2, "one snapshot, then one after the compaction");
          const [first, reset] = snaps as [typeof snaps[0], typeof snaps[0]];
          assert.equal(first.s.reset, false, "the first snapshot is not a reset");
          assert.equal(reset.s.reset, true, "the snapshot after the compaction says reset");
          assert.ok(
            retries.some((e) => isCompacted(e)),
            `no compaction reported to onRetry: ${retries.map((e) => e.message).join(" | ")}`,
          );
          const s2 = reset.s.revision;
          assert.ok(s2 >= q, `the reset snapshot at ${s2} is older than the listing at ${q}`);
          // Before the reset: nothing after R.
          const early = deliveries.slice(first.i + 1, reset.i).map((d) =>
            (d as { event: WatchEvent }).event
          );
          assert.ok(early.every((ev) => ev.revision <= cutAt), "a change after R before the reset");
          assertIncreasing(early.map((ev) => ev.revision));
          // The reset snapshot is the state at its revision.
          const expected = new Map(listed.entities.map((e) => [e.key, e]));
          for (const ev of truth.log.events) {
            if (ev.revision > q && ev.revision <= s2) applyTo(expected, ev);
          }
          assert.deepEqual(
            reset.s.entities.map(brief),
            [...expected.values()].sort(byKey).map(brief),
            `the reset snapshot (revision ${s2}) is not the state at its revision`,
          );
          // After it: exactly the reference's revisions and changes.
          const after = deliveries.slice(reset.i + 1).map((d) =>
            (d as { event: WatchEvent }).event
          );
          const want = truth.log.events.filter((ev) => ev.revision > s2 && ev.revision <= end);
          assert.deepEqual(
            after.map((ev) => ev.revision),
            want.map((ev) => ev.revision),
            "revisions delivered after the reset (none twice, none skipped)",
          );
          assert.deepEqual(after.map(changesOf), want.map(changesOf), "changes after the reset");
          // And the consumer's state is a fresh listing.
          const state = new Map(reset.s.entities.map((e) => [e.key, e]));
          for (const ev of after) applyTo(state, ev);
          assert.deepEqual(
            [...state.values()].sort(byKey).map(brief),
            final.entities.map(brief),
            "the consumer's state equals a fresh listing",
          );
          console.log(
            `consumer cut off at revision ${cutAt}; every node restarted from a snapshot ` +
              `(oldest replayable revisions ${
                sts.map((s) => s!.watchOldestRevision).join(", ")
              }); ` +
              `listing at ${q}; reset snapshot of ${reset.s.entities.length} keys at ${s2}, ` +
              `then ${after.length} revisions up to ${end}; ${written.acked()} writes acknowledged, ` +
              `${ambiguous} ambiguous; ${retries.length} retries reported (${
                [...new Set(retries.map((e) => (e as DbError).code ?? e.name))].join(", ")
              })`,
          );
        });
      } finally {
        lw.close();
        for (const r of relays) r.close();
      }
    });
  },
);

/** A write that found its key already unset: fine, nothing changed. */
function ignoreNotFound(e: unknown): void {
  if (!isNotFound(e)) throw e;
}

/**
 * `n` writers setting and (every 5th write) unsetting keys of the prefix
 * through clients of their own, `count` writes in all, bounded to 60 s.
 */
function runWriters(c: TestCluster, n: number, count: number) {
  let next = 0;
  let acked = 0;
  let ambiguous = 0;
  const deadline = Date.now() + 60_000;
  const writer = async () => {
    const w = c.client();
    while (next < count && Date.now() < deadline) {
      const i = next++;
      try {
        if (i % 5 === 0) await w.unset(key(i * 7));
        else await w.set(key(i * 7), `w${i}`, { overwrite: true });
        acked++;
      } catch (e) {
        if (!(e instanceof DbError)) throw e;
        if (isNotFound(e)) continue;
        if (mayHaveApplied(e)) ambiguous++;
      }
    }
  };
  const done = Promise.all(Array.from({ length: n }, writer)).then(() => ({ ambiguous }));
  return { acked: () => acked, done };
}

function applyTo(state: Map<string, Entity>, ev: WatchEvent): void {
  for (const ch of ev.changes) {
    if (ch.op === "SET") state.set(ch.key, ch.current!);
    else state.delete(ch.key);
  }
}

function assertIncreasing(revs: number[]): void {
  for (let i = 1; i < revs.length; i++) {
    assert.ok(revs[i]! > revs[i - 1]!, `revision ${revs[i]} delivered after ${revs[i - 1]}`);
  }
}

function byKey(a: Entity, b: Entity): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function brief(e: Entity) {
  return [e.key, e.modRevision, dec.decode(e.val)];
}

function changesOf(ev: WatchEvent) {
  return ev.changes.map((ch) => [ch.op, ch.key, ch.revision, ch.current?.modRevision ?? 0]);
}
