/**
 * Cluster ids and node identity (issue 7 §1):
 *
 * - A node founded with a peer address that belongs to a node of another
 *   cluster: that node refuses its raft messages, both log an error naming
 *   the peer's address and both cluster ids (rate-limited), the stray node
 *   says in its leaderless warning that the peer belongs to another cluster,
 *   and the running cluster keeps every acknowledged write and its members.
 * - A node started with flags that contradict its data dir (another --id,
 *   another --peers) refuses with one line and exit code 2; --join on a dir
 *   that holds a node is ignored with a warning.
 */

import assert from "node:assert/strict";
import { sleep, waitFor } from "../support/procs.ts";
import { type DbProc, type TestCluster, withCluster } from "./_cluster.ts";
import { scenario } from "./_scenario.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes `n` keys under `prefix` through every founder; answers what was acknowledged. */
async function writeAcked(
  c: TestCluster,
  founders: DbProc[],
  prefix: string,
  n: number,
): Promise<Map<string, string>> {
  const db = c.client({ endpoints: founders.map((p) => p.clientAddr) });
  const acked = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    await db.set(`${prefix}/k${i}`, enc.encode(`v${i}`), { overwrite: true });
    acked.set(`${prefix}/k${i}`, `v${i}`);
  }
  return acked;
}

/** Kills `p`, removes its data dir and starts it again with the same flags. */
async function wipeAndRestart(c: TestCluster, p: DbProc): Promise<void> {
  await c.kill(p);
  await Deno.remove(p.dir, { recursive: true });
  await c.restart(p);
}

/** Asserts that `p` said it recovers instead of bootstrapping (`why` if not). */
function assertRecoversInstead(c: TestCluster, p: DbProc, why: string): void {
  assert.ok(
    c.linesOf(p).some((l) =>
      /a cluster already runs at --peers: starting empty and recovering/.test(l)
    ),
    why,
  );
}

/** Asserts that `p` holds every acknowledged write (serializable reads at `p`). */
async function assertHolds(c: TestCluster, p: DbProc, acked: Map<string, string>): Promise<void> {
  const one = c.client({ endpoints: [p.clientAddr] });
  const got = await one.getMany([...acked.keys()], { serializable: true });
  assert.deepEqual(new Map(got.entities.map((e) => [e.key, dec.decode(e.val)])), acked);
}

async function clusterIdOf(p: DbProc): Promise<string> {
  return JSON.parse(await Deno.readTextFile(`${p.dir}/node.json`)).clusterId;
}

/** Waits up to 30 s for `p` to exit on its own; its exit status and output. */
async function refusal(c: TestCluster, p: DbProc): Promise<{ code: number; out: string }> {
  const status = await Promise.race([p.exited!, sleep(30_000)]);
  const out = c.linesOf(p).join("\n");
  assert.ok(status, `${p.name} still runs, where it should have refused:\n${out}`);
  return { code: status.code, out };
}

scenario(
  import.meta.url,
  "a node of another cluster at a peer address is refused and logged on both sides",
  async () => {
    await withCluster({ name: "other cluster" }, async (c) => {
      const founders = await c.startFounders(3);
      const db = c.client({ endpoints: founders.map((p) => p.clientAddr) });
      const acked = new Map<string, string>();
      const write = async (i: number) => {
        await db.set(`oc/k${i}`, enc.encode(`v${i}`), { overwrite: true });
        acked.set(`oc/k${i}`, `v${i}`);
      };
      for (let i = 0; i < 10; i++) await write(i);
      const target = founders[1]!; // node 2 of cluster A
      const ours = await clusterIdOf(target);

      // A stray node founds {1 = itself, 2 = node 2 of A}: another membership, another cluster.
      const stray = c.spawn({
        id: 1,
        args: ({ peer }) => ["--id", "1", "--peers", `1=${peer},2=${target.peerAddr}`],
      });
      await waitFor("the stray node to start", () => c.status(stray), { timeoutMs: 30_000 });
      const theirs = await clusterIdOf(stray);
      assert.notEqual(theirs, ours);
      c.note(`cluster A is ${ours}; the stray node's cluster is ${theirs}`);

      const receiverLine = new RegExp(
        `ERROR .*refused raft messages from node 1 at ${stray.peerAddr}: it belongs to cluster ${theirs}, this node \\(id 2\\) to cluster ${ours}`,
      );
      const senderLine = new RegExp(
        `ERROR .*node 2 at ${target.peerAddr} refused raft messages from this node \\(id 1, cluster ${theirs}\\).*belongs to cluster ${theirs}: node 2 belongs to cluster ${ours}`,
      );
      const warnLine = new RegExp(
        `WARN .*no leader for .*cannot reach node 2 at ${target.peerAddr} \\(it belongs to another cluster\\)`,
      );
      await waitFor(
        "both sides to log the refusal, and the stray node to say why it has no leader",
        () =>
          c.linesOf(target).some((l) => receiverLine.test(l)) &&
            c.linesOf(stray).some((l) => senderLine.test(l)) &&
            c.linesOf(stray).some((l) => warnLine.test(l))
            ? true
            : undefined,
        { timeoutMs: 30_000 },
      );

      // Cluster A goes on as before, and does not flood its log.
      const t0 = Date.now();
      const before = c.linesOf(target).filter((l) => receiverLine.test(l)).length;
      for (let i = 10; i < 40; i++) await write(i);
      await sleep(Math.max(0, 6_000 - (Date.now() - t0)));
      const logged = c.linesOf(target).filter((l) => receiverLine.test(l)).length - before;
      const windows = Math.ceil((Date.now() - t0) / 5_000) + 1;
      assert.ok(logged <= windows, `${logged} refusal lines in ${Date.now() - t0} ms`);
      const sts = await c.waitConverged(founders);
      for (const st of sts) {
        assert.deepEqual(st.members.map((m) => m.id).sort(), [1, 2, 3]);
        assert.equal(st.keys >= acked.size, true);
      }
      for (const p of founders) {
        const one = c.client({ endpoints: [p.clientAddr] });
        const got = await one.getMany([...acked.keys()], { serializable: true });
        assert.deepEqual(new Map(got.entities.map((e) => [e.key, dec.decode(e.val)])), acked);
      }
      const strayStatus = await c.status(stray);
      assert.equal(strayStatus?.leader, 0, "the stray node found no leader in cluster A");
    });
  },
);

