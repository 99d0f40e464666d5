import assert from "node:assert/strict";
import {
  freePort,
  freePortBlock,
  isAlive,
  liveChildren,
  portIsFree,
  spawnChild,
  waitFor,
} from "./procs.ts";

/** `deno eval body` as a child with stdin piped. */
function script(body: string) {
  return spawnChild("script", Deno.execPath(), ["eval", body], { stdin: "piped" });
}

Deno.test("ChildProc.waitLine finds a line already printed or still to come, on either stream", async () => {
  const p = script(`console.log("one"); console.error("two");
    await new Promise((r) => setTimeout(r, 300)); console.log("three");
    for await (const _ of Deno.stdin.readable) {}`);
  try {
    assert.equal(await p.waitLine((l) => l === "three", { timeoutMs: 10_000 }), "three");
    assert.equal(await p.waitLine((l) => l === "one", { timeoutMs: 1 }), "one");
    assert.equal(await p.waitLine((l) => l === "two", { timeoutMs: 1, stream: "stderr" }), "two");
    await assert.rejects(
      p.waitLine((l) => l === "two", { timeoutMs: 200, stream: "stdout" }),
      /printed none within 200 ms/,
    );
    assert.deepEqual(p.lines("stdout"), ["one", "three"]);
    assert.ok(liveChildren().includes(p));
  } finally {
    await p.closeStdin();
    assert.equal((await p.exited).code, 0);
  }
  assert.ok(!liveChildren().includes(p));
});

Deno.test("ChildProc.waitLine fails as soon as the process exits without the line", async () => {
  const p = script(`console.error("bye"); Deno.exit(3);`);
  const t0 = Date.now();
  await assert.rejects(
    p.waitLine((l) => l === "never", { timeoutMs: 60_000 }),
    (e: Error) => /exited \(code 3\): bye/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 30_000);
});

Deno.test("ChildProc.stop sends SIGTERM, then SIGKILL after the grace period", async () => {
  const obeys = script(`Deno.addSignalListener("SIGTERM", () => Deno.exit(7)); console.log("up");
    await new Promise(() => {});`);
  await obeys.waitLine((l) => l === "up", { timeoutMs: 10_000 });
  assert.equal((await obeys.stop({ graceMs: 10_000 })).code, 7);
  const deaf = script(`Deno.addSignalListener("SIGTERM", () => {}); console.log("up");
    await new Promise(() => {});`);
  await deaf.waitLine((l) => l === "up", { timeoutMs: 10_000 });
  const status = await deaf.stop({ graceMs: 300 });
  assert.equal(status.signal, "SIGKILL");
  assert.equal(isAlive(deaf.pid), false);
});

Deno.test("freePort and freePortBlock hand out free ports, never the same one twice", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const p = freePort();
    assert.ok(!seen.has(p));
    assert.ok(portIsFree(p));
    seen.add(p);
  }
  const base = freePortBlock([0, 1, 10]);
  for (const o of [0, 1, 10]) {
    assert.ok(!seen.has(base + o));
    assert.ok(portIsFree(base + o));
  }
  const held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    assert.equal(portIsFree((held.addr as Deno.NetAddr).port), false);
  } finally {
    held.close();
  }
});

Deno.test("waitFor returns the first defined value, and names what it waited for on timeout", async () => {
  let n = 0;
  assert.equal(await waitFor("three polls", () => (++n >= 3 ? n : undefined), { everyMs: 1 }), 3);
  await assert.rejects(
    waitFor("nothing", () => undefined, { timeoutMs: 50, everyMs: 10 }),
    /Cannot see nothing within 50 ms/,
  );
  await assert.rejects(
    waitFor("x", () => undefined, { failIf: () => "the server died" }),
    /Cannot see x as the server died/,
  );
});
