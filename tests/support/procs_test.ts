import assert from "node:assert/strict";
import {
  freePort,
  freePortBlock,
  isAlive,
  liveChildren,
  portIsFree,
  runToEnd,
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

Deno.test("runToEnd answers the exit code and the whole output; stdin is written and closed; env adds to the environment or, with clearEnv, is all of it", async () => {
  const r = await runToEnd(Deno.execPath(), [
    "eval",
    `const text = await new Response(Deno.stdin.readable).text();
     console.log(text.toUpperCase()); console.error("err"); Deno.exit(4);`,
  ], { stdin: "hello", timeoutMs: 60_000 });
  assert.deepEqual(r, { code: 4, stdout: "HELLO\n", stderr: "err\n" });
  Deno.env.set("CASSEM_PROCS_TEST_PARENT", "p");
  try {
    const script = `console.log(Deno.env.get("A"), Deno.env.get("CASSEM_PROCS_TEST_PARENT"))`;
    const opts = { env: { A: "a" }, timeoutMs: 60_000 };
    const added = await runToEnd(Deno.execPath(), ["eval", script], opts);
    assert.equal(added.stdout, "a p\n");
    const only = await runToEnd(Deno.execPath(), ["eval", script], { ...opts, clearEnv: true });
    assert.equal(only.stdout, "a undefined\n");
  } finally {
    Deno.env.delete("CASSEM_PROCS_TEST_PARENT");
  }
});

Deno.test("runToEnd kills a child still running after timeoutMs", async () => {
  const t0 = Date.now();
  const r = await runToEnd(Deno.execPath(), ["eval", "setInterval(() => {}, 1_000)"], {
    timeoutMs: 2_000,
  });
  assert.equal(r.code, 137); // 128 + SIGKILL
  assert.ok(Date.now() - t0 < 60_000);
});
