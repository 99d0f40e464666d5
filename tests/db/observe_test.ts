/**
 * cassemdb's /metrics, /healthz, /readyz and JSON logs, on real nodes:
 *
 * - a 3-node cluster after known traffic: each named series exists with the
 *   value the traffic implies (calls by method and status counted exactly,
 *   every watch message counted, raft indexes and term consistent across
 *   nodes, snapshots taken, and installed by a follower that fell behind);
 * - a node of a 3-node membership started alone: /readyz is 503 naming the
 *   missing leader while /healthz is 200, then 200 once a second node makes
 *   a quorum; every line both nodes wrote to stderr is a JSON log record,
 *   and a call's x-request-id is in the node's debug line for it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DbClient } from "../../shared/db/mod.ts";
import { parseLogLine } from "../../shared/log.ts";
import { parsePrometheusText, type Scrape } from "../../shared/metrics/mod.ts";
import { type ChildProc, freePort, spawnChild, waitFor } from "../support/procs.ts";
import { withCluster } from "./_cluster.ts";
import { recordScenarioPid, scenario, scenarioRoot } from "./_scenario.ts";

const MAIN = new URL("../../db/main.ts", import.meta.url).pathname;

async function scrape(httpAddr: string): Promise<Scrape> {
  const r = await fetch(`http://${httpAddr}/metrics`);
  assert.equal(r.status, 200);
  return parsePrometheusText(await r.text());
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.json() };
}

const KV = { grpc_type: "unary", grpc_service: "cassemdb.KV" };

scenario(
  import.meta.url,
  "/metrics of a 3-node cluster after known traffic: raft state, proposals, storage, snapshots, watches, calls by method and status",
  async () => {
    await withCluster({ name: "observe-metrics", snapshotEvery: 25 }, async (c) => {
      await c.startFounders(3);
      const { node: leader } = await c.waitLeader();
      // One endpoint: every call is answered by the leader, so its counts are exact.
      const db = c.client({ endpoints: [leader.clientAddr] });
      const watched: number[][] = [[], []];
      const watches = watched.map((seen) =>
        db.watch({ keys: ["obs/"] }, { onChanges: (e) => seen.push(e.revision) })
      );
      await waitFor(
        "two watchers on the leader",
        async () => (await scrape(leader.httpAddr)).value("cassemdb_watchers") === 2 || undefined,
      );
      const N = 60;
      for (let i = 0; i < N; i++) await db.set(`obs/k${i}`, `v${i}`);
      await assert.rejects(db.set("obs/k0", "again"), /exists/);
      assert.equal((await db.get("obs/absent")).entity, undefined);
      await waitFor(
        "every change on both watches",
        () => watched.every((w) => w.length === N) || undefined,
      );
      // Each watch: its first message (no changes), then one per revision.
      const sent = await waitFor("the watch messages counted", async () => {
        const m = await scrape(leader.httpAddr);
        const n = m.value("grpc_server_msg_sent_total", { grpc_method: "Watch" });
        return n === 2 * (N + 1) ? m : undefined;
      });
      let m = sent;
      const call = (method: string, code: string) =>
        m.value("grpc_server_handled_total", { ...KV, grpc_method: method, grpc_code: code });
      assert.equal(call("SetKV", "OK"), N);
      assert.equal(call("SetKV", "ALREADY_EXISTS"), 1);
      assert.equal(call("GetKV", "NOT_FOUND"), 1);
      assert.equal(m.value("grpc_server_started_total", { ...KV, grpc_method: "SetKV" }), N + 1);
      assert.equal(
        m.value("grpc_server_handling_seconds_count", { ...KV, grpc_method: "SetKV" }),
        N + 1,
      );
      assert.equal(m.value("grpc_server_started_total", { grpc_method: "Watch" }), 2);
      assert.equal(m.types.get("grpc_server_handled_total"), "counter");
      assert.equal(m.types.get("cassemdb_raft_term"), "gauge");
      assert.equal(m.types.get("cassemdb_raft_proposal_duration_seconds"), "histogram");

      const term = m.value("cassemdb_raft_term");
      assert.ok(term >= 1, `term ${term}`);
      assert.equal(m.value("cassemdb_raft_is_leader"), 1);
      assert.equal(m.value("cassemdb_raft_has_leader"), 1);
      assert.equal(m.value("cassemdb_raft_leader"), leader.id);
      assert.ok(m.value("cassemdb_raft_leader_changes_total") >= 1);
      const commit = m.value("cassemdb_raft_commit_index");
      const applied = m.value("cassemdb_raft_applied_index");
      assert.ok(commit >= N && applied >= N && applied <= commit, `${applied} / ${commit}`);
      assert.ok(m.value("cassemdb_raft_last_index") >= commit);
      assert.equal(m.value("cassemdb_raft_members", { kind: "voter" }), 3);
      assert.equal(m.find("cassemdb_raft_follower_match_index").length, 3);
      // Every write and the refused one were proposed and applied (the refusal is the store's).
      const proposals = m.value("cassemdb_raft_proposal_duration_seconds_count", {
        result: "applied",
      });
      assert.ok(proposals >= N + 1, `${proposals} proposals`);
      assert.equal(m.sum("cassemdb_raft_proposal_duration_seconds_count", { result: "failed" }), 0);
      assert.ok(m.value("cassemdb_raft_entries_saved_total") >= N);
      assert.ok(m.value("cassemdb_storage_save_duration_seconds_count") >= 1);
      assert.ok(m.value("cassemdb_storage_save_duration_seconds_sum") > 0);
      assert.ok(m.value("cassemdb_snapshots_taken_total") >= 2, "every 25 entries");
      assert.equal(m.value("cassemdb_store_keys"), N + 1, "obs/ and its elements");
      assert.ok(m.value("cassemdb_peer_messages_sent_total") > 0);
      assert.ok(m.value("process_resident_memory_bytes") > 0);

      // Followers agree, and know who leads.
      for (const f of c.running().filter((p) => p !== leader)) {
        const fm = await scrape(f.httpAddr);
        assert.equal(fm.value("cassemdb_raft_is_leader"), 0);
        assert.equal(fm.value("cassemdb_raft_leader"), leader.id);
        assert.equal(fm.value("cassemdb_raft_term"), term);
        assert.ok(fm.value("cassemdb_peer_messages_received_total") > 0);
      }

      // A follower that misses more than the leader keeps in its log installs a snapshot.
      const lagging = c.running().find((p) => p !== leader)!;
      await c.kill(lagging);
      for (let i = 0; i < N; i++) await db.set(`obs/late${i}`, "x");
      await c.restart(lagging);
      m = await waitFor("the restarted follower to install a snapshot", async () => {
        const fm = await scrape(lagging.httpAddr);
        return fm.value("cassemdb_snapshots_installed_total") >= 1 ? fm : undefined;
      }, { timeoutMs: 30_000 });
      await waitFor("the follower to apply every write", async () => {
        const fm = await scrape(lagging.httpAddr);
        return fm.value("cassemdb_store_keys") === 2 * N + 1 || undefined;
      }, { timeoutMs: 30_000 });
      for (const w of watches) w.close();
    });
  },
);

/** A node of the membership `peers` on its own ports and data dir, logging JSON at debug. */
function startNode(
  root: string,
  id: number,
  peers: string,
  ports: { client: number; peer: number; http: number },
): ChildProc {
  const p = spawnChild(`n${id}`, Deno.execPath(), [
    "run",
    "-A",
    MAIN,
    "--id",
    String(id),
    "--listen",
    `127.0.0.1:${ports.client}`,
    "--peer-listen",
    `127.0.0.1:${ports.peer}`,
    "--http",
    `127.0.0.1:${ports.http}`,
    "--peers",
    peers,
    "--dir",
    `${root}/n${id}`,
    "--tick-ms",
    "20",
    "--log-level",
    "debug",
    "--log-format",
    "json",
  ], { rawLogLines: true, keepLines: 100_000 });
  recordScenarioPid(p.pid);
  return p;
}

