/**
 * kill -9 an agent mid-stream: its SSE and gRPC clients reconnect to
 * another agent with what they last saw (Last-Event-ID / revision) while
 * versions keep being published, and miss nothing (each ends on the last
 * version) and get nothing twice (versions strictly increase).
 */

import assert from "node:assert/strict";
import { scenario } from "../db/_scenario.ts";
import { sleep, waitFor, withAgents } from "./_agents.ts";
import { AgentGrpc, SseWatcher } from "./_clients.ts";

const E = "/v1/apps/shop/envs/prod";
const KEYS = ["a", "b", "c"];
const ROUNDS = 40;

scenario(
  import.meta.url,
  "kill -9 an agent mid-stream: clients resume on another agent, missing nothing, nothing twice",
  async () => {
    await withAgents("failover", async (w) => {
      await w.pub.appEnv("shop", "prod");
      for (const k of KEYS) await w.pub.publish("shop", "prod", k, { version: 1, raw: `${k}1` });
      const victim = await w.agent();
      const others = [await w.agent(), await w.agent()];
      // The victim first; once it is dead, the next agents in turn.
      const urls = () => [victim, ...others].filter((a) => a.running).map((a) => a.url);
      const sse = Array.from(
        { length: 6 },
        (_, i) =>
          new SseWatcher(urls, `${E}/watch?keys=${KEYS.join(",")}`, {
            "x-cassem-client-id": `c-${i}`,
          }),
      );
      // A gRPC client that resumes with the revision of its last message.
      const grpcSeen = new Map<string, number[]>(KEYS.map((k) => [k, []]));
      let grpcRevision = 0;
      let grpcConnects = 0;
      let stopGrpc = false;
      const grpcLoop = (async () => {
        const targets = () => [victim, ...others].filter((a) => a.running);
        while (!stopGrpc) {
          const a = targets()[0]!;
          const g = new AgentGrpc(a.grpc);
          grpcConnects++;
          const s = g.watch(
            { app: "shop", env: "prod", keys: KEYS, revision: grpcRevision },
            {},
            (m) => {
              for (const el of m.elements ?? []) grpcSeen.get(el.key)!.push(Number(el.version));
              if (m.kind !== "HEARTBEAT") grpcRevision = Number(m.revision);
            },
          );
          const end = await Promise.race([
            s.ended,
            (async () => {
              while (!stopGrpc && a.running) await sleep(50);
            })(),
          ]);
          s.cancel();
          void end;
          await sleep(50);
        }
      })();
      await waitFor("every watcher ready", () => sse.every((s) => s.readyCount >= 1) || undefined);

      let last = 1;
      for (let v = 2; v <= ROUNDS; v++) {
        const k = KEYS[v % KEYS.length]!;
        await w.pub.publish("shop", "prod", k, { version: v, raw: `${k}${v}` });
        last = v;
        if (v === ROUNDS / 2) {
          w.cluster.note("kill -9 the agent the clients stream from");
          await victim.signal("SIGKILL");
        }
        await sleep(25);
      }
      const finalOf = (k: string) => {
        let f = 1;
        for (let v = 2; v <= last; v++) if (KEYS[v % KEYS.length] === k) f = v;
        return f;
      };
      for (const s of sse) {
        await waitFor(
          "an SSE client holds the last version of every key",
          () => KEYS.every((k) => s.last(k) === finalOf(k)) || undefined,
          { timeoutMs: 30_000 },
        );
      }
      await waitFor(
        "the gRPC client holds the last version of every key",
        () => KEYS.every((k) => grpcSeen.get(k)!.at(-1) === finalOf(k)) || undefined,
        { timeoutMs: 30_000 },
      );
      stopGrpc = true;
      await grpcLoop;
      for (const s of sse) {
        await s.stop();
      }

      for (const [i, s] of sse.entries()) {
        assert.ok(s.connects.length >= 2, `client ${i} reconnected`);
        const resumed = s.connects.slice(1);
        assert.ok(
          resumed.every((c) => c.lastEventId !== "" && c.url !== victim.url),
          JSON.stringify(s.connects),
        );
        assert.equal(s.fullResumes, 0, "the other agents rebuilt each client's view exactly");
        for (const k of KEYS) {
          const versions = s.seen.get(k)!.map((x) => x.version);
          for (let j = 1; j < versions.length; j++) {
            assert.ok(
              versions[j]! > versions[j - 1]!,
              `client ${i} key ${k}: ${versions} (nothing twice, never back)`,
            );
          }
        }
      }
      assert.ok(grpcConnects >= 2);
      for (const k of KEYS) {
        const versions = grpcSeen.get(k)!;
        for (let j = 1; j < versions.length; j++) {
          assert.ok(versions[j]! > versions[j - 1]!, `gRPC key ${k}: ${versions}`);
        }
      }
    });
  },
);
