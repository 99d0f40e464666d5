/**
 * The gRPC service of a real agent on a real cassemdb: the stream bound
 * spares the initial state of a Watch; heartbeats; identity in metadata
 * (secret, labels); gray pushes; the instance a Watch registers; Renew;
 * `stale` reads when cassemdb is gone.
 */

import assert from "node:assert/strict";
import { scenario } from "../db/_scenario.ts";
import { waitFor, withAgents } from "./_agents.ts";
import { AgentGrpc } from "./_clients.ts";

const KEYS = Array.from({ length: 10 }, (_, i) => `k${i}`);

// deno-lint-ignore no-explicit-any
type Any = any;

scenario(
  import.meta.url,
  "a Watch whose initial state is larger than --stream-buffer gets it whole, then READY and pushes",
  async () => {
    await withAgents("grpc-initial", async (w) => {
      await w.pub.appEnv("shop", "prod");
      // 10 × 8 KiB ≈ 80 KiB of initial state over a 64 KiB bound.
      for (const k of KEYS) {
        await w.pub.publish("shop", "prod", k, { version: 1, raw: k.padEnd(8_192, ".") });
      }
      const a = await w.agent(["--stream-buffer", "64k"]);
      const g = new AgentGrpc(a.grpc);
      const got: Any[] = [];
      const s = g.watch({ app: "shop", env: "prod", keys: KEYS }, {}, (m) => got.push(m));
      let ended: Any = null;
      void s.ended.then((e) => (ended = e ?? { code: 0 }));
      await waitFor(
        "READY (or the end of the stream)",
        () => got.some((m) => m.kind === "READY") || ended ? true : undefined,
        { timeoutMs: 30_000 },
      );
      assert.equal(ended, null, `the stream is open: ended with ${ended?.code} ${ended?.details}`);
      const change = got.find((m) => m.kind === "CHANGE");
      assert.deepEqual(change.elements.map((e: Any) => e.key), KEYS);
      await w.pub.publish("shop", "prod", "k3", { version: 2, raw: "small" });
      await waitFor(
        "the push after READY",
        () => got.some((m) => m.kind === "CHANGE" && m.elements[0]?.raw === "small") || undefined,
      );
      assert.equal(ended, null);
      s.cancel();
      // The gRPC client stays open: closing a channel can crash Deno 2.9.6 (tests/db/README.md).
    });
  },
);
