/**
 * `deno task start` as a user runs it, on free ports (`--port-base`):
 * every printed address answers, the admin password is printed once, a
 * service killed with SIGKILL is reported and comes back, SIGTERM stops
 * everything (no PID left), a restart keeps the data; two stacks side by
 * side, one of them a 3-node cassemdb; a second stack on a running stack's
 * data, or on a port in use, refuses in one line; kill -9 of the supervisor
 * leaves no service behind.
 */

import assert from "node:assert/strict";
import { isAlive, waitFor } from "../support/procs.ts";
import { freePortBase, listens, login, StackProc, waitOk } from "./_stack.ts";

const cleanEnv = { CASSEM_ADMIN_PASSWORD: "", CASSEM_SECRET_KEY: "" };

/** Env without the variables that would change what the stack does. */
function env(): Record<string, string> {
  return { ...cleanEnv };
}

async function checkAnswers(
  urls: Awaited<ReturnType<StackProc["urls"]>>,
  nodes: number,
): Promise<void> {
  assert.equal(urls.db.length, nodes);
  const health = await waitOk(`${urls.adm}/api/health`) as Record<string, unknown>;
  assert.ok(health, "cassemadm's health");
  await waitOk(`${urls.agentHttp}/healthz`);
  assert.ok(await listens(urls.agentGrpc), `cassemagent's gRPC ${urls.agentGrpc}`);
  for (const node of urls.db) {
    assert.ok(await listens(node.client), `cassemdb's client address ${node.client}`);
    await waitOk(node.status);
  }
  await waitFor("one cassemdb leader", async () => {
    const now = await Promise.all(
      urls.db.map(async (n) => ((await waitOk(n.status)) as { role: string }).role),
    );
    return now.filter((r) => r === "leader").length === 1 ? true : undefined;
  }, { timeoutMs: 30_000 });
}

