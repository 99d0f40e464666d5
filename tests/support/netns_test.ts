import assert from "node:assert/strict";
import {
  commandIn,
  createNetLab,
  cutHost,
  destroyNetLab,
  droppedPackets,
  healHost,
  type NetHost,
  type NetLab,
  NO_NETNS_ENV,
} from "./netns.ts";
import { runToEnd, spawnChild } from "./procs.ts";

/** Whether a TCP connection from host `from` to `addr:port` opens within 2 s. */
async function connects(from: NetHost, addr: string, port: number): Promise<boolean> {
  const [cmd, args] = commandIn(from, "timeout", [
    "2",
    "bash",
    "-c",
    `exec 3<>/dev/tcp/${addr}/${port}`,
  ]);
  const r = await runToEnd(cmd, args, { timeoutMs: 10_000 });
  return r.code === 0;
}

async function namespaces(): Promise<string[]> {
  const r = await runToEnd("ip", ["netns", "list"], { timeoutMs: 10_000 });
  return r.stdout.split("\n").map((l) => l.split(/\s+/)[0] ?? "").filter(Boolean);
}

Deno.test({
  name: "createNetLab joins its hosts; cutHost drops one host's packets both ways until healHost",
  ignore: Deno.env.get(NO_NETNS_ENV) === "1",
  sanitizeResources: false,
}, async () => {
  // A lab left behind by a process that is gone is swept away by the next one.
  const gone = await new Deno.Command("true").spawn();
  await gone.status;
  const stale = `cassem-${gone.pid}-1-hub`;
  await runToEnd("ip", ["netns", "add", stale], { timeoutMs: 10_000 });

  let lab: NetLab | undefined;
  let server: ReturnType<typeof spawnChild> | undefined;
  try {
    lab = await createNetLab({ nodes: 2 });
    assert.ok(!(await namespaces()).includes(stale), "a stale lab was not swept");
    const [n1, n2] = lab.nodes as [NetHost, NetHost];
    assert.deepEqual([n1.addr, n2.addr, lab.client.addr], ["127.0.0.2", "127.0.0.3", "127.0.0.9"]);
    const code = `const l = Deno.listen({ hostname: "${n2.addr}", port: 7000 }); ` +
      `console.log("ready"); for await (const c of l) c.close();`;
    const [cmd, args] = commandIn(n2, Deno.execPath(), ["eval", code]);
    server = spawnChild("listener", cmd, args);
    await server.waitLine((l) => l === "ready", { timeoutMs: 20_000 });

    assert.equal(await connects(n1, n2.addr, 7000), true, "node 1 reaches node 2");
    assert.equal(await connects(lab.client, n2.addr, 7000), true, "the client reaches node 2");
    await cutHost(lab, n2.addr);
    assert.equal(await connects(n1, n2.addr, 7000), false, "node 1 reaches node 2 through the cut");
    assert.equal(await connects(lab.client, n2.addr, 7000), false, "the client reaches node 2");
    assert.ok((await droppedPackets(lab)) > 0, "the cut counted no dropped packet");
    await healHost(lab, n2.addr);
    assert.equal(await connects(n1, n2.addr, 7000), true, "node 1 reaches node 2 once healed");
  } finally {
    await server?.stop({ signal: "SIGKILL" });
    if (lab) await destroyNetLab(lab);
    await runToEnd("ip", ["netns", "del", stale], { timeoutMs: 10_000 });
  }
  const left = (await namespaces()).filter((ns) => lab && ns.startsWith(lab.name));
  assert.deepEqual(left, [], "destroyNetLab left namespaces");
});
