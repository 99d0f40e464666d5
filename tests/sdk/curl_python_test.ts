/**
 * The README's `curl` commands and the standard-library Python client
 * (examples/python/cassem_client.py) against real agents served on
 * loopback (createAgent on a MemoryDb over Deno.serve, as agent/main.ts
 * serves it): their outputs are checked.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { rawFingerprint } from "../../shared/config/mod.ts";
import { TestEnv } from "../../agent/_test_env.ts";
import { deadUrl, serveAgent, type TestServer, until } from "../../sdk/_testing.ts";
import { runToEnd, spawnChild } from "../support/procs.ts";

const PY = fileURLToPath(new URL("../../examples/python/cassem_client.py", import.meta.url));
const E = "/v1/apps/shop/envs/prod";

interface Ran {
  code: number;
  out: string;
  err: string;
}

/** Starts `cmd args` (SIGKILLed after `timeoutMs`); `lines` are its stdout lines so far. */
function start(cmd: string, args: string[], timeoutMs = 30_000) {
  const p = spawnChild(cmd, cmd, args, { rawLogLines: true });
  const timer = setTimeout(() => p.signal("SIGKILL"), timeoutMs);
  const done = p.exited.then((s): Ran => {
    clearTimeout(timer);
    return { code: s.code, out: p.lines("stdout").join("\n"), err: p.lines("stderr").join("\n") };
  });
  return { lines: p.lines("stdout"), done };
}

