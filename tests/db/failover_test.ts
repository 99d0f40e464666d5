/**
 * Failover with real cassemdb processes: a 3-node cluster takes 1,000
 * concurrent writes while its leader is killed with SIGKILL and restarted.
 * No acknowledged write may be lost on any node, and a watcher that runs
 * throughout must see every change exactly once, in revision order.
 */

import assert from "node:assert/strict";
import {
  checkDurable,
  checkWatch,
  describeWrites,
  longestGap,
  recordWatch,
  runWriters,
} from "./_checks.ts";
import { waitFor } from "../support/procs.ts";
import { withCluster } from "./_cluster.ts";
import { scenario } from "./_scenario.ts";

const WRITES = 1_000;
const WRITERS = 8;
const PREFIX = "fo/";
const key = (i: number) => `${PREFIX}k${String(i).padStart(4, "0")}`;

scenario(
  import.meta.url,
  "cassemdb keeps every acknowledged write and watch event across a leader kill -9",
  async () => {
    const started = Date.now();
    await withCluster({ name: "failover" }, async (c) => {
      await c.startFounders(3);
      const { node: leader } = await c.waitLeader();
      c.note(`leader is ${leader.name}`);
      const others = c.running().filter((p) => p !== leader);

      // The watcher starts on the leader, so the kill cuts its stream too.
      const watcher = recordWatch(
        c.client({ endpoints: [leader, ...others].map((p) => p.clientAddr) }),
        { keys: [PREFIX], prefix: true, startRevision: 1 },
      );

      // Writes from 750 on wait until the old leader is back, so that writes
      // run before the kill, while it is down and after its restart.
      let restarted!: () => void;
      const back = new Promise<void>((r) => (restarted = r));
      const clients = Array.from({ length: WRITERS }, (_, w) => {
        const all = c.running().map((p) => p.clientAddr);
        return c.client({ endpoints: [...all.slice(w % 3), ...all.slice(0, w % 3)] });
      });
      const { log, done } = runWriters({
        key,
        count: WRITES,
        deadline: Date.now() + 60_000,
        clients,
        gate: (i) => (i >= 750 ? back : undefined),
      });

      let killedAt = 0;
      let restartAt = Infinity;
      try {
        await waitFor("400 acknowledged writes", () => log.acked() >= 400 || undefined, {
          timeoutMs: 30_000,
        });
        killedAt = Date.now();
        await c.kill(leader);
        const next = await c.waitLeader({ among: others });
        c.note(`new leader ${next.node.name} after ${Date.now() - killedAt} ms`);
        await waitFor("acknowledged writes under the new leader", () => {
          const after = [...log.outcomes.values()].filter((o) => o.ok && o.at > killedAt).length;
          return after >= 100 || log.outcomes.size >= 750 || undefined;
        }, { timeoutMs: 30_000 });
        restartAt = Date.now();
        await c.restart(leader);
      } finally {
        restarted();
      }
      await done;
      assert.equal(log.outcomes.size, WRITES, "every write was attempted before the deadline");
      const underNewLeader = [...log.outcomes.values()]
        .filter((o) => o.ok && o.at > killedAt && o.at < restartAt).length;
      assert.ok(underNewLeader > 0, "no write was acknowledged between the kill and the restart");

      const statuses = await c.waitConverged();
      const revision = statuses[0]!.revision;
      await waitFor(
        `the watcher at revision ${revision}`,
        () => watcher.revision() >= revision || undefined,
        { timeoutMs: 15_000 },
      );
      watcher.close();

      const { appliedAmbiguous, lostAmbiguous } = await checkDurable(
        c,
        c.running(),
        PREFIX,
        key,
        log,
      );
      const present = new Set([
        ...[...log.outcomes].filter(([, o]) => o.ok).map(([i]) => i),
        ...appliedAmbiguous,
      ]);
      await checkWatch(watcher.log, log, key, present);

      // Writes through the failover: from 1 s before the kill until the restart.
      const gap = longestGap(log, killedAt - 1_000, restartAt);
      console.log(describeWrites(log));
      console.log(
        `ambiguous writes applied: [${appliedAmbiguous.join(", ")}]; not applied: [${
          lostAmbiguous.join(", ")
        }]`,
      );
      console.log(
        `watch: ${watcher.log.events.length} events up to revision ${revision}, ${watcher.log.retries.length} resumes (${
          [...new Set(watcher.log.retries)].join(" | ")
        })`,
      );
      console.log(
        `longest gap between acknowledgements around the kill: ${gap.gapMs} ms, from ${
          gap.after - killedAt
        } ms after it; ` +
          `test took ${Date.now() - started} ms`,
      );
      assert.ok(log.acked() >= WRITES * 0.9, `most writes succeed: ${log.acked()} of ${WRITES}`);
    });
  },
);
