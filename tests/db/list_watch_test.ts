/**
 * listAndWatch against real cassemdb processes: four writers set and unset
 * keys under a prefix while a consumer lists it in small pages, and the
 * leader, which serves the consumer's first reads and its watch, is killed
 * with SIGKILL in the middle of the listing (after its 10th page) and
 * restarted later. The consumer's state must end equal to a fresh listing,
 * with no revision delivered twice, none at or before its snapshot, and
 * every acknowledged write after the snapshot delivered.
 */

import assert from "node:assert/strict";
import type { Entity, ListWatchSource, Snapshot } from "../../shared/db/mod.ts";
import { DbError, isNotFound, listAndWatch, mayHaveApplied } from "../../shared/db/mod.ts";
import { safety } from "./_checks.ts";
import { scenario, waitFor, withCluster } from "./_cluster.ts";

const PREFIX = "lw/";
const KEYS = 300;
const WRITES = 3_000;
const key = (i: number) => `${PREFIX}k${String(i % KEYS).padStart(3, "0")}`;
const dec = new TextDecoder();

scenario(
  import.meta.url,
  "listAndWatch delivers a consistent snapshot and every later change once across a leader kill -9",
  async () => {
    await withCluster({ name: "list-watch" }, async (c) => {
      await c.startFounders(3);
      const { node: leader } = await c.waitLeader();
      const others = c.running().filter((p) => p !== leader);
      const seed = c.client();
      for (let i = 0; i < KEYS; i++) await seed.set(key(i), "seed");

      // Writers: sets and, every 5th write, an unset; each records its outcome.
      const acked: number[] = [];
      let ambiguous = 0;
      let next = 0;
      const deadline = Date.now() + 60_000;
      let stop = false;
      const writer = async (w: number) => {
        const all = c.running().map((p) => p.clientAddr);
        const db = c.client({ endpoints: [...all.slice(w % 3), ...all.slice(0, w % 3)] });
        while (next < WRITES && Date.now() < deadline && !stop) {
          const i = next++;
          try {
            const r = i % 5 === 0
              ? await db.unset(key(i * 7))
              : await db.set(key(i * 7), `v${i}`, { overwrite: true });
            acked.push(r.revision);
          } catch (e) {
            if (!(e instanceof DbError)) throw e;
            if (isNotFound(e)) continue; // an unset of a key already unset
            if (mayHaveApplied(e)) ambiguous++; // else certainly not applied
          }
        }
      };
      const writing = Promise.all([0, 1, 2, 3].map(writer));

      // The consumer starts on the leader, so the kill cuts its reads and its watch.
      const consumer = c.client({
        endpoints: [leader, ...others].map((p) => p.clientAddr),
        attemptTimeoutMs: 1_000,
      });
      let pages = 0;
      let killed: Promise<void> | undefined;
      const source: ListWatchSource = {
        range: (prefix, options) => {
          if (++pages === 10) killed = c.kill(leader);
          return consumer.range(prefix, options);
        },
        watch: (req, handlers) => consumer.watch(req, handlers),
      };
      const state = new Map<string, Entity>();
      const snapshots: Snapshot[] = [];
      const delivered: number[] = [];
      const retries: string[] = [];
      const lw = listAndWatch(source, PREFIX, {
        onSnapshot: (s) => {
          snapshots.push(s);
          state.clear();
          for (const e of s.entities) state.set(e.key, e);
        },
        onChanges: (ev) => {
          delivered.push(ev.revision);
          for (const ch of ev.changes) {
            if (ch.op === "SET") state.set(ch.key, ch.current!);
            else state.delete(ch.key);
          }
        },
        onRetry: (e) => retries.push(e.message),
      }, { pageSize: 10 });
      const at = await lw.ready;
      c.note(`snapshot at revision ${at} after ${pages} pages`);
      assert.ok(killed, "the leader was killed during the listing");
      await killed;
      await c.waitLeader({ among: others });
      await waitFor(
        "writes under the new leader",
        () => (acked.length > 1_500 ? true : undefined),
        {
          timeoutMs: 30_000,
        },
      );
      await c.restart(leader);
      await writing;
      stop = true;
      const sts = await c.waitConverged();
      const final = await c.client().list(PREFIX);
      assert.equal(final.revision, sts[0]!.revision);
      await waitFor(
        `the consumer at revision ${final.revision}`,
        () => (lw.revision >= final.revision ? true : undefined),
        { timeoutMs: 20_000 },
      );
      lw.close();
      await lw.done;

      await safety(() => {
        assert.equal(snapshots.length, 1, "one snapshot (no compaction here)");
        assert.deepEqual(
          [...state.values()].sort((a, b) => (a.key < b.key ? -1 : 1)).map(brief),
          final.entities.map(brief),
          "the consumer's state equals a fresh listing",
        );
        for (let i = 1; i < delivered.length; i++) {
          assert.ok(
            delivered[i]! > delivered[i - 1]!,
            `revision ${delivered[i]} delivered after ${delivered[i - 1]}`,
          );
        }
        assert.ok(delivered.every((r) => r > at), "a change at or before the snapshot");
        const missed = acked.filter((r) => r > at && !delivered.includes(r));
        assert.deepEqual(missed, [], "acknowledged writes after the snapshot never delivered");
        const extra = delivered.length - acked.filter((r) => r > at).length;
        assert.ok(
          extra >= 0 && extra <= ambiguous,
          `${extra} deliveries beyond the acknowledged writes, ${ambiguous} ambiguous writes`,
        );
      });
      console.log(
        `snapshot of ${
          snapshots[0]!.entities.length
        } keys at revision ${at} (leader killed at page 10 of ${pages}); ` +
          `${delivered.length} revisions delivered up to ${final.revision}; ${acked.length} writes acknowledged, ` +
          `${ambiguous} ambiguous; ${retries.length} retries (${
            [...new Set(retries)].join(" | ")
          })`,
      );
    });
  },
);

function brief(e: Entity) {
  return [e.key, e.modRevision, dec.decode(e.val)];
}