scenario(
  import.meta.url,
  "/readyz is 503 on a node without a leader and 200 once it has one; every log line is JSON",
  async () => {
    const root = await Deno.makeTempDir({ dir: scenarioRoot(), prefix: "cassemdb_observe_" });
    const ports = [1, 2, 3].map(() => ({ client: freePort(), peer: freePort(), http: freePort() }));
    const peers = ports.map((p, i) => `${i + 1}=127.0.0.1:${p.peer}`).join(",");
    const procs: ChildProc[] = [];
    try {
      const one = startNode(root, 1, peers, ports[0]!);
      procs.push(one);
      const base = `http://127.0.0.1:${ports[0]!.http}`;
      const down = await waitFor("node 1's /readyz", async () => {
        const r = await getJson(`${base}/readyz`).catch(() => undefined);
        return r && r.status === 503 ? r : undefined;
      }, { timeoutMs: 30_000, failIf: () => one.hasExited ? "node 1 exited" : undefined });
      const checks = down.body.checks as Record<string, string>;
      assert.equal(down.body.ready, false);
      assert.match(checks.leader!, /knows no leader/);
      assert.match(checks.leader!, /node 2 at 127\.0\.0\.1:\d+/, "names the peers it cannot reach");
      assert.equal(checks.member, "ok");
      assert.equal(checks.disk, "ok");
      const alive = await getJson(`${base}/healthz`);
      assert.deepEqual([alive.status, alive.body], [200, { ok: true }]);
      assert.equal(
        (await scrape(`127.0.0.1:${ports[0]!.http}`)).value("cassemdb_raft_has_leader"),
        0,
      );

      procs.push(startNode(root, 2, peers, ports[1]!));
      const up = await waitFor("node 1 ready with a leader", async () => {
        const r = await getJson(`${base}/readyz`);
        return r.status === 200 ? r : undefined;
      }, { timeoutMs: 30_000 });
      assert.deepEqual(up.body, {
        ready: true,
        checks: { member: "ok", leader: "ok", disk: "ok" },
      });

      const db = new DbClient({ endpoints: [`127.0.0.1:${ports[0]!.client}`] });
      try {
        await db.set("obs/id", "1", { requestId: "obs-req-42" });
      } finally {
        db.close();
      }
      // Just after an election the first attempt may be answered UNAVAILABLE (seen once in a
      // full run); the client then sends it again under the same request id.
      const line = await one.waitLine(
        (l) => l.includes("obs-req-42") && parseLogLine(l)?.fields?.code === "OK",
        { timeoutMs: 10_000, stream: "stderr" },
      );
      const rec = parseLogLine(line)!;
      assert.equal(rec.requestId, "obs-req-42");
      assert.equal(rec.level, "debug");
      assert.equal(rec.msg, "grpc call");
      assert.equal(rec.fields!.method, "/cassemdb.KV/SetKV");
      for (const l of one.lines("stderr").filter((l) => l.includes("obs-req-42"))) {
        const r = parseLogLine(l)!;
        assert.deepEqual([r.requestId, r.fields!.method], ["obs-req-42", "/cassemdb.KV/SetKV"]);
        assert.ok(["OK", "UNAVAILABLE"].includes(r.fields!.code as string), l);
      }
    } finally {
      for (const p of procs) await p.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
    const total = procs.reduce((n, p) => n + p.lines("stderr").length, 0);
    assert.ok(total > 10, `the nodes logged ${total} lines: the check would prove nothing`);
    for (const p of procs) {
      const lines = p.lines("stderr").filter((l) => l !== "");
      assert.ok(lines.some((l) => l.includes("cassemdb node started")), `${p.name} started`);
      const bad = lines.filter((l) => parseLogLine(l) === undefined);
      assert.deepEqual(bad, [], `${p.name}: lines that are not JSON log records`);
      assert.ok(lines.every((l) => parseLogLine(l)!.component === `cassemdb[${p.name.slice(1)}]`));
    }
  },
);
