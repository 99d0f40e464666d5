/**
 * The gRPC service of a real agent on a real cassemdb: the stream bound
 * spares the initial state of a Watch; heartbeats; identity in metadata
 * (secret, labels); gray pushes; the instance a Watch registers; Renew;
 * `stale` reads when cassemdb is gone.
 */

import assert from "node:assert/strict";
import { instanceKey } from "../../shared/config/mod.ts";
import type { DbClient } from "../../shared/db/mod.ts";
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

/** Decoded instance record of `id`, or undefined. */
async function instanceOf(w: { db: DbClient }, id: string): Promise<Any | undefined> {
  const { entity } = await w.db.get(instanceKey(id));
  return entity ? JSON.parse(new TextDecoder().decode(entity.val)) : undefined;
}

/** A Watch that records its messages and how it ended. */
function watchOf(g: AgentGrpc, keys: string[], md: Record<string, string>) {
  const got: Any[] = [];
  const w = { got, end: undefined as Any, stream: undefined as Any };
  w.stream = g.watch({ app: "shop", env: "prod", keys }, md, (m) => got.push(m));
  void w.stream.ended.then((e: Any) => (w.end = e ?? { code: 0 }));
  return w;
}

/** The versions (and whether gray) of `key` in the CHANGE messages `got`. */
function versionsOf(got: Any[], key: string): string[] {
  return got.filter((m) => m.kind === "CHANGE").flatMap((m) =>
    m.elements.filter((e: Any) => e.key === key).map((e: Any) =>
      `${Number(e.version)}${e.gray ? "g" : ""}`
    )
  );
}

scenario(
  import.meta.url,
  "gRPC: secret and labels in metadata, gray pushes, heartbeats, the instance of a Watch, Renew and Unregister, stale reads",
  async () => {
    await withAgents("grpc-identity", async (w) => {
      await w.pub.appEnv("shop", "prod", "s3cret");
      await w.pub.publish("shop", "prod", "k", { version: 1, raw: "live-1" });
      const a = await w.agent(["--heartbeat-ms", "300", "--instance-ttl", "30"]);
      const g = new AgentGrpc(a.grpc);
      const read = (md: Record<string, string>) =>
        g.call("GetElements", { app: "shop", env: "prod", keys: ["k"] }, md);
      const SECRET = { "x-cassem-secret": "s3cret" };

      // Secret: missing → UNAUTHENTICATED, wrong → PERMISSION_DENIED (as HTTP's 401/403); nothing revealed.
      for (const [md, code] of [[{}, 16], [{ "x-cassem-secret": "nope" }, 7]] as const) {
        await assert.rejects(read(md), (e: Any) => {
          assert.equal(e.code, code, `${e.code} ${e.details}`);
          assert.doesNotMatch(String(e.details), /live-1/);
          assert.equal(e.metadata.get("x-cassem-field")[0], "X-Cassem-Secret");
          return true;
        });
        const refused = watchOf(g, ["k"], md);
        await waitFor("the refused Watch ends", () => refused.end);
        assert.equal(refused.end.code, code, `Watch: ${refused.end.code} ${refused.end.details}`);
        assert.deepEqual(refused.got, [], "a refused Watch is sent nothing");
      }

      // Labels select the gray version, for reads and Watch alike.
      await w.pub.gray("shop", "prod", "k", { version: 2, raw: "gray-2" }, {
        kind: "labels",
        selector: { tier: "canary" },
      });
      await waitFor(
        "the gray version served",
        async () =>
          Number(
              (await read({ ...SECRET, "x-cassem-labels": "tier=canary" })).elements[0].version,
            ) ===
            2 || undefined,
      );
      const plainRead = await read(SECRET);
      assert.deepEqual([Number(plainRead.elements[0].version), plainRead.elements[0].gray], [
        1,
        false,
      ]);
      const canaryRead = await read({ ...SECRET, "x-cassem-labels": "zone=b,tier=canary" });
      assert.deepEqual([canaryRead.elements[0].raw, canaryRead.elements[0].gray], ["gray-2", true]);

      const canary = watchOf(g, ["k"], {
        ...SECRET,
        "x-cassem-client-id": "canary-1",
        "x-cassem-labels": "tier=canary",
      });
      const plain = watchOf(g, ["k"], { ...SECRET, "x-cassem-client-id": "plain-1" });
      await waitFor(
        "both Watches ready",
        () => [canary, plain].every((s) => s.got.some((m) => m.kind === "READY")) || undefined,
      );
      assert.deepEqual(versionsOf(canary.got, "k"), ["2g"]);
      assert.deepEqual(versionsOf(plain.got, "k"), ["1"]);

      // The Watch registers its client while open, with its labels and what it was sent.
      const rec = await waitFor("the canary's instance record", async () => {
        const r = await instanceOf(w, "canary-1");
        return r?.running?.length ? r : undefined;
      });
      assert.equal(rec.agentId, a.id);
      assert.deepEqual(rec.labels, { tier: "canary" });
      assert.deepEqual(rec.watching, [{ app: "shop", env: "prod", keys: ["k"] }]);
      assert.deepEqual(
        rec.running.map((r: Any) => [r.key, r.version, r.gray]),
        [["k", 2, true]],
      );

      // Gray pushes: a new gray version reaches the canary only; promotion reaches both.
      await w.pub.gray("shop", "prod", "k", { version: 3, raw: "gray-3" }, {
        kind: "labels",
        selector: { tier: "canary" },
      });
      await waitFor(
        "the canary gets gray 3",
        () => versionsOf(canary.got, "k").includes("3g") || undefined,
      );
      await w.pub.promote("shop", "prod", "k");
      await waitFor(
        "both get live 3",
        () => [canary, plain].every((s) => versionsOf(s.got, "k").at(-1) === "3") || undefined,
      );
      assert.deepEqual(versionsOf(canary.got, "k"), ["2g", "3g", "3"]);
      assert.deepEqual(versionsOf(plain.got, "k"), ["1", "3"], "never sent a gray version");

      // HEARTBEAT messages at the configured 300 ms, not faster.
      const beats = () => plain.got.filter((m) => m.kind === "HEARTBEAT").length;
      const b0 = beats();
      const t0 = performance.now();
      await waitFor("5 heartbeats", () => beats() >= b0 + 5 || undefined, { timeoutMs: 20_000 });
      const elapsed = performance.now() - t0;
      assert.ok(elapsed >= 3 * 300 - 50, `not faster than configured: 5 in ${elapsed} ms`);
      assert.ok(
        plain.got.filter((m) => m.kind === "HEARTBEAT").every((m) => Number(m.revision) > 0),
        "each carries the agent's revision",
      );

      // Closing the Watch removes the record it wrote.
      canary.stream.cancel();
      await waitFor(
        "the canary's record removed",
        async () => (await instanceOf(w, "canary-1")) === undefined || undefined,
      );

      // Renew: with a report it rewrites the record, with keep it extends it as it stands.
      const reg = await g.call("Register", {
        watching: [{ app: "shop", env: "prod", keys: ["k"] }],
      }, { ...SECRET, "x-cassem-client-id": "r-1" });
      assert.equal(reg.clientId, "r-1");
      const running = [{
        app: "shop",
        env: "prod",
        key: "k",
        version: 3,
        fingerprint: "3".repeat(64),
        gray: false,
      }];
      await assert.rejects(
        g.call("Renew", { running, watching: [{ app: "shop", env: "prod", keys: ["k"] }] }, {
          "x-cassem-client-id": "r-1",
        }),
        (e: Any) => e.code === 16,
        "a report of a secret env needs the secret",
      );
      const renewed = await g.call("Renew", {
        running,
        watching: [{ app: "shop", env: "prod", keys: ["k"] }],
      }, { ...SECRET, "x-cassem-client-id": "r-1" });
      assert.equal(Number(renewed.ttlSeconds), 30);
      const after = await instanceOf(w, "r-1");
      assert.deepEqual(after.running.map((r: Any) => r.version), [3]);
      await g.call("Renew", { keep: true }, { ...SECRET, "x-cassem-client-id": "r-1" });
      const kept = await instanceOf(w, "r-1");
      assert.deepEqual(kept.running, after.running, "keep: the record as it stood");
      assert.equal(kept.registeredAt, after.registeredAt);
      await assert.rejects(
        g.call("Renew", { keep: true }, { ...SECRET, "x-cassem-client-id": "never" }),
        (e: Any) => e.code === 5 && e.metadata.get("x-cassem-field")[0] === "clientId",
        "NOT_FOUND for an instance that is not registered",
      );

      // Unregister needs the secret of the env its record watches.
      await assert.rejects(
        g.call("Unregister", {}, { "x-cassem-client-id": "r-1" }),
        (e: Any) => e.code === 16,
      );
      assert.ok(await instanceOf(w, "r-1"), "still registered");
      assert.equal(
        (await g.call("Unregister", {}, { ...SECRET, "x-cassem-client-id": "r-1" })).removed,
        true,
      );

      // cassemdb gone: GetElements answers from the cache with stale set.
      const fresh = await read(SECRET);
      assert.equal(fresh.stale, false);
      await w.cluster.kill(w.cluster.nodes[0]!);
      const stale = await waitFor("a stale answer", async () => {
        const r = await read(SECRET);
        return r.stale ? r : undefined;
      }, { timeoutMs: 30_000 });
      assert.equal(stale.elements[0].raw, "gray-3");
      assert.equal(Number(stale.revision), Number(fresh.revision), "the revision it holds");
      plain.stream.cancel();
    });
  },
);

