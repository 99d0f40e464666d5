/**
 * A leader that stops answering (SIGSTOP: paused, its sockets still open)
 * costs a client about one attempt's timeout, not its whole deadline: each
 * attempt has a short deadline of its own, after which the client avoids
 * that node and follows the new leader. Writers keep going through the
 * pause; the longest time without an acknowledged write must stay near the
 * cluster's own failover time plus one attempt, and every write the client
 * did not flag `mayHaveApplied` must be applied exactly as it reported.
 */

import assert from "node:assert/strict";
import { checkDurable, describeWrites, longestGap, runWriters } from "./_checks.ts";
import { scenario, sleep, waitFor, withCluster } from "./_cluster.ts";

/** `PAUSED_ATTEMPT_MS=5000` measures the old behaviour (one attempt with the whole deadline). */
const ATTEMPT_MS = Number(Deno.env.get("PAUSED_ATTEMPT_MS") ?? 1_000);
const PREFIX = "pz/";
const key = (i: number) => `${PREFIX}k${String(i).padStart(5, "0")}`;

scenario(
  import.meta.url,
  "DbClient fails over from a paused leader within about one attempt timeout",
  async () => {
    await withCluster({ name: "paused-leader" }, async (c) => {
      await c.startFounders(3);
      const { node: leader } = await c.waitLeader();
      const others = c.running().filter((p) => p !== leader);
      // Every writer knows the leader before the pause: the case the per-attempt timeout is for.
      const clients = Array.from(
        { length: 4 },
        () => c.client({ timeoutMs: 5_000, attemptTimeoutMs: ATTEMPT_MS }),
      );
      for (const cl of clients) await cl.set("warm/up", "x", { overwrite: true });
      assert.ok(
        clients.every((cl) => cl.leaderAddr === leader.clientAddr),
        "writers know the leader",
      );
      let stop = false;
      const { log, done } = runWriters({
        key,
        count: 20_000,
        deadline: Date.now() + 40_000,
        clients,
        stop: () => stop,
      });
      let pausedAt = 0;
      let electedAfter = 0;
      let resumedAt = Infinity;
      try {
        await waitFor("200 acknowledged writes", () => (log.acked() >= 200 ? true : undefined));
        pausedAt = Date.now();
        c.note(`SIGSTOP ${leader.name} (pid ${leader.pid})`);
        Deno.kill(leader.pid!, "SIGSTOP");
        await c.waitLeader({ among: others });
        electedAfter = Date.now() - pausedAt;
        c.note(`new leader after ${electedAfter} ms`);
        await waitFor("writes under the new leader", () => {
          const after = [...log.outcomes.values()].filter((o) => o.ok && o.at > pausedAt).length;
          return after >= 200 ? true : undefined;
        }, { timeoutMs: 20_000 });
        await sleep(500);
      } finally {
        resumedAt = Date.now();
        if (leader.pid) Deno.kill(leader.pid, "SIGCONT");
        c.note(`SIGCONT ${leader.name}`);
        stop = true;
        await done;
      }
      await c.waitConverged();
      const { appliedAmbiguous } = await checkDurable(c, c.running(), PREFIX, key, log);
      const gap = longestGap(log, pausedAt - 1_000, resumedAt);
      const bound = 2_000 + ATTEMPT_MS + electedAfter;
      console.log(describeWrites(log).split("\n").slice(0, 8).join("\n"));
      console.log(
        `paused leader: new leader after ${electedAfter} ms; longest gap between acknowledged ` +
          `writes ${gap.gapMs} ms, from ${gap.after - pausedAt} ms after the pause ` +
          `(attempt timeout ${ATTEMPT_MS} ms, whole deadline 5,000 ms, bound ${bound} ms); ` +
          `${appliedAmbiguous.length} ambiguous writes applied`,
      );
      assert.ok(gap.gapMs < bound, `longest gap ${gap.gapMs} ms ≥ ${bound} ms`);
    });
  },
);
