/**
 * Stop cassemdb: the agent keeps answering from its cache, marked
 * `X-Cassem-Stale: true` with the revision it holds, and only a key whose
 * body it never held fails (503); when cassemdb returns it is current again
 * and pushes resume. Also: an agent started while cassemdb is down says so,
 * answers 503, and serves once cassemdb comes up.
 */

import assert from "node:assert/strict";
import { scenario } from "../db/_scenario.ts";
import { AgentProc, waitFor, withAgents } from "./_agents.ts";
import { SseWatcher } from "./_clients.ts";

const E = "/v1/apps/shop/envs/prod";

async function read(url: string, keys: string) {
  const r = await fetch(`${url}${E}/elements?keys=${keys}`);
  return {
    status: r.status,
    stale: r.headers.get("x-cassem-stale"),
    revision: r.headers.get("x-cassem-revision"),
    body: await r.json(),
  };
}

scenario(
  import.meta.url,
  "cassemdb stopped: reads answer from cache marked stale, and recover when it returns",
  async () => {
    await withAgents("stale", async (w) => {
      await w.pub.appEnv("shop", "prod");
      await w.pub.publish("shop", "prod", "hot", { version: 1, raw: "H1" });
      await w.pub.publish("shop", "prod", "cold", { version: 1, raw: "C1" });
      const a = await w.agent();
      for (let i = 0; i < 2; i++) assert.equal((await read(a.url, "hot")).status, 200);
      const watcher = new SseWatcher(() => [a.url], `${E}/watch?keys=hot`);
      await waitFor("watcher ready", () => watcher.readyCount === 1 || undefined);
      const fresh = await read(a.url, "hot");
      assert.equal(fresh.stale, null);

      const node = w.cluster.nodes[0]!;
      await w.cluster.kill(node);
      const stale = await waitFor("a stale answer", async () => {
        const r = await read(a.url, "hot");
        return r.stale === "true" ? r : undefined;
      });
      assert.equal(stale.status, 200);
      assert.equal(stale.revision, fresh.revision, "the revision it holds");
      assert.equal(stale.body.elements[0].raw, "H1");
      const cold = await read(a.url, "cold");
      assert.equal(cold.status, 503);
      assert.equal(cold.body.error.code, "UNAVAILABLE");
      assert.match(cold.body.error.message, /cassemdb is out of reach/);
      // Still answering a while later.
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal((await read(a.url, "hot")).status, 200);

      await w.cluster.restart(node);
      await w.cluster.waitLeader();
      await waitFor("a fresh answer", async () => {
        const r = await read(a.url, "hot");
        return r.stale === null && r.status === 200 ? r : undefined;
      }, { timeoutMs: 30_000 });
      assert.equal((await read(a.url, "cold")).body.elements[0].raw, "C1");
      await w.pub.publish("shop", "prod", "hot", { version: 2, raw: "H2" });
      await waitFor("the push after recovery", () => watcher.last("hot") === 2 || undefined, {
        timeoutMs: 30_000,
      });
      await watcher.stop();
    });
  },
);

scenario(
  import.meta.url,
  "an agent started while cassemdb is down answers 503 and serves once it is up",
  async () => {
    await withAgents("late-db", async (w) => {
      await w.pub.appEnv("shop", "prod");
      await w.pub.publish("shop", "prod", "k", { version: 1, raw: "K1" });
      const node = w.cluster.nodes[0]!;
      await w.cluster.kill(node);
      const a = new AgentProc("agent-early", [
        "--db",
        w.endpoints,
        "--listen",
        "127.0.0.1:0",
        "--grpc-listen",
        "off",
      ]);
      w.agents.push(a);
      await a.start({ waitLoaded: false });
      const early = await read(a.url, "k");
      assert.equal(early.status, 503);
      assert.match(early.body.error.message, /has not loaded the served data from cassemdb yet/);
      await waitFor(
        "the agent says it cannot reach cassemdb",
        () => a.lines.some((l) => /cannot reach cassemdb yet: retrying/.test(l)) || undefined,
      );
      await w.cluster.restart(node);
      const ok = await waitFor("served", async () => {
        const r = await read(a.url, "k");
        return r.status === 200 ? r : undefined;
      }, { timeoutMs: 30_000 });
      assert.equal(ok.body.elements[0].raw, "K1");
    });
  },
);
