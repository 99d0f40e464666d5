/**
 * `cassemctl db ...` against the 3-node cassemdb of `deno task start
 * --cluster 3`, as an operator who knows etcdctl would use it: put, get,
 * conditions, ttl, rm, ls page by page, watch from a revision, members,
 * status of every node (a paused node shows as unreachable), leadership
 * transfer, adding and removing a member; a cluster out of reach is exit 6.
 */

import assert from "node:assert/strict";
import { freePort, waitFor } from "../support/procs.ts";
import { freePortBase, StackProc } from "../stack/_stack.ts";
import { json, ok, runCtl } from "./_ctl.ts";

Deno.test({
  name: "cassemctl db against a 3-node cassemdb: keys, paging, watch, status, membership",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "cassem-ctl-db-" });
    const stack = new StackProc(dir, ["--port-base", String(freePortBase()), "--cluster", "3"], {
      CASSEM_ADMIN_PASSWORD: "",
      CASSEM_SECRET_KEY: "",
    });
    const paused: number[] = [];
    try {
      const urls = await stack.urls();
      const endpoints = urls.db.map((n) => n.client).join(",");
      const o = { env: { CASSEMDB_ENDPOINTS: endpoints } };

      // Keys: put, get byte for byte, a condition that fails (exit 5), ttl, rm, then not found (exit 4).
      const put = await ok(["db", "put", "ops/a", "hello\nworld"], o);
      const rev = Number(/^OK revision (\d+)$/.exec(put.trim())?.[1]);
      assert.ok(rev > 0, put);
      assert.equal(await ok(["db", "get", "ops/a"], o), "hello\nworld\n");
      const meta = await json(["db", "get", "ops/a"], o);
      assert.deepEqual([meta.value, meta.modRevision, meta.size], ["hello\nworld", rev, 11]);
      const cas = await runCtl(["db", "put", "ops/a", "x", "--if-absent"], o);
      assert.equal(cas.code, 5, cas.err);
      assert.match(cas.err, /^cassemctl: Cannot set "ops\/a" as it must not exist/);
      assert.equal(
        (await runCtl(["db", "put", "ops/a", "y", "--if-revision", String(rev)], o)).code,
        0,
      );
      await ok(["db", "put", "ops/t", "v", "--ttl", "600"], o);
      const ttl = Number((await ok(["db", "ttl", "ops/t"], o)).replace(" s\n", ""));
      assert.ok(ttl > 590 && ttl <= 600, String(ttl));
      assert.equal(await ok(["db", "ttl", "ops/a"], o), "ops/a never expires\n");
      assert.match(await ok(["db", "rm", "ops/t"], o), /^Removed 1 entity at revision \d+$/m);
      const gone = await runCtl(["db", "get", "ops/t"], o);
      assert.equal(gone.code, 4);
      assert.match(gone.err, /^cassemctl: Cannot get ops\/t as it does not exist/);

      // ls, two keys a page: following the printed --seek visits every key once.
      for (const k of ["k1", "k2", "k3", "k4", "k5"]) await ok(["db", "put", `page/${k}`, k], o);
      const seen: string[] = [];
      let seek: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const out = await ok(
          ["db", "ls", "page/", "-n", "2", ...(seek ? ["--seek", seek] : [])],
          o,
        );
        const lines = out.trim().split("\n");
        assert.match(lines[0]!, /^KEY +SIZE +MOD REV +TTL +UPDATED$/);
        const more = /^\(more: cassemctl db ls page\/ --seek (\S+)\)$/.exec(lines.at(-1)!);
        seen.push(...lines.slice(1, more ? -1 : undefined).map((l) => l.split(/\s+/)[0]!));
        if (!more) break;
        seek = more[1];
      }
      assert.deepEqual(seen, ["page/k1", "page/k2", "page/k3", "page/k4", "page/k5"]);
      const all = await json(["db", "ls", "page/", "-n", "2", "--all"], o);
      assert.equal(all.entities.length, 5);
      assert.equal(all.hasMore, false);

      // watch from a revision: replays exactly the changes after it, as JSON lines, each at
      // the revision its write answered (others write meanwhile: agents renew their records).
      const revisionOf = (out: string) => Number(/^OK revision (\d+)$/m.exec(out)?.[1]);
      const from = revisionOf(await ok(["db", "put", "w/x", "1"], o));
      const second = revisionOf(await ok(["db", "put", "w/y", "2"], o));
      const third = Number(/at revision (\d+)$/m.exec(await ok(["db", "rm", "w/x"], o))?.[1]);
      const watched = await ok([
        "db",
        "watch",
        "w/",
        "--prefix",
        "--from",
        String(from),
        "--count",
        "3",
        "--json",
      ], o);
      const events = watched.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(events.map((e) => [e.op, e.key, e.value ?? null]), [
        ["SET", "w/x", "1"],
        ["SET", "w/y", "2"],
        ["UNSET", "w/x", null],
      ]);
      assert.deepEqual(events.map((e) => e.revision), [from, second, third]);
      const text = await ok([
        "db",
        "watch",
        "w/",
        "--prefix",
        "--from",
        String(from),
        "--count",
        "2",
      ], o);
      assert.equal(text, `${from} SET w/x = 1\n${second} SET w/y = 2\n`);

      // members and status: three voters, one leader, every node answers.
      const members = await json(["db", "members"], o);
      assert.equal(members.members.length, 3);
      assert.ok(members.leader >= 1);
      const status = await json(["db", "status"], o);
      assert.deepEqual(status.nodes.map((n: { id: number }) => n.id).sort(), [1, 2, 3]);
      assert.ok(
        status.nodes.every((n: { reachable: boolean; revision: number }) =>
          n.reachable && n.revision > 0
        ),
      );
      assert.equal(status.nodes.filter((n: { role: string }) => n.role === "leader").length, 1);
      const table = await ok(["db", "status"], o);
      assert.match(table, /^ID +ADDRESS +ROLE +TERM +COMMIT +APPLIED +REVISION +KEYS +REACHABLE$/m);

      // Leadership moves to the node asked for.
      const target = [1, 2, 3].find((id) => id !== members.leader)!;
      assert.equal(
        await ok(["db", "transfer-leader", String(target)], o),
        `Node ${target} leads\n`,
      );
      await waitFor(
        "the new leader in members",
        async () => (await json(["db", "members"], o)).leader === target ? true : undefined,
        { timeoutMs: 20_000 },
      );

      // A paused follower shows as unreachable; the others still answer.
      const follower = [1, 2, 3].find((id) => id !== target)!;
      const pid = stack.pids.get(`cassemdb node ${follower}`)!.at(-1)!;
      Deno.kill(pid, "SIGSTOP");
      paused.push(pid);
      const partial = await json(["db", "status"], o);
      const row = partial.nodes.find((n: { id: number }) => n.id === follower);
      assert.equal(row.reachable, false, JSON.stringify(partial));
      assert.equal(partial.nodes.filter((n: { reachable: boolean }) => n.reachable).length, 2);
      Deno.kill(pid, "SIGCONT");
      paused.pop();

      // A member added as a learner, then removed.
      const [peer, client] = [freePort(), freePort()];
      const added = await json(
        ["db", "add-node", "--peer", `127.0.0.1:${peer}`, "--client", `127.0.0.1:${client}`],
        o,
      );
      assert.equal(added.id, 4);
      const four = (await json(["db", "members"], o)).members.find((m: { id: number }) =>
        m.id === 4
      );
      assert.deepEqual([four.learner, four.peerAddr], [true, `127.0.0.1:${peer}`]);
      assert.match(await ok(["db", "remove-node", "4"], o), /^Removed node 4;/);
      assert.equal((await json(["db", "members"], o)).members.length, 3);
      assert.equal((await runCtl(["db", "remove-node", "4"], o)).code, 4);

      // No node to reach: exit 6, naming the address.
      const nowhere = `127.0.0.1:${freePort()}`;
      const down = await runCtl(["db", "get", "ops/a", "--endpoints", nowhere], o);
      assert.equal(down.code, 6);
      assert.equal(
        down.err,
        `cassemctl: Cannot reach cassemdb at ${nowhere} as the connection was refused: is it running? (pass --endpoints, or set CASSEMDB_ENDPOINTS)\n`,
      );
      assert.equal((await runCtl(["db", "status", "--endpoints", nowhere], o)).code, 6);
      assert.equal((await stack.stop()).code, 0, stack.output());
    } finally {
      for (const pid of paused) {
        try {
          Deno.kill(pid, "SIGCONT");
        } catch { /* gone */ }
      }
      await stack.kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