Deno.test({
  name:
    "deno task start: addresses answer, a killed service comes back, SIGTERM stops all, a restart keeps data, Ctrl-C stops cleanly",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cwd = await Deno.makeTempDir({ prefix: "cassem-stack-" });
    const base = freePortBase();
    let stack = new StackProc(cwd, ["--port-base", String(base)], env());
    try {
      const urls = await stack.urls();
      assert.equal(urls.adm, `http://127.0.0.1:${base + 61}`);
      assert.equal(urls.agentHttp, `http://127.0.0.1:${base + 81}`);
      assert.equal(urls.agentGrpc, `127.0.0.1:${base + 82}`);
      assert.deepEqual(urls.db, [{
        client: `127.0.0.1:${base + 21}`,
        status: `http://127.0.0.1:${base + 23}/status`,
      }]);
      await checkAnswers(urls, 1);
      const password = await stack.password();
      assert.equal(
        stack.proc.lines("stdout").filter((l) => l.includes(password)).length,
        1,
        "the password is printed once",
      );
      const logs = await Deno.readTextFile(`${cwd}/data/logs/cassemadm.log`);
      assert.ok(!logs.includes(password), "the password never reaches the log file");
      const token = await login(urls.adm, password);
      const created = await fetch(`${urls.adm}/api/apps/shop`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ description: "kept across restarts" }),
      });
      assert.equal(created.status, 201, await created.text());

      // A service killed with SIGKILL is reported, started again, and serves.
      const admPid = stack.pids.get("cassemadm")![0]!;
      Deno.kill(admPid, "SIGKILL");
      await stack.proc.waitLine((l) => l === "[cassem] cassemadm is back", { timeoutMs: 60_000 });
      assert.ok(
        stack.proc.lines("stderr").includes(
          "[cassem] cassemadm exited (signal SIGKILL); restarting it in 1 s",
        ),
        stack.output(),
      );
      assert.equal(stack.pids.get("cassemadm")!.length, 2);
      const again = await fetch(`${urls.adm}/api/apps/shop`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(again.status, 200, await again.text());

      // SIGTERM stops every service and the supervisor exits 0.
      const pids = stack.currentPids();
      assert.equal(pids.length, 3);
      const status = await stack.stop("SIGTERM");
      assert.equal(status.code, 0, stack.output());
      for (const pid of pids) assert.ok(!isAlive(pid), `pid ${pid} is left:\n${stack.output()}`);
      assert.ok(stack.proc.lines("stderr").includes("[cassem] stopped"));

      // A restart as the README says, `deno task start` (no port flags: the dir remembers its
      // ports), keeps everything.
      stack = new StackProc(cwd, ["--data", `${cwd}/data`], env(), { viaTask: true });
      const urls2 = await stack.urls();
      assert.deepEqual(urls2, urls);
      const token2 = await login(urls.adm, password);
      const kept = await fetch(`${urls.adm}/api/apps/shop`, {
        headers: { authorization: `Bearer ${token2}` },
      });
      const body = await kept.json();
      assert.equal(kept.status, 200);
      assert.equal(body.description ?? body.app?.description, "kept across restarts");
      assert.ok(
        !stack.proc.lines("stdout").some((l) => l.includes("password")),
        "no password on a later start",
      );
      // Ctrl-C reaches `deno task` and the supervisor at once (deno task forwards it too): one
      // clean stop, not a second signal's kill.
      const pids2 = stack.currentPids();
      stack.interrupt();
      const stopped = await stack.proc.exited;
      assert.equal(stopped.code, 0, stack.output());
      assert.ok(stack.proc.lines("stderr").includes("[cassem] stopped"), stack.output());
      assert.ok(!stack.output().includes("stopping now"), stack.output());
      for (const pid of pids2) assert.ok(!isAlive(pid), `pid ${pid} is left:\n${stack.output()}`);
    } finally {
      await stack.kill();
      await Deno.remove(cwd, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "deno task start: two stacks side by side (one on a 3-node cassemdb); refusals; kill -9 of the supervisor",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cwd = await Deno.makeTempDir({ prefix: "cassem-stacks-" });
    const baseA = freePortBase();
    const baseB = freePortBase();
    const a = new StackProc(
      cwd,
      ["--data", "a", "--port-base", String(baseA), "--cluster", "3"],
      env(),
    );
    const b = new StackProc(cwd, ["--data", "b", "--port-base", String(baseB)], env());
    const extra: StackProc[] = [];
    try {
      const [urlsA, urlsB] = await Promise.all([a.urls(), b.urls()]);
      await Promise.all([checkAnswers(urlsA, 3), checkAnswers(urlsB, 1)]);
      // Two clusters of their own: each admin password opens only its own stack.
      const [pwA, pwB] = await Promise.all([a.password(), b.password()]);
      assert.notEqual(pwA, pwB);
      await login(urlsA.adm, pwA);
      const wrong = await fetch(`${urlsB.adm}/api/account/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ account: "admin", password: pwA }),
      });
      assert.equal(wrong.status, 401, await wrong.text());
      assert.equal(a.pids.size, 5, a.output()); // three nodes, adm, agent

      // A second stack on a's data refuses at once, in one line, starting nothing.
      const twin = new StackProc(cwd, ["--data", "a"], env());
      extra.push(twin);
      const twinStatus = await twin.proc.exited;
      assert.equal(twinStatus.code, 1);
      const twinErr = twin.proc.lines("stderr");
      assert.equal(twinErr.length, 1, twinErr.join("\n"));
      assert.match(
        twinErr[0]!,
        new RegExp(
          `^Cannot start the stack on --data ${cwd}/a as process ${a.proc.pid} runs a stack on it`,
        ),
      );
      // A stack on b's ports (another data dir) refuses, naming the address and --port-base.
      const clash = new StackProc(cwd, ["--data", "c", "--port-base", String(baseB)], env());
      extra.push(clash);
      assert.equal((await clash.proc.exited).code, 1);
      assert.deepEqual(clash.proc.lines("stderr"), [
        `Cannot start the stack's cassemdb as the client port of node 1, 127.0.0.1:${
          baseB + 21
        } (--port-base ${baseB}), cannot be bound: it is in use; stop what listens there, or pick another --port-base`,
      ]);
      assert.deepEqual(clash.pids.size, 0);
      // Flags that contradict a's data dir: exit 2, one line.
      const contra = new StackProc(cwd, ["--data", "b", "--cluster", "3"], env());
      extra.push(contra);
      assert.equal((await contra.proc.exited).code, 2);
      assert.match(
        contra.proc.lines("stderr").join("\n"),
        /^Cannot start the stack with --cluster 3 as .*\/b holds a cassemdb of 1 node: /,
      );

      // kill -9 of a's supervisor: none of its services outlives it; b is untouched.
      const pidsA = a.currentPids();
      a.proc.signal("SIGKILL");
      await a.proc.exited;
      await waitFor("every service of stack a gone", () => pidsA.some(isAlive) ? undefined : true, {
        timeoutMs: 30_000,
      });
      await waitOk(`${urlsB.adm}/api/health`, 5_000);
      assert.equal((await b.stop("SIGTERM")).code, 0, b.output());
    } finally {
      await Promise.all([a, b, ...extra].map((s) => s.kill()));
      await Deno.remove(cwd, { recursive: true }).catch(() => {});
    }
  },
});
