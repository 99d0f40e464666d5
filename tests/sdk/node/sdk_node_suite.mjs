// The SDK under Node (node:test), against real agents that the Deno test
// tests/sdk/node_test.ts serves on loopback. It imports the SDK bundle
// (`deno bundle sdk/mod.ts`) named by CASSEM_SDK_BUNDLE, and drives the
// test's control server (CONTROL_URL) to publish and to stop an agent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";

const sdk = await import(process.env.CASSEM_SDK_BUNDLE);
const { createClient, AgentAnswerError, UnavailableError } = sdk;
const [A1, A2] = process.env.AGENT_URLS.split(",");
const DEAD = process.env.DEAD_URL;
const CONTROL = process.env.CONTROL_URL;
const CACHE_DIR = process.env.CACHE_DIR;
const FAST = { initialMs: 20, maxMs: 200 };

async function control(path, body) {
  const r = await fetch(CONTROL + path, { method: "POST", body: JSON.stringify(body ?? {}) });
  assert.equal(r.status, 200, await r.clone().text());
  return await r.json();
}

async function until(what, probe, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`Cannot see ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const plain = (v) => JSON.parse(JSON.stringify(v));

test("runs on Node 20 or later", () => {
  assert.ok(Number(process.versions.node.split(".")[0]) >= 20, process.versions.node);
});

test("get parses JSON, YAML, TOML, INI and properties as cassem does, through a dead agent first", async () => {
  const c = createClient({ agents: [DEAD, A1], app: "shop", env: "prod", onError: () => {} });
  try {
    assert.deepEqual(plain((await c.get("j")).value), { ms: 30 });
    assert.deepEqual(plain((await c.get("y")).value), { a: [1, "two"] });
    assert.deepEqual(plain((await c.get("t")).value), { db: { port: 5432 } });
    assert.deepEqual(plain((await c.get("i")).value), { db: { host: "h" } });
    assert.deepEqual(plain((await c.get("p")).value), { "a.b": "cA" });
    const typed = await c.get("j", { parse: (v) => ({ timeoutMs: v.ms }) });
    assert.deepEqual(typed.value, { timeoutMs: 30 });
    assert.equal(typed.stale, false);
    await assert.rejects(() => c.get("nope"), (e) => e.code === "NOT_FOUND");
    assert.ok(c.revision > 0);
  } finally {
    await c.close();
  }
});

test("a wrong secret is terminal: get rejects with PERMISSION_DENIED, a watch reports it and stops", async () => {
  const c = createClient({
    agents: [A1],
    app: "shop",
    env: "locked",
    secret: "wrong",
    backoff: FAST,
  });
  try {
    await assert.rejects(
      () => c.get("k"),
      (e) => e instanceof AgentAnswerError && e.code === "PERMISSION_DENIED",
    );
    const errors = [];
    const h = c.watch(["k"], () => assert.fail("no update"), { onError: (e) => errors.push(e) });
    await assert.rejects(h.ready);
    await h.done;
    assert.deepEqual(errors.map((e) => [e.code, e.terminal]), [["PERMISSION_DENIED", true]]);
  } finally {
    await c.close();
  }
});

test("watch gets each new version, then resumes on the second agent when the first stops", async () => {
  const c = createClient({
    agents: [A1, A2],
    app: "shop",
    env: "prod",
    clientId: "node-1",
    cacheDir: CACHE_DIR,
    backoff: FAST,
    onError: () => {},
  });
  const updates = [];
  const h = c.watch(["w"], (u) => updates.push(u));
  try {
    await h.ready;
    assert.deepEqual(
      [updates[0].initial, updates[0].stale, updates[0].changed.map((e) => e.version)],
      [true, false, [1]],
    );
    assert.equal(h.agent, A1);
    const r2 = (await control("/publish", { key: "w", version: 2 })).revision;
    await until("version 2", () => h.current("w")?.version === 2);
    await control("/stop-agent", { index: 0 });
    await until("the watch on agent 2", () => h.agent === A2);
    const r3 = (await control("/publish", { key: "w", version: 3 })).revision;
    await until("version 3", () => h.current("w")?.version === 3);
    assert.deepEqual(
      updates.map((u) => [u.revision, u.changed.map((e) => e.version)]).slice(1),
      [[r2, [2]], [r3, [3]]],
      "each version once, in order",
    );
  } finally {
    h.close();
    await c.close();
  }
  const files = await readdir(CACHE_DIR);
  assert.equal(files.filter((f) => f.endsWith(".json")).length, 1, String(files));
  assert.equal(files.filter((f) => f.endsWith(".tmp")).length, 0, String(files));
});

test("with every agent down a client starts from the disk cache and says it is stale", async () => {
  const c = createClient({
    agents: [DEAD],
    app: "shop",
    env: "prod",
    clientId: "node-1",
    cacheDir: CACHE_DIR,
    backoff: FAST,
    requestTimeoutMs: 2_000,
    onError: () => {},
  });
  try {
    const got = await c.get("w");
    assert.deepEqual([got.version, got.stale], [3, true]);
    const updates = [];
    const h = c.watch(["w"], (u) => updates.push(u));
    await h.ready;
    assert.deepEqual([updates[0].initial, updates[0].stale, updates[0].changed[0].version], [
      true,
      true,
      3,
    ]);
    await assert.rejects(
      () => c.get("j"),
      (e) => e instanceof UnavailableError && e.message.includes(DEAD),
    );
  } finally {
    await c.close();
  }
});
