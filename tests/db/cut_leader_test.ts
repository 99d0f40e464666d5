/**
 * A leader cut off by the network, not paused: three nodes and the test each
 * run in a network namespace of their own (tests/support/netns.ts), and
 * every packet from and to the leader's address is dropped. The leader keeps
 * running, its connections stay open, and it believes it leads until
 * check-quorum steps it down; the others elect a new leader.
 *
 * Writers that knew the leader must lose about one attempt timeout, not their
 * whole deadline: the longest time without an acknowledged write stays
 * within the cluster's own failover time (the followers' log line naming the
 * new leader) plus one attempt timeout plus a margin. A watcher of the
 * writes' prefix, streaming from the leader when it is cut, must move to
 * another node within about two attempt timeouts (the client's keepalive
 * pings; grpc-js's default of 10 s + 5 s held it 13 to 15 s) and deliver
 * every write exactly once. After the cut heals,
 * every write not flagged `mayHaveApplied` is exactly as the client reported
 * it, on every node.
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
import { sleep, waitFor } from "../support/procs.ts";
import { currentNetLab, cutHost, droppedPackets, healHost } from "../support/netns.ts";
import { withCluster } from "./_cluster.ts";
import { scenario } from "./_scenario.ts";

/** `CUT_ATTEMPT_MS=5000` measures one attempt with the whole deadline, for comparison. */
const ATTEMPT_MS = Number(Deno.env.get("CUT_ATTEMPT_MS") ?? 1_000);
const PREFIX = "cut/";
const key = (i: number) => `${PREFIX}k${String(i).padStart(5, "0")}`;
/** Room for a loaded 2-core machine on top of failover plus one attempt. */
const MARGIN_MS = 2_000;