scenario(
  import.meta.url,
  "a push to more Watch streams than the agent writes in one turn reaches every stream, in order",
  async () => {
    await withAgents("grpc-spread", async (w) => {
      await w.pub.appEnv("shop", "prod");
      await w.pub.publish("shop", "prod", "hot", { version: 1, raw: "v1" });
      const a = await w.agent();
      const g = new AgentGrpc(a.grpc);
      // 300 streams: over the 128 writes a turn of grpc_service.ts, so pushes wait their turn.
      const streams = Array.from({ length: 300 }, () => {
        const versions: number[] = [];
        let ready = false;
        const s = g.watch({ app: "shop", env: "prod", keys: ["hot"] }, {}, (m) => {
          if (m.kind === "READY") ready = true;
          else if (m.kind === "CHANGE" && ready) {
            for (const e of m.elements) versions.push(Number(e.version));
          }
        });
        return { s, versions, isReady: () => ready };
      });
      await waitFor(
        "every stream READY",
        () => streams.every((x) => x.isReady()) || undefined,
        { timeoutMs: 60_000 },
      );
      // Published back to back: a later revision may arrive while the earlier one still waits.
      for (let v = 2; v <= 4; v++) {
        await w.pub.publish("shop", "prod", "hot", { version: v, raw: `v${v}` });
      }
      await waitFor(
        "version 4 on every stream",
        () => streams.every((x) => x.versions.at(-1) === 4) || undefined,
        { timeoutMs: 60_000 },
      );
      for (const x of streams) assert.deepEqual(x.versions, [2, 3, 4]);
      for (const x of streams) x.s.cancel();
    });
  },
);
