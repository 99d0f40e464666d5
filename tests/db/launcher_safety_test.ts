/**
 * The reproductions of issue 7 §1 around the `--cluster` launcher, as a user
 * runs them from a directory of their own:
 *
 * - `deno task db` (one node), stopped, then `deno task db --cluster 3` on
 *   the same ./data: the launcher refuses before starting any node, saying
 *   what to do; in the other order, the single node refuses. No acknowledged
 *   write of either is lost.
 * - kill -9 of the launcher leaves no node running.
 * - A port in use: the launcher, and a node, refuse with one line naming the
 *   flag and the address, and start nothing.
 */

import assert from "node:assert/strict";
import { DbClient } from "../../shared/db/mod.ts";
import {
  type ChildProc,
  freePortBlock,
  isAlive,
  portIsFree,
  sleep,
  spawnChild,
  waitFor,
} from "../support/procs.ts";
import { recordScenarioPid, scenario, scenarioRoot } from "./_scenario.ts";

const MAIN = new URL("../../db/main.ts", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();
/** Offsets of the ports of a 3-node local cluster from node 1's client port. */
const CLUSTER_OFFSETS = [0, 1, 2, 10, 11, 12, 20, 21, 22];

/** `deno run -A db/main.ts ...args` in `cwd`, as `deno task db` runs it. */
function db(name: string, cwd: string, args: string[]): ChildProc {
  const p = spawnChild(name, Deno.execPath(), ["run", "-A", MAIN, ...args], { cwd });
  recordScenarioPid(p.pid);
  return p;
}

/** Waits for `p` to exit on its own (at most 30 s); its exit code and stderr. */
async function exitOf(p: ChildProc): Promise<{ code: number; err: string }> {
  const status = await Promise.race([p.exited, sleep(30_000)]);
  if (!status) {
    await p.stop({ signal: "SIGKILL" });
    assert.fail(`${p.name} still ran after 30 s, where it should have refused:\n${p.tail(2_000)}`);
  }
  return { code: p.status!.code, err: p.lines("stderr").join("\n") };
}

/** The node PIDs a launcher reported, by node number (every start). */
function nodePids(launcher: ChildProc): Map<number, number[]> {
  const pids = new Map<number, number[]>();
  for (const l of launcher.lines("stderr")) {
    const m = /^\[cluster\] node (\d+) pid (\d+):/.exec(l);
    if (!m) continue;
    pids.set(Number(m[1]), [...(pids.get(Number(m[1])) ?? []), Number(m[2])]);
  }
  return pids;
}

/** Writes `n` keys under `prefix` through `endpoints` (waiting for a leader first); returns them. */
async function writeKeys(
  endpoints: string[],
  prefix: string,
  n: number,
): Promise<Map<string, string>> {
  const client = new DbClient({ endpoints, timeoutMs: 5_000 });
  const acked = new Map<string, string>();
  await waitFor(
    "a leader that takes writes",
    () => client.set(`${prefix}/first`, enc.encode("0"), { overwrite: true }),
    {
      timeoutMs: 30_000,
    },
  );
  acked.set(`${prefix}/first`, "0");
  for (let i = 0; i < n; i++) {
    await client.set(`${prefix}/k${i}`, enc.encode(`v${i}`), { overwrite: true });
    acked.set(`${prefix}/k${i}`, `v${i}`);
  }
  // Left open: closing sends GOAWAY, which Deno 2.9.6 may crash on (tests/db/README.md).
  return acked;
}

/** Asserts that the cluster at `endpoints` holds every key of `acked` with its value. */
async function assertHolds(endpoints: string[], acked: Map<string, string>): Promise<void> {
  const client = new DbClient({ endpoints, timeoutMs: 5_000 });
  const got = await waitFor("a leader that serves reads", () => client.getMany([...acked.keys()]), {
    timeoutMs: 30_000,
  });
  assert.deepEqual(new Map(got.entities.map((e) => [e.key, dec.decode(e.val)])), acked);
}

async function tempCwd(): Promise<string> {
  return await Deno.makeTempDir({ dir: scenarioRoot(), prefix: "cassem-cwd-" });
}

scenario(
  import.meta.url,
  "deno task db then --cluster 3 on the same data refuses, and so does the other order",
  async () => {
    const port = freePortBlock(CLUSTER_OFFSETS);
    const single = ["--listen", `127.0.0.1:${port}`, "--peer-listen", `127.0.0.1:${port + 1}`];
    const launch = ["--cluster", "3", "--cluster-port", String(port), "--tick-ms", "20"];
    const endpoints = [0, 10, 20].map((o) => `127.0.0.1:${port + o}`);

    // `deno task db`, some writes, Ctrl-C; then `deno task db --cluster 3` in the same place.
    const cwd = await tempCwd();
    let node = db("single", cwd, single);
    const acked = await writeKeys([endpoints[0]!], "start", 10);
    assert.equal((await node.stop()).code, 0);
    const refused = db("launcher", cwd, launch);
    const r = await exitOf(refused);
    assert.equal(r.code, 1, r.err);
    const lines = r.err.split("\n").filter((l) => l.trim() !== "");
    assert.equal(lines.length, 1, `one line: ${r.err}`);
    assert.match(
      lines[0]!,
      new RegExp(
        `Cannot start a local cluster of 3 nodes as ${cwd}/data/node-1 holds node 1 of another cluster .*founded with --peers 1=127\\.0\\.0\\.1:${
          port + 1
        }\\).*use another --data-root, or remove ${cwd}/data`,
      ),
    );
    for (const o of CLUSTER_OFFSETS) assert.ok(portIsFree(port + o), `port ${port + o} is free`);
    node = db("single again", cwd, single);
    await assertHolds([endpoints[0]!], acked);
    assert.equal((await node.stop()).code, 0);

    // `deno task db --cluster 3`, some writes, stopped; then `deno task db` in the same place.
    const cwd2 = await tempCwd();
    let launcher = db("launcher", cwd2, launch);
    const acked3 = await writeKeys(endpoints, "three", 10);
    assert.equal((await launcher.stop({ graceMs: 15_000 })).code, 0);
    const alone = db("single", cwd2, single);
    const a = await exitOf(alone);
    assert.equal(a.code, 2, a.err);
    assert.match(
      a.err,
      new RegExp(
        `ERROR .*Cannot start as a single node: \\./data/node-1 holds node 1 of cluster [0-9a-f]+, founded with --peers 1=127\\.0\\.0\\.1:${
          port + 1
        },2=127\\.0\\.0\\.1:${port + 11},3=127\\.0\\.0\\.1:${port + 21}; pass that --peers`,
      ),
    );
    launcher = db("launcher again", cwd2, launch);
    await assertHolds(endpoints, acked3);
    assert.equal((await launcher.stop({ graceMs: 15_000 })).code, 0);
  },
  { timeoutMs: 240_000 },
);

scenario(
  import.meta.url,
  "kill -9 of the launcher leaves no node running, and its data is intact",
  async () => {
    const port = freePortBlock(CLUSTER_OFFSETS);
    const endpoints = [0, 10, 20].map((o) => `127.0.0.1:${port + o}`);
    const cwd = await tempCwd();
    const args = ["--cluster", "3", "--cluster-port", String(port), "--tick-ms", "20"];
    const launcher = db("launcher", cwd, args);
    const acked = await writeKeys(endpoints, "k9", 10);
    const pids = [...nodePids(launcher).values()].map((l) => l[l.length - 1]!);
    assert.equal(pids.length, 3);
    for (const pid of pids) recordScenarioPid(pid);
    assert.ok(pids.every(isAlive));

    await launcher.stop({ signal: "SIGKILL" });
    await waitFor(
      "every node of the killed launcher to exit",
      () => pids.some(isAlive) ? undefined : true,
      { timeoutMs: 20_000 },
    ).catch((e) => {
      for (const pid of pids.filter(isAlive)) Deno.kill(pid, "SIGKILL");
      throw e;
    });

    const again = db("launcher again", cwd, args);
    await assertHolds(endpoints, acked);
    assert.equal((await again.stop({ graceMs: 15_000 })).code, 0);
  },
);

scenario(
  import.meta.url,
  "a port in use: the launcher and a node refuse with one line naming the flag and the address",
  async () => {
    const cwd = await tempCwd();
    const port = freePortBlock(CLUSTER_OFFSETS);
    // Something else holds node 2's peer port.
    const squatter = Deno.listen({ hostname: "127.0.0.1", port: port + 11 });
    try {
      const launcher = db("launcher", cwd, ["--cluster", "3", "--cluster-port", String(port)]);
      const r = await exitOf(launcher);
      assert.equal(r.code, 1, r.err);
      assert.equal(r.err.trim().split("\n").length, 1, `one line: ${r.err}`);
      assert.match(
        r.err,
        new RegExp(
          `the peer port of node 2, 127\\.0\\.0\\.1:${
            port + 11
          } \\(--cluster-port ${port}\\), cannot be bound: it is in use; stop what listens there, or pick another --cluster-port`,
        ),
      );
      assert.doesNotMatch(r.err, /\[cluster\] node \d pid/, "no node was started");
    } finally {
      squatter.close();
    }

    // One node: each of its three addresses in turn.
    const [listen, peer, http] = [port + 20, port + 21, port + 22].map((p) => `127.0.0.1:${p}`);
    for (const [flag, taken] of [["--listen", listen], ["--peer-listen", peer], ["--http", http]]) {
      const at = Number(taken!.split(":")[1]);
      const held = Deno.listen({ hostname: "127.0.0.1", port: at });
      try {
        const node = db(`node (${flag} taken)`, cwd, [
          "--listen",
          listen!,
          "--peer-listen",
          peer!,
          "--http",
          http!,
          "--dir",
          `${cwd}/data-${flag!.slice(2)}`,
        ]);
        const n = await exitOf(node);
        assert.equal(n.code, 1, n.err);
        const lines = n.err.trim().split("\n");
        assert.equal(lines.length, 1, `one line: ${n.err}`);
        assert.match(
          lines[0]!,
          new RegExp(`ERROR .*Cannot listen on ${flag} ${taken} as it is in use$`),
        );
        assert.doesNotMatch(n.err, /No address added/);
      } finally {
        held.close();
      }
    }
  },
);
