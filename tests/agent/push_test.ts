/**
 * Publish → every watcher receives every new version, over each transport
 * (SSE, gRPC Watch, long poll), from two agents on one real cassemdb; and
 * the gRPC reads and errors.
 */

import assert from "node:assert/strict";
import { scenario } from "../db/_scenario.ts";
import { waitFor, withAgents } from "./_agents.ts";
import { AgentGrpc, SseWatcher } from "./_clients.ts";

const E = "/v1/apps/shop/envs/prod";
const VERSIONS = 20;

scenario(
  import.meta.url,
  "publish reaches every SSE, gRPC and long-poll watcher on every agent",
  async () => {
    await withAgents("push", async (w) => {
      await w.pub.appEnv("shop", "prod");
      await w.pub.publish("shop", "prod", "k", { version: 1, raw: "v1" });
      const a1 = await w.agent();
      const a2 = await w.agent();
      const sse = [a1, a2, a1, a2].map((a, i) =>
        new SseWatcher(() => [a.url], `${E}/watch?keys=k`, { "x-cassem-client-id": `sse-${i}` })
      );
      const grpcSeen: number[][] = [[], []];
      const grpcClients = [a1, a2].map((a) => new AgentGrpc(a.grpc));
      const streams = grpcClients.map((g, i) =>
        g.watch(
          { app: "shop", env: "prod", keys: ["k"] },
          { "x-cassem-client-id": `grpc-${i}` },
          (m) => {
            for (const el of m.elements ?? []) grpcSeen[i]!.push(Number(el.version));
          },
        )
      );
      await waitFor(
        "every SSE watcher ready",
        () => sse.every((s) => s.readyCount === 1) || undefined,
      );
      await waitFor(
        "every gRPC watcher has v1",
        () => grpcSeen.every((s) => s.length === 1) || undefined,
      );

      // Long pollers: each loops on its fingerprint until it holds the last version.
      const pollers = [a1, a2].map(async (a) => {
        let held: string | null = null;
        let version = 0;
        const versions: number[] = [];
        while (version < VERSIONS) {
          const r: Response = await fetch(`${a.url}${E}/poll`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ held: { k: held }, timeoutMs: 5_000 }),
          });
          assert.equal(r.status, 200);
          const body: { elements: { fingerprint: string; version: number }[] } = await r.json();
          for (const el of body.elements) {
            held = el.fingerprint;
            version = el.version;
            versions.push(version);
          }
        }
        return versions;
      });

      for (let v = 2; v <= VERSIONS; v++) {
        await w.pub.publish("shop", "prod", "k", { version: v, raw: `v${v}` });
        await new Promise((r) => setTimeout(r, 20));
      }
      const all = Array.from({ length: VERSIONS }, (_, i) => i + 1);
      await waitFor(
        "every SSE watcher has the last version",
        () => sse.every((s) => s.last("k") === VERSIONS) || undefined,
        { timeoutMs: 30_000 },
      );
      for (const s of sse) {
        assert.deepEqual(
          s.seen.get("k")!.map((x) => x.version),
          all,
          "each version once, in order",
        );
      }
      await waitFor(
        "every gRPC watcher has the last version",
        () => grpcSeen.every((s) => s.at(-1) === VERSIONS) || undefined,
        { timeoutMs: 30_000 },
      );
      for (const s of grpcSeen) assert.deepEqual(s, all);
      for (const versions of await Promise.all(pollers)) {
        assert.deepEqual(versions, [...versions].sort((a, b) => a - b), "never backwards");
        assert.equal(versions.at(-1), VERSIONS);
      }
      for (const s of sse) await s.stop();
      for (const s of streams) s.cancel();

      // gRPC reads and errors.
      const g = grpcClients[0]!;
      const got = await g.call("GetElements", { app: "shop", env: "prod", keys: ["k", "x"] });
      assert.equal(got.elements[0].raw, `v${VERSIONS}`);
      assert.equal(got.elements[0].contentType, "plaintext");
      assert.deepEqual(got.missing, ["x"]);
      await assert.rejects(
        g.call("GetElements", { app: "shop", env: "prod", keys: ["bad/key"] }),
        (e: { code: number; metadata: { get(k: string): unknown[] } }) =>
          e.code === 3 && e.metadata.get("x-cassem-field")[0] === "keys[0]",
      );
      await assert.rejects(
        g.call("GetElements", { app: "nope", env: "prod", keys: ["k"] }),
        (e: { code: number }) => e.code === 5,
      );
      const reg = await g.call("Register", {
        watching: [{ app: "shop", env: "prod", keys: ["k"] }],
      }, {
        "x-cassem-client-id": "grpc-reg",
      });
      assert.equal(reg.clientId, "grpc-reg");
      assert.ok(Number(reg.ttlSeconds) > 0);
      assert.ok((await w.db.get("cassem/instances/grpc-reg")).entity);
      assert.equal(
        (await g.call("Unregister", {}, { "x-cassem-client-id": "grpc-reg" })).removed,
        true,
      );
      // The gRPC clients stay open: closing a channel can crash Deno 2.9.6 (tests/db/README.md).
    });
  },
);

scenario(
  import.meta.url,
  "a gRPC watcher that stops reading is cut off with RESOURCE_EXHAUSTED",
  async () => {
    await withAgents("grpc-slow", async (w) => {
      await w.pub.appEnv("shop", "prod");
      await w.pub.publish("shop", "prod", "big", { version: 1, raw: "x" });
      const a = await w.agent(["--stream-buffer", "256k"]);
      const g = new AgentGrpc(a.grpc);
      let received = 0;
      const s = g.watch({ app: "shop", env: "prod", keys: ["big"] }, {
        "x-cassem-client-id": "slow",
      }, () => {
        received++;
      });
      await waitFor("the initial state", () => received >= 2 || undefined);
      const status = async () => await (await fetch(`${a.url}/v1/status`)).json();
      assert.equal((await status()).subscribers, 1);
      // Stop reading: HTTP/2 flow control backs the agent's writes up.
      s.call.pause();
      for (let v = 2; v <= 40; v++) {
        await w.pub.publish("shop", "prod", "big", {
          version: v,
          raw: String(v).padEnd(60_000, "."),
        });
      }
      await waitFor(
        "the agent dropped the slow watcher",
        async () => (await status()).subscribers === 0 || undefined,
        { timeoutMs: 30_000 },
      );
      s.call.resume();
      const end = await s.ended;
      assert.equal(end?.code, 8, `RESOURCE_EXHAUSTED, got ${end?.code} ${end?.details}`);
      assert.match(String(end?.details), /reads too slowly/);
    });
  },
);