scenario(
  import.meta.url,
  "DbClient fails over from a leader cut off by the network within about one attempt timeout",
  async () => {
    const lab = currentNetLab();
    if (!lab) throw new Error("Cannot run the cut-leader scenario as it runs outside its lab");
    await withCluster({ name: "cut-leader", lab }, async (c) => {
      await c.startFounders(3);
      const { node: leader, status: before } = await c.waitLeader();
      const others = c.running().filter((p) => p !== leader);
      const clients = Array.from(
        { length: 4 },
        () => c.client({ timeoutMs: 5_000, attemptTimeoutMs: ATTEMPT_MS }),
      );
      for (const cl of clients) await cl.set("warm/up", "x", { overwrite: true });
      assert.ok(
        clients.every((cl) => cl.leaderAddr === leader.clientAddr),
        "writers know the leader",
      );
      // The watcher streams from the leader: the cut leaves its stream open and silent.
      const watcher = c.client({ endpoints: [leader, ...others].map((p) => p.clientAddr) });
      const w = recordWatch(watcher, { keys: [PREFIX], prefix: true, startRevision: 1 });

      let stop = false;
      const { log, done } = runWriters({
        key,
        count: 20_000,
        deadline: Date.now() + 60_000,
        clients,
        stop: () => stop,
      });
      let cutAt = 0;
      let healedAt = Infinity;
      let agreedAfter = 0;
      let watchCaughtUpAfter = 0;
      try {
        await waitFor("200 acknowledged writes", () => (log.acked() >= 200 ? true : undefined));
        await waitFor("the watcher streaming", () => (w.log.events.length > 0 ? true : undefined));
        cutAt = Date.now();
        await cutHost(lab, leader.host!.addr);
        c.note(`cut ${leader.name} (id ${leader.id}, ${leader.host!.addr}) off the network`);
        await c.waitLeader({ among: others });
        agreedAfter = Date.now() - cutAt;
        c.note(`the others agree on a new leader ${agreedAfter} ms after the cut`);
        const after = () => [...log.outcomes.values()].filter((o) => o.ok && o.at > cutAt);
        await waitFor(
          "200 writes under the new leader",
          () => (after().length >= 200 || undefined),
          {
            timeoutMs: 30_000,
          },
        );
        // The watcher must see writes made after the cut, on another node.
        const target = Math.max(...after().map((o) => (o.ok ? o.revision : 0)));
        await waitFor(
          `the watcher at revision ${target}`,
          () => (w.revision() >= target ? true : undefined),
          { timeoutMs: 30_000 },
        );
        watchCaughtUpAfter = Date.now() - cutAt;
        await sleep(500);
      } finally {
        healedAt = Date.now();
        await healHost(lab, leader.host!.addr);
        c.note(`healed ${leader.name}`);
        stop = true;
        await done;
      }
      const dropped = await droppedPackets(lab);
      await c.waitLeader();
      const sts = await c.waitConverged();
      const { appliedAmbiguous } = await checkDurable(c, c.running(), PREFIX, key, log);
      await waitFor(
        `the watcher at revision ${sts[0]!.revision}`,
        () => (w.revision() >= sts[0]!.revision ? true : undefined),
        { timeoutMs: 20_000 },
      );
      w.close();
      const present = new Set(
        [...log.outcomes].filter(([, o]) => o.ok).map(([i]) => i).concat(appliedAmbiguous),
      );
      await checkWatch(w.log, log, key, present);

      // The cluster's own failover, from the nodes' logs: the first follower
      // to name a new leader, and the cut leader stepping down (check-quorum).
      const changed = /leader changed leader=(\d+) term=(\d+)/;
      const electedAt = Math.min(
        ...others.flatMap((p) =>
          c.linesAt(p, changed).filter((x) => {
            const m = changed.exec(x.line)!;
            return x.at >= cutAt && Number(m[1]) !== 0 && Number(m[1]) !== leader.id;
          }).map((x) => x.at)
        ),
      );
      const steppedDownAt = c.linesAt(leader, /leader changed leader=0 /)
        .map((x) => x.at).find((at) => at >= cutAt);
      const electedAfter = electedAt - cutAt;
      const gap = longestGap(log, cutAt - 1_000, healedAt);
      // Watch delivery lag of the writes acknowledged during the cut.
      const arrived = new Map<number, number>();
      w.log.events.forEach((ev, i) => arrived.set(ev.revision, w.log.arrivedAt[i]!));
      const lags = [...log.outcomes.values()].filter((o) => o.ok && o.at > cutAt && o.at < healedAt)
        .map((o) => (o.ok ? arrived.get(o.revision)! - o.at : 0));
      const watchLag = Math.max(0, ...lags);
      const bound = electedAfter + ATTEMPT_MS + MARGIN_MS;
      const watchBound = electedAfter + 2 * ATTEMPT_MS + MARGIN_MS;
      console.log(describeWrites(log).split("\n").slice(0, 8).join("\n"));
      console.log(
        `cut leader (term ${before.term}): a follower named a new leader ${electedAfter} ms after ` +
          `the cut, all agreed (Status) after ${agreedAfter} ms; the cut leader stepped down after ${
            steppedDownAt === undefined ? "(not seen)" : `${steppedDownAt - cutAt} ms`
          }; longest gap between acknowledged writes ${gap.gapMs} ms, from ${
            gap.after - cutAt
          } ms after the cut (attempt timeout ${ATTEMPT_MS} ms, whole deadline 5,000 ms, bound ` +
          `${bound} ms); watcher caught up ${watchCaughtUpAfter} ms after the cut, longest ` +
          `delivery lag ${watchLag} ms (bound ${watchBound} ms); ${appliedAmbiguous.length} ambiguous writes applied; ` +
          `${dropped} packets dropped by the cut`,
      );
      assert.ok(dropped > 0, "the cut dropped no packet: it cut nothing");
      assert.ok(Number.isFinite(electedAt), "no follower logged a new leader after the cut");
      assert.ok(gap.gapMs < bound, `longest gap ${gap.gapMs} ms ≥ ${bound} ms`);
      assert.ok(watchLag < watchBound, `watch delivery lag ${watchLag} ms ≥ ${watchBound} ms`);
    });
  },
  { netLab: { nodes: 3 } },
);
