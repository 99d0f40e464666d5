/**
 * Instances on real processes: a registered instance expires when it stops
 * renewing; a streaming client is registered by the agent while its stream
 * is open (with what it was sent) and removed when it closes; when an agent
 * dies (kill -9) its streaming clients' records and its own expire.
 */

import assert from "node:assert/strict";
import { agentKey, instanceKey } from "../../shared/config/mod.ts";
import type { DbClient } from "../../shared/db/mod.ts";
import { scenario } from "../db/_scenario.ts";
import { sleep, waitFor, withAgents } from "./_agents.ts";
import { SseWatcher } from "./_clients.ts";

const E = "/v1/apps/shop/envs/prod";

async function record(db: DbClient, key: string): Promise<Record<string, unknown> | undefined> {
  const { entity } = await db.get(key);
  return entity ? JSON.parse(new TextDecoder().decode(entity.val)) : undefined;
}

scenario(
  import.meta.url,
  "instances expire unless renewed; streams register their client while open",
  async () => {
    await withAgents("instances", async (w) => {
      await w.pub.appEnv("shop", "prod");
      await w.pub.publish("shop", "prod", "k", { version: 7, raw: "K" });
      const a = await w.agent(["--instance-ttl", "2", "--agent-ttl", "2"]);
      const self = await record(w.db, agentKey(a.id));
      assert.equal(self?.addr, a.http);
      assert.equal(self?.grpcAddr, a.grpc);

      const register = (id: string, method = "POST", path = "/v1/instances") =>
        fetch(`${a.url}${path}`, {
          method,
          headers: { "content-type": "application/json", "x-cassem-client-id": id },
          body: method === "POST"
            ? JSON.stringify({ watching: [{ app: "shop", env: "prod", keys: ["k"] }] })
            : undefined,
        }).then(async (r) => [r.status, await r.json()] as const);

      const [status, answer] = await register("lonely");
      assert.equal(status, 200, JSON.stringify(answer));
      assert.equal(answer.ttlSeconds, 2);
      assert.ok(await record(w.db, instanceKey("lonely")));
      const [, renewed] = await register("renewed");
      assert.ok(renewed);
      // "renewed" renews every 600 ms for 4 s; "lonely" never does.
      const t0 = Date.now();
      while (Date.now() - t0 < 4_000) {
        await sleep(600);
        const [s] = await register("renewed", "PUT", "/v1/instances/renewed");
        assert.equal(s, 200);
      }
      assert.equal(await record(w.db, instanceKey("lonely")), undefined, "expired after its TTL");
      assert.ok(await record(w.db, instanceKey("renewed")), "kept alive by renewals");
      await waitFor(
        "the renewed one expires once renewals stop",
        async () => (await record(w.db, instanceKey("renewed"))) === undefined || undefined,
        { timeoutMs: 15_000 },
      );

      // A streaming client: registered while its stream is open, past its TTL.
      const s = new SseWatcher(() => [a.url], `${E}/watch?keys=k`, {
        "x-cassem-client-id": "streamer",
        "x-cassem-labels": "region=eu",
      });
      const rec = await waitFor(
        "the streamer's record",
        () => record(w.db, instanceKey("streamer")),
      );
      assert.deepEqual(rec.labels, { region: "eu" });
      assert.equal(rec.agentId, a.id);
      assert.equal(rec.clientIp, "127.0.0.1");
      assert.deepEqual(rec.watching, [{ app: "shop", env: "prod", keys: ["k"] }]);
      assert.deepEqual(
        (rec.running as { key: string; version: number; gray: boolean }[]).map((
          r,
        ) => [r.key, r.version, r.gray]),
        [["k", 7, false]],
      );
      await sleep(3_500);
      assert.ok(
        await record(w.db, instanceKey("streamer")),
        "renewed by the agent while the stream is open",
      );
      await s.stop();
      await waitFor(
        "the streamer's record removed when its stream closed",
        async () => (await record(w.db, instanceKey("streamer"))) === undefined || undefined,
        { timeoutMs: 10_000 },
      );

      // kill -9 with a stream open: nobody removes the records, their TTLs do.
      const s2 = new SseWatcher(() => [a.url], `${E}/watch?keys=k`, {
        "x-cassem-client-id": "orphan",
      });
      await waitFor("the orphan's record", () => record(w.db, instanceKey("orphan")));
      await a.signal("SIGKILL");
      await waitFor(
        "the orphan's record expires",
        async () => (await record(w.db, instanceKey("orphan"))) === undefined || undefined,
        { timeoutMs: 15_000 },
      );
      await waitFor(
        "the agent's own record expires",
        async () => (await record(w.db, agentKey(a.id))) === undefined || undefined,
        { timeoutMs: 15_000 },
      );
      await s2.stop();
    });
  },
);
