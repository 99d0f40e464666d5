import assert from "node:assert/strict";
import { describeExit, MAX_RESTARTS, SupervisedChild } from "./supervisor.ts";

function shChild(script: string, lines: string[], pids: number[] = []): SupervisedChild {
  return new SupervisedChild({
    name: "child",
    command: () => ({ cmd: "sh", args: ["-c", script] }),
  }, {
    report: (l) => lines.push(`report: ${l}`),
    onLine: (s, l) => lines.push(`${s}: ${l}`),
    onStart: (pid) => pids.push(pid),
  });
}

Deno.test("SupervisedChild leaves a child that refuses its flags (exit 2) down", async () => {
  const lines: string[] = [];
  const child = shChild("echo bad flag >&2; exit 2", lines);
  assert.equal(await child.run(), false);
  assert.equal(child.starts, 1);
  assert.ok(lines.includes("stderr: bad flag"), lines.join("\n"));
  assert.ok(lines.includes("report: child refused to start (code 2, see above); it stays down"));
});

Deno.test("SupervisedChild restarts a child that dies, at most MAX_RESTARTS times a minute", async () => {
  const lines: string[] = [];
  const child = shChild("echo up; exit 1", lines);
  assert.equal(await child.run(), false);
  assert.equal(child.starts, MAX_RESTARTS + 1);
  assert.equal(lines.filter((l) => l === "stdout: up").length, MAX_RESTARTS + 1);
  assert.equal(
    lines.filter((l) => l === "report: child exited (code 1); restarting it in 1 s").length,
    MAX_RESTARTS,
  );
  assert.equal(lines.at(-1), "report: child exited (code 1) again; it stays down");
});

Deno.test("SupervisedChild restarts a child killed by a signal, and stop() ends it for good", async () => {
  const lines: string[] = [];
  const pids: number[] = [];
  const child = shChild("echo up; exec sleep 60", lines, pids);
  const running = child.run();
  const deadline = Date.now() + 10_000;
  while (pids.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  Deno.kill(pids[0]!, "SIGKILL");
  while (pids.length < 2 && Date.now() < deadline + 5_000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(pids.length, 2, lines.join("\n"));
  assert.ok(lines.includes("report: child exited (signal SIGKILL); restarting it in 1 s"));
  await child.stop();
  // Stopped on purpose: no restart, and sleep dies of SIGTERM (not a success), which is said.
  assert.equal(await running, false);
  assert.equal(child.starts, 2);
  assert.equal(lines.at(-1), "report: child exited (signal SIGTERM) while stopping");
  assert.throws(() => Deno.kill(pids[1]!, "SIGCONT"));
});

Deno.test("SupervisedChild.stop() kills a child that ignores SIGTERM after the grace period", async () => {
  const lines: string[] = [];
  const pids: number[] = [];
  const child = shChild("trap '' TERM; echo up; while :; do sleep 0.1; done", lines, pids);
  const running = child.run();
  const deadline = Date.now() + 10_000;
  while (!lines.includes("stdout: up") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await child.stop({ graceMs: 300 });
  assert.equal(await running, false);
  assert.ok(lines.some((l) => /child \(pid \d+\) did not stop within 300 ms; killing it/.test(l)));
  assert.equal(lines.at(-1), "report: child exited (signal SIGKILL) while stopping");
});

Deno.test("SupervisedChild.stop() of a child that exits cleanly says nothing more", async () => {
  const lines: string[] = [];
  const child = shChild("trap 'exit 0' TERM; echo up; while :; do sleep 0.1; done", lines);
  const running = child.run();
  const deadline = Date.now() + 10_000;
  while (!lines.includes("stdout: up") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await child.stop();
  assert.equal(await running, true);
  assert.deepEqual(lines.filter((l) => l.startsWith("report:")), []);
});

Deno.test("describeExit names the signal, else the code", () => {
  assert.equal(describeExit({ success: false, code: 137, signal: "SIGKILL" }), "signal SIGKILL");
  assert.equal(describeExit({ success: false, code: 3, signal: null }), "code 3");
});
