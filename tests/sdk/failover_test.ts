/**
 * The SDK against real processes: one cassemdb node, two cassemagents,
 * serve records written through a DbClient as cassemadm would. A watching
 * client gets every version; kill -9 the agent it streams from while
 * versions keep being published → it fails over to the other agent and
 * misses nothing and gets nothing twice. Every agent down → a new client
 * starts from its disk cache and says it is stale; an agent back → it
 * catches up.
 */

import assert from "node:assert/strict";
import { ServePublisher } from "../../agent/_publisher.ts";
import { createClient, type WatchUpdate } from "../../sdk/mod.ts";
import { sleep, waitFor } from "../support/procs.ts";
import { withCluster } from "../db/_cluster.ts";
import { scenario } from "../db/_scenario.ts";
import { type AgentProc, fixedPortAgent } from "../agent/_agents.ts";

const KEYS = ["a", "b", "c"];
const ROUNDS = 45;
const KILL_AT = 15;

scenario(
  import.meta.url,
  "sdk: kill -9 the agent a client streams from: it fails over and misses nothing; all agents down: a new client starts stale from its disk cache, then catches up",
  async () => {
    await withCluster({ name: "sdk-failover", logLevel: "warn" }, async (cluster) => {
      const [node] = await cluster.startFounders(1);
      const pub = new ServePublisher(cluster.client({ timeoutMs: 10_000 }));
      const cacheDir = await Deno.makeTempDir({ prefix: "cassem_sdk_cache_" });
      const agents = [
        fixedPortAgent("agent1", node!.clientAddr, ["--heartbeat-ms", "500"]),
        fixedPortAgent("agent2", node!.clientAddr, ["--heartbeat-ms", "500"]),
      ];
      try {
        await pub.appEnv("shop", "prod");
        const published = new Map<string, number[]>(KEYS.map((k) => [k, [1]]));
        for (const k of KEYS) {
          await pub.publish("shop", "prod", k, {
            version: 1,
            raw: `{"${k}":1}`,
            contentType: "json",
          });
        }
        await Promise.all(agents.map((a) => a.start()));
        const [a1, a2] = agents as [AgentProc, AgentProc];

        const options = {
          agents: [a1.url, a2.url],
          app: "shop",
          env: "prod",
          clientId: "sdk-test-1",
          labels: { zone: "z1" },
          cacheDir,
          heartbeatTimeoutMs: 5_000,
          backoff: { initialMs: 50, maxMs: 500 },
        };
        const errors: string[] = [];
        const client = createClient({ ...options, onError: (e) => errors.push(e.message) });
        const seen = new Map<string, number[]>(KEYS.map((k) => [k, []]));
        const revisions: number[] = [];
        const watch = client.watch<Record<string, number>>(KEYS, (u) => {
          revisions.push(u.revision);
          for (const el of u.changed) {
            seen.get(el.key)!.push(el.version);
            assert.equal(
              el.value[el.key],
              el.version,
              "the value is the parsed raw of that version",
            );
          }
        });
        await watch.ready;
        assert.equal(watch.agent, a1.url);

        // Versions published while the client has no stream: a resume sends each changed key's
        // version as of the resume (agent/README.md), so these may be coalesced.
        const outage = new Map<string, Set<number>>(KEYS.map((k) => [k, new Set()]));
        const publishNext = async (k: string) => {
          const v = published.get(k)!.at(-1)! + 1;
          await pub.publish("shop", "prod", k, {
            version: v,
            raw: `{"${k}":${v}}`,
            contentType: "json",
          });
          published.get(k)!.push(v);
        };
        // Publish round-robin; kill -9 the agent the client streams from part-way.
        for (let i = 1; i <= ROUNDS; i++) {
          await publishNext(KEYS[i % KEYS.length]!);
          if (i === KILL_AT) {
            // Everything so far reached the client while it streamed; what follows may be
            // coalesced by the resume (agent/README.md: a resume sends current versions).
            await waitFor(
              "the client to hold every version published so far",
              () =>
                KEYS.every((k) => watch.current(k)?.version === published.get(k)!.at(-1)) ||
                undefined,
              { timeoutMs: 30_000 },
            );
            assert.equal(watch.agent, a1.url, "still streaming from agent1 before the kill");
            // agent2 frozen first: the client's reconnect hangs there while versions are
            // published, so it can only get them by resuming from the last revision it had.
            a2.pause();
            await a1.kill();
            for (let j = 0; j < 2 * KEYS.length; j++) {
              const k = KEYS[j % KEYS.length]!;
              await publishNext(k);
              outage.get(k)!.add(published.get(k)!.at(-1)!);
            }
            await sleep(300);
            assert.equal(
              watch.agent,
              undefined,
              "no stream while agent1 is dead and agent2 frozen",
            );
            a2.resume();
            await waitFor("the watch on agent2", () => watch.agent === a2.url || undefined, {
              timeoutMs: 30_000,
            });
          }
          await sleep(20);
        }
        await waitFor(
          "the client to hold the last version of every key",
          () =>
            KEYS.every((k) => watch.current(k)?.version === published.get(k)!.at(-1)) || undefined,
          {
            timeoutMs: 30_000,
          },
        );
        assert.equal(watch.agent, a2.url, "it failed over to agent2");
        let coalesced = 0;
        for (const k of KEYS) {
          const got = seen.get(k)!;
          const all = published.get(k)!;
          for (let i = 1; i < got.length; i++) {
            assert.ok(
              got[i]! > got[i - 1]!,
              `${k}: versions strictly increase (nothing twice): ${got}`,
            );
          }
          assert.ok(got.every((v) => all.includes(v)), `${k}: only published versions: ${got}`);
          const lost = all.filter((v) => !got.includes(v));
          assert.ok(
            lost.every((v) => outage.get(k)!.has(v)),
            `${k}: every version published while streaming is seen: missing ${lost} of ${all}`,
          );
          assert.equal(got.at(-1), all.at(-1), `${k}: ends on the last version`);
          coalesced += lost.length;
        }
        for (let i = 1; i < revisions.length; i++) {
          assert.ok(revisions[i]! > revisions[i - 1]!, `revisions strictly increase: ${revisions}`);
        }
        await client.close();
        const files = [...Deno.readDirSync(cacheDir)].map((e) => e.name);
        assert.equal(files.length, 1, `one cache file: ${files}`);
        assert.ok(!files[0]!.endsWith(".tmp"));

        // Every agent down: a new client (same identity and cacheDir) starts from the cache.
        await a2.kill();
        const last = new Map(KEYS.map((k) => [k, published.get(k)!.at(-1)!]));
        const aNext = last.get("a")! + 1;
        // cassemdb is still up: a publish while every agent is down.
        await pub.publish("shop", "prod", "a", {
          version: aNext,
          raw: `{"a":${aNext}}`,
          contentType: "json",
        });
        const restarted = createClient({ ...options, onError: (e) => errors.push(e.message) });
        const got = await restarted.get<Record<string, number>>("b");
        assert.deepEqual([got.version, got.stale, got.value.b], [
          last.get("b"),
          true,
          last.get("b"),
        ]);
        const updates: WatchUpdate[] = [];
        const w2 = restarted.watch(KEYS, (u) => updates.push(u));
        await w2.ready;
        assert.deepEqual(
          [updates[0]!.initial, updates[0]!.stale, w2.stale],
          [true, true, true],
          "the first update comes from the disk cache, stale",
        );
        assert.deepEqual(
          Object.fromEntries(updates[0]!.changed.map((e) => [e.key, e.version])),
          Object.fromEntries(last),
        );
        assert.ok(errors.some((m) => /no agent answered/.test(m)), "it said no agent answered");

        // An agent back: it catches up with what was published meanwhile.
        await a1.start();
        await waitFor("the live update", () => updates.length >= 2 || undefined, {
          timeoutMs: 30_000,
        });
        assert.deepEqual(
          [
            updates[1]!.initial,
            updates[1]!.stale,
            updates[1]!.changed.map((e) => `${e.key}${e.version}`),
          ],
          [false, false, [`a${aNext}`]],
        );
        assert.ok(!w2.stale);
        assert.equal(w2.agent, a1.url);
        const fresh = await restarted.get("a");
        assert.deepEqual([fresh.version, fresh.stale], [aNext, false]);
        await restarted.close();
        console.log(
          `sdk failover: ${
            ROUNDS + 2 * KEYS.length
          } publishes, agent1 killed after ${KILL_AT}; seen ${
            KEYS.map((k) => `${k}=${seen.get(k)!.join(",")}`).join(" ")
          }; ${coalesced} of the ${
            2 * KEYS.length
          } versions published during the outage coalesced by the resume`,
        );
      } catch (e) {
        console.error(agents.map((a) => a.tail()).join("\n"));
        throw e;
      } finally {
        await Promise.all(agents.map((a) => a.kill()));
        await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
      }
    });
  },
  { timeoutMs: 240_000 },
);
