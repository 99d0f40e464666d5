/**
 * A real cassemagent process counts what it serves: its gRPC calls (by
 * method and status code, through the interceptor `agent/main.ts` wires)
 * and its HTTP reads (the fast path included) appear on `/metrics`, beside
 * the cache and push families; `/healthz` and `/readyz` answer.
 */

import assert from "node:assert/strict";
import { parsePrometheusText } from "../../shared/metrics/mod.ts";
import { scenario } from "../db/_scenario.ts";
import { waitFor, withAgents } from "./_agents.ts";
import { AgentGrpc } from "./_clients.ts";

scenario(
  import.meta.url,
  "a real agent's /metrics counts its gRPC calls by method and code, and its HTTP reads",
  async () => {
    await withAgents("agent-metrics", async (w) => {
      await w.pub.appEnv("shop", "prod");
      await w.pub.publish("shop", "prod", "k", { version: 1, raw: "v1" });
      const a = await w.agent();
      const g = new AgentGrpc(a.grpc);
      try {
        for (let i = 0; i < 2; i++) {
          const got = await g.call("GetElements", { app: "shop", env: "prod", keys: ["k"] });
          assert.equal(got.elements[0].raw, "v1");
        }
        await assert.rejects(
          g.call("GetElements", { app: "nope", env: "prod", keys: ["k"] }),
          (e: { code: number }) => e.code === 5,
        );
      } finally {
        g.client.close();
      }
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`${a.url}/v1/apps/shop/envs/prod/elements?keys=k`);
        assert.equal(r.status, 200);
        await r.body?.cancel();
      }
      const scrape = async () => {
        const r = await fetch(`${a.url}/metrics`);
        assert.equal(r.status, 200);
        return parsePrometheusText(await r.text());
      };
      const method = { grpc_method: "GetElements" };
      const m = await waitFor("the gRPC calls counted", async () => {
        const s = await scrape();
        return s.sum("grpc_server_handled_total", method) >= 3 ? s : undefined;
      }, { timeoutMs: 10_000 });
      assert.equal(m.sum("grpc_server_started_total", method), 3);
      assert.equal(m.sum("grpc_server_handled_total", { ...method, grpc_code: "OK" }), 2);
      assert.equal(m.sum("grpc_server_handled_total", { ...method, grpc_code: "NOT_FOUND" }), 1);
      assert.equal(m.sum("grpc_server_handling_seconds_count", method), 3);
      assert.equal(
        m.sum("http_requests_total", {
          route: "/v1/apps/:app/envs/:env/elements",
          status: "200",
        }),
        3,
      );
      assert.equal((await fetch(`${a.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${a.url}/readyz`)).status, 200);
    });
  },
);