/** Runs `cmd args` to its exit (bounded by `timeoutMs`). */
async function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<Ran> {
  const r = await runToEnd(cmd, args, { timeoutMs });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

async function world() {
  const t = new TestEnv();
  await t.pub.appEnv("shop", "prod");
  await t.pub.appEnv("shop", "locked", "right");
  const servers: TestServer[] = [];
  return {
    t,
    servers,
    async agent() {
      const s = serveAgent(await t.agent());
      servers.push(s);
      return s;
    },
    async close() {
      await t.close();
      for (const s of servers) await s.close();
    },
  };
}

Deno.test("curl: elements as JSON, raw text with ETag and 304, and the SSE stream with curl -N", async () => {
  const w = await world();
  try {
    const rev = await w.t.pub.publish("shop", "prod", "timeout", {
      version: 3,
      raw: '{"ms": 30}',
      contentType: "json",
    });
    const a = await w.agent();
    const json = await run("curl", ["-s", `${a.url}${E}/elements?keys=timeout,nope`]);
    assert.equal(json.code, 0, json.err);
    const body = JSON.parse(json.out);
    assert.deepEqual(
      [
        body.elements[0].key,
        body.elements[0].version,
        body.elements[0].raw,
        body.missing,
        body.revision,
      ],
      ["timeout", 3, '{"ms": 30}', ["nope"], rev],
    );

    const raw = await run("curl", ["-s", "-i", `${a.url}${E}/elements/timeout/raw`]);
    assert.equal(raw.code, 0, raw.err);
    const etag = `"${await rawFingerprint('{"ms": 30}')}"`;
    assert.match(raw.out, /^HTTP\/1\.1 200/);
    assert.match(raw.out, new RegExp(`^etag: ${etag}\\r?$`, "mi"));
    assert.match(raw.out, /^x-cassem-version: 3\r?$/mi);
    assert.match(raw.out, /^content-type: application\/json\r?$/mi);
    assert.ok(raw.out.endsWith('\r\n\r\n{"ms": 30}'), raw.out);
    const notModified = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      `If-None-Match: ${etag}`,
      `${a.url}${E}/elements/timeout/raw`,
    ]);
    assert.equal(notModified.out, "304");

    // SSE: the initial state and ready, then a version published while curl listens.
    const sse = start("curl", [
      "-s",
      "-N",
      "--max-time",
      "20",
      "-H",
      "Accept: text/event-stream",
      `${a.url}${E}/watch?keys=timeout`,
    ]);
    await until("the ready event", () => sse.lines.some((l) => l === "event: ready"), 15_000);
    const rev4 = await w.t.pub.publish("shop", "prod", "timeout", {
      version: 4,
      raw: '{"ms": 40}',
      contentType: "json",
    });
    await until(
      "the pushed version",
      () => sse.lines.some((l) => l.includes('"version":4')),
      15_000,
    );
    await w.t.agents[0]!.close(); // ends the stream (event: close), so curl exits
    const done = await sse.done;
    const text = done.out;
    assert.match(text, /^retry: 1000$/m);
    assert.match(text, /^data: \{"key":"timeout","version":3,/m);
    assert.match(
      text,
      new RegExp(`^id: ${rev}\\nevent: ready\\ndata: \\{"revision":${rev},"full":false\\}$`, "m"),
    );
    assert.match(text, new RegExp(`^id: ${rev4}\\ndata: \\{"key":"timeout","version":4,`, "m"));
    assert.match(text, /^event: close\ndata: \{"code":"UNAVAILABLE"/m);
  } finally {
    await w.close();
  }
});

Deno.test("python client: get through a dead agent, raw with ETag, a wrong secret exits 2", async () => {
  const w = await world();
  try {
    await w.t.pub.publish("shop", "prod", "timeout", {
      version: 3,
      raw: "ms=30",
      contentType: "properties",
    });
    await w.t.pub.publish("shop", "locked", "k", { version: 1, raw: "k1" });
    const a = await w.agent();
    const base = ["--agents", `${deadUrl()},${a.url}`, "--app", "shop", "--env", "prod"];
    const got = await run("python3", [PY, ...base, "get", "timeout", "nope"]);
    assert.equal(got.code, 0, got.err);
    const body = JSON.parse(got.out);
    assert.deepEqual([body.elements[0].raw, body.elements[0].version, body.missing], ["ms=30", 3, [
      "nope",
    ]]);

    const raw = await run("python3", [PY, ...base, "raw", "timeout"]);
    assert.equal(raw.code, 0, raw.err);
    const r = JSON.parse(raw.out);
    assert.deepEqual([r.raw, r.version, r.etag], [
      "ms=30",
      3,
      `"${await rawFingerprint("ms=30")}"`,
    ]);
    const same = await run("python3", [PY, ...base, "raw", "timeout", "--etag", r.etag]);
    assert.deepEqual([same.code, same.out], [3, ""], "304: nothing printed, exit 3");

    const denied = await run("python3", [
      PY,
      "--agents",
      a.url,
      "--app",
      "shop",
      "--env",
      "locked",
      "--secret",
      "wrong",
      "get",
      "k",
    ]);
    assert.equal(denied.code, 2);
    assert.equal(JSON.parse(denied.err).error.code, "PERMISSION_DENIED");
  } finally {
    await w.close();
  }
});

Deno.test("python client: watch prints each revision once and resumes on the second agent with Last-Event-ID", async () => {
  const w = await world();
  try {
    const p = w.t.pub;
    const r1 = await p.publish("shop", "prod", "a", { version: 1, raw: "a1" });
    const a1 = await w.agent();
    const a2 = await w.agent();
    const watch = start("python3", [
      PY,
      "--agents",
      `${a1.url},${a2.url}`,
      "--app",
      "shop",
      "--env",
      "prod",
      "--client-id",
      "py-1",
      "watch",
      "a",
      "b",
      "--max-updates",
      "4",
      "--max-seconds",
      "40",
    ], 60_000);
    await until("the initial update", () => watch.lines.length >= 1, 15_000);
    const r2 = await p.publish("shop", "prod", "a", { version: 2, raw: "a2" });
    await until("the second update", () => watch.lines.length >= 2, 15_000);
    await w.t.agents[0]!.close(); // the first agent stops: its stream ends with event: close
    await until(
      "the resume on the second agent",
      () => a2.requests.some((r) => r.url.includes("/watch")),
      15_000,
    );
    const r3 = await p.publish("shop", "prod", "b", { version: 1, raw: "b1" });
    const r4 = await p.remove("shop", "prod", "a");
    const done = await watch.done;
    assert.equal(done.code, 0, done.err);
    const updates = done.out.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(
      updates.map((u) => [
        u.revision,
        u.initial,
        u.changed.map((e: { key: string; version: number }) => `${e.key}${e.version}`),
        u.removed,
      ]),
      [
        [r1, true, ["a1"], ["b"]],
        [r2, false, ["a2"], []],
        [r3, false, ["b1"], []],
        [r4, false, [], ["a"]],
      ],
    );
    const resume = a2.requests.find((r) => r.url.includes("/watch"))!;
    assert.equal(resume.headers.get("last-event-id"), String(r2));
  } finally {
    await w.close();
  }
});