scenario(
  import.meta.url,
  "flags that contradict the data dir stop the node with one line; --join on a node's dir is ignored",
  async () => {
    await withCluster({ name: "identity flags" }, async (c) => {
      const [node] = await c.startFounders(1);
      const db = c.client({ endpoints: [node!.clientAddr] });
      await db.set("id/a", enc.encode("1"));
      await c.terminate(node!);
      const holds = `${node!.dir} holds node 1 of cluster ${await clusterIdOf(node!)}`;

      const otherId = c.spawn({ dir: node!.dir, args: () => ["--id", "2"], mayExit: true });
      const r1 = await refusal(c, otherId);
      assert.equal(r1.code, 2, r1.out);
      assert.match(r1.out, /ERROR .*Cannot start as --id 2 contradicts the data dir/);
      assert.ok(r1.out.includes(holds), r1.out);

      const otherPeers = c.spawn({
        dir: node!.dir,
        args: ({ peer }) => ["--id", "1", "--peers", `1=${peer},2=127.0.0.1:1`],
        mayExit: true,
      });
      const r2 = await refusal(c, otherPeers);
      assert.equal(r2.code, 2, r2.out);
      assert.match(
        r2.out,
        /ERROR .*Cannot start as --peers 1=.*,2=127\.0\.0\.1:1 contradicts the data dir/,
      );
      assert.match(r2.out, new RegExp(`founded with --peers 1=${node!.peerAddr}`));
      for (const r of [r1, r2]) {
        const errors = r.out.split("\n").filter((l) => /ERROR/.test(l));
        assert.equal(errors.length, 1, `one line: ${r.out}`);
      }

      // --join on a dir that holds a node: ignored, loudly; the node restarts as itself.
      const rejoin = c.spawn({
        dir: node!.dir,
        args: () => ["--join", "127.0.0.1:1"],
      });
      const st = await waitFor("the node to restart despite --join", () => c.status(rejoin), {
        timeoutMs: 30_000,
      });
      assert.equal(st.id, 1);
      assert.ok(
        c.linesOf(rejoin).some((l) => /WARN .*--join 127\.0\.0\.1:1 is ignored: /.test(l)),
        "a warning says --join is ignored",
      );
      await c.waitLeader({ among: [rejoin] });
      const got = await c.client({ endpoints: [rejoin.clientAddr] }).get("id/a");
      assert.equal(dec.decode(got.entity!.val), "1");
    });
  },
);

scenario(
  import.meta.url,
  "a founder whose data dir was wiped finds its cluster, keeps its cluster id and catches up",
  async () => {
    await withCluster({ name: "wiped founder" }, async (c) => {
      const founders = await c.startFounders(3);
      const acked = await writeAcked(c, founders, "wf", 20);
      const { node: leader } = await c.waitLeader();
      const wiped = founders.find((p) => p !== leader)!;
      const ours = await clusterIdOf(wiped);
      await wipeAndRestart(c, wiped);
      assertRecoversInstead(c, wiped, "the wiped founder did not bootstrap a cluster of its own");
      assert.equal(await clusterIdOf(wiped), ours);
      await c.waitConverged(founders);
      await assertHolds(c, wiped, acked);
    });
  },
);

scenario(
  import.meta.url,
  "a founder wiped while its cluster is leaderless recovers instead of bootstrapping (it may have voted)",
  async () => {
    await withCluster({ name: "wiped founder, no leader" }, async (c) => {
      const founders = await c.startFounders(3);
      const acked = await writeAcked(c, founders, "wl", 10);
      const { node: leader } = await c.waitLeader();
      // Only the third founder runs: no leader, but past the founding term.
      const wiped = founders.find((p) => p !== leader)!;
      await c.kill(leader);
      await wipeAndRestart(c, wiped);
      assertRecoversInstead(
        c,
        wiped,
        "the wiped founder bootstrapped again while its cluster had no leader",
      );
      const http = await waitFor("the wiped founder's /status", async () => {
        try {
          return await (await fetch(`http://${wiped.httpAddr}/status`)).json();
        } catch {
          return undefined;
        }
      }, { timeoutMs: 20_000 });
      assert.equal(http.recovering, true, "it recovers: no vote, no campaign");
      await c.restart(leader);
      await c.waitConverged(founders);
      await assertHolds(c, wiped, acked);
    });
  },
);
