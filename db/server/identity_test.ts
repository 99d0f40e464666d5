import assert from "node:assert/strict";
import { parseConfig } from "../config.ts";
import { DataDirError, IdentityConflictError } from "./errors.ts";
import {
  clusterIdOf,
  type NodeRecord,
  planIdentity,
  readNodeRecord,
  writeNodeRecord,
} from "./identity.ts";

const THREE = "1=127.0.0.1:7022,2=127.0.0.1:7032,3=127.0.0.1:7042";

function cfg(...args: string[]) {
  const c = parseConfig(["--dir", "/data/n", ...args]);
  if (c === "help") throw new Error("unreachable");
  return c;
}

function founder(id: number, peers = THREE, token = ""): NodeRecord {
  const founders = new Map(
    peers.split(",").map((p) => [Number(p.split("=")[0]), p.split("=")[1]!] as [number, string]),
  );
  return { id, clusterId: clusterIdOf(founders, token), founders, token };
}

function conflict(flag: string, text: RegExp) {
  return (e: unknown) =>
    e instanceof IdentityConflictError && e.flag === flag && text.test(e.message);
}

Deno.test("clusterIdOf is the same for the same founders and token, in any order, and differs otherwise", () => {
  const a = new Map([[1, "a:1"], [2, "b:2"]]);
  const b = new Map([[2, "b:2"], [1, "a:1"]]);
  assert.equal(clusterIdOf(a, ""), clusterIdOf(b, ""));
  assert.match(clusterIdOf(a, ""), /^[0-9a-f]{16}$/);
  assert.notEqual(clusterIdOf(a, ""), clusterIdOf(a, "t"));
  assert.notEqual(clusterIdOf(a, ""), clusterIdOf(new Map([[1, "a:1"]]), ""));
  assert.notEqual(clusterIdOf(a, ""), clusterIdOf(new Map([[1, "a:1"], [2, "b:3"]]), ""));
});

Deno.test("planIdentity founds a new cluster on an empty dir, or joins with --join", () => {
  const p = planIdentity(
    cfg("--id", "2", "--peers", THREE, "--cluster-token", "t"),
    undefined,
    true,
  );
  assert.equal(p.kind, "found");
  if (p.kind !== "found") return;
  assert.deepEqual(p.record, founder(2, THREE, "t"));
  assert.deepEqual([...p.peers.keys()], [1, 3]);
  const j = planIdentity(cfg("--join", "10.0.0.1:7021"), undefined, true);
  assert.deepEqual(j, { kind: "join", via: "10.0.0.1:7021", warnings: [] });
});

Deno.test("planIdentity restarts as the recorded node when the flags agree or say nothing", () => {
  const saved = founder(2);
  for (const args of [["--id", "2", "--peers", THREE], ["--peers", THREE]]) {
    const p = planIdentity(cfg(...args), saved, false);
    assert.equal(p.kind, "restart", args.join(" "));
    if (p.kind !== "restart") continue;
    assert.equal(p.record, saved);
    assert.deepEqual([...p.peers.keys()], [1, 3]);
    assert.deepEqual(p.warnings, []);
  }
  // A single-node founder restarts on defaults (its peer port may move).
  const one = founder(1, "1=127.0.0.1:7022");
  assert.equal(planIdentity(cfg("--peer-listen", "127.0.0.1:9"), one, false).kind, "restart");
  // A founder whose raft data was lost founds again, with the recorded cluster id.
  const lost = planIdentity(cfg("--id", "2", "--peers", THREE), saved, true);
  assert.equal(lost.kind, "found");
  assert.equal(lost.kind === "found" && lost.record.clusterId, saved.clusterId);
  // A node that joined restarts without membership flags; --join is ignored, loudly.
  const joined: NodeRecord = { id: 4, clusterId: "c0ffee" };
  const j = planIdentity(cfg("--join", "10.0.0.1:7021"), joined, false);
  assert.equal(j.kind, "restart");
  assert.match(
    j.warnings.join(),
    /--join 10\.0\.0\.1:7021 is ignored: \/data\/n holds node 4 of cluster c0ffee/,
  );
  assert.equal(planIdentity(cfg(), joined, false).kind, "restart");
});

Deno.test("planIdentity refuses flags that contradict the data dir, saying what it holds", () => {
  const saved = founder(2);
  const holds = /\/data\/n holds node 2 of cluster [0-9a-f]{16}/;
  assert.throws(
    () => planIdentity(cfg("--id", "3", "--peers", THREE), saved, false),
    conflict("--id", /--id 3 contradicts the data dir/),
  );
  assert.throws(
    () =>
      planIdentity(cfg("--id", "2", "--peers", "1=127.0.0.1:7022,2=127.0.0.1:7032"), saved, false),
    conflict("--peers", new RegExp(`founded with --peers ${THREE}; pass that --peers`)),
  );
  // No --peers on a founder of three: `deno task db` over a `--cluster 3` dir.
  assert.throws(() => planIdentity(cfg("--id", "2"), saved, false), conflict("--peers", holds));
  assert.throws(
    () => planIdentity(cfg("--id", "2", "--peers", THREE, "--cluster-token", "x"), saved, false),
    conflict("--cluster-token", /founded with no token/),
  );
  assert.throws(
    () => planIdentity(cfg("--id", "4", "--peers", "4=a:1"), { id: 4, clusterId: "c" }, false),
    conflict("--peers", /which it joined \(it founded nothing\)/),
  );
  assert.throws(
    () => planIdentity(cfg(), undefined, false),
    conflict("--dir", /holds raft data but no node\.json/),
  );
});

Deno.test("planIdentity gives a record from before cluster ids the id of its flags, with a warning", () => {
  const p = planIdentity(cfg("--id", "2", "--peers", THREE), { id: 2, clusterId: "" }, false);
  assert.equal(p.kind, "restart");
  if (p.kind !== "restart") return;
  assert.deepEqual(p.record, founder(2));
  assert.match(p.warnings.join(), /has no cluster id \(older cassemdb\): recording cluster/);
  assert.throws(
    () => planIdentity(cfg("--join", "a:1"), { id: 2, clusterId: "" }, false),
    conflict("--dir", /remove \/data\/n and join the cluster again/),
  );
});

Deno.test("node records round-trip through node.json; a broken one names its path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await readNodeRecord(dir), undefined);
    const rec = founder(3, THREE, "tok");
    await writeNodeRecord(dir, rec);
    assert.deepEqual(await readNodeRecord(dir), rec);
    await writeNodeRecord(dir, { id: 5, clusterId: "abc" });
    assert.deepEqual(await readNodeRecord(dir), {
      id: 5,
      clusterId: "abc",
      founders: undefined,
      token: undefined,
    });
    await Deno.writeTextFile(`${dir}/node.json`, "{not json");
    await assert.rejects(
      readNodeRecord(dir),
      (e) =>
        e instanceof DataDirError && e.path === `${dir}/node.json` &&
        e.message.startsWith(`Cannot use ${dir}/node.json as it is not a node record`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
