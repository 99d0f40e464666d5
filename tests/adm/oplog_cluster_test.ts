/**
 * The operation log (filters, paging, newest first, request ids, who may
 * read it) and the cluster views, on the in-memory db.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  agentKey,
  AgentRecord,
  encodeRecord,
  instanceKey,
  InstanceRecord,
} from "../../shared/config/mod.ts";
import { createTestAdm } from "../../adm/testing.ts";

const FP = "f".repeat(64);

Deno.test("every mutation is in the oplog with operator, target and request id, newest first", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  await t.request("POST", "/api/apps/shop", {
    ...admin,
    body: {},
    headers: { "X-Request-Id": "req-create" },
  });
  t.advance(1_000);
  await t.request("POST", "/api/apps/shop/envs/prod", { ...admin, body: {} });
  t.advance(1_000);
  await t.request("PUT", "/api/apps/shop", { ...admin, body: { description: "d" } });
  const r = await t.request("GET", "/api/oplog?app=shop", admin);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((e: { operation: string }) => e.operation), [
    "app.update",
    "env.create",
    "app.create",
  ]);
  const create = r.body.items[2];
  assert.deepEqual(
    [create.operator, create.target, create.requestId, create.app, create.env],
    ["admin", "apps/shop", "req-create", "shop", null],
  );
  assert.equal(r.body.items[1].env, "prod");
  assert.equal(r.body.items[0].time, new Date(t.now()).toISOString());
});

Deno.test("oplog filters: env, operator, operation prefix, time range; paging with a cursor", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  await t.createTestApp("shop");
  const start = t.now();
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    t.advance(1_000);
    times.push(t.now());
    await t.request("POST", `/api/apps/shop/envs/e${i}`, { ...admin, body: {} });
  }
  const bob = await t.userWithRoles("bob", { shop: ["owner"] });
  t.advance(1_000);
  await t.request("PUT", "/api/apps/shop/envs/e1", { token: bob, body: { description: "by bob" } });
  const get = (q: string) => t.request("GET", `/api/oplog?${q}`, admin).then((r) => r.body);
  assert.deepEqual((await get("app=shop&operator=bob")).items.map((e: { env: string }) => e.env), [
    "e1",
  ]);
  assert.equal((await get("app=shop&env=e3")).items.length, 1);
  assert.equal((await get("operation=env.*")).items.length, 8);
  assert.equal((await get("operation=env.create")).items.length, 7);
  const range = await get(
    `from=${new Date(times[2]!).toISOString()}&to=${new Date(times[4]!).toISOString()}`,
  );
  assert.deepEqual(range.items.map((e: { env: string }) => e.env), ["e4", "e3", "e2"]);
  const bad = await t.request(
    "GET",
    `/api/oplog?from=${new Date(times[4]!).toISOString()}&to=${new Date(start).toISOString()}`,
    admin,
  );
  assert.deepEqual([bad.status, bad.body.error.field], [400, "query.from"]);
  // Pages of 3 walk everything exactly once, newest first.
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: { items: { id: string; time: string }[]; next: string | null } = await get(
      `operation=env.create&limit=3${cursor ? `&cursor=${cursor}` : ""}`,
    );
    seen.push(...page.items.map((e) => e.time));
    cursor = page.next;
    pages++;
  } while (cursor !== null && pages < 10);
  assert.equal(seen.length, 7);
  assert.deepEqual(seen, [...seen].sort().reverse());
  assert.equal((await t.request("GET", "/api/oplog?cursor=nonsense", admin)).status, 400);
});

Deno.test("a narrow filter over a long log answers a cursor after oplogScanLimit entries", async () => {
  const t = await createTestAdm({ config: { oplogScanLimit: 5 } });
  const admin = { token: t.adminToken };
  await t.createTestApp("shop");
  for (let i = 0; i < 8; i++) {
    t.advance(1_000); // entries of one millisecond have no order among them
    await t.request("POST", `/api/apps/shop/envs/e${i}`, { ...admin, body: {} });
  }
  const first = (await t.request("GET", "/api/oplog?operation=app.create", admin)).body;
  assert.deepEqual(first.items, []);
  assert.notEqual(first.next, null);
  const second =
    (await t.request("GET", `/api/oplog?operation=app.create&cursor=${first.next}`, admin)).body;
  assert.equal(second.items.length, 1);
});

Deno.test("non-admins read the oplog of their apps only", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  await t.createTestApp("shop");
  await t.createTestApp("blog");
  const viewer = await t.userWithRoles("v", { shop: ["viewer"] });
  assert.equal((await t.request("GET", "/api/oplog", { token: viewer })).status, 403);
  assert.equal((await t.request("GET", "/api/oplog?app=blog", { token: viewer })).status, 403);
  const mine = await t.request("GET", "/api/oplog?app=shop", { token: viewer });
  assert.equal(mine.status, 200);
  assert.ok(mine.body.items.every((e: { app: string }) => e.app === "shop"));
  assert.ok((await t.request("GET", "/api/oplog", admin)).body.items.length >= 2);
});

Deno.test("cluster views: agents, instances filtered by app/env/key, one instance", async () => {
  const t = await createTestAdm();
  const time = new Date(t.now()).toISOString();
  await t.db.set(
    agentKey("agent-1"),
    encodeRecord(AgentRecord, {
      agentId: "agent-1",
      addr: "127.0.0.1:7071",
      grpcAddr: null,
      annotations: { zone: "a" },
      startedAt: time,
      renewedAt: time,
    }),
    { ttl: 30 },
  );
  const inst = (clientId: string, watching: { app: string; env: string; keys: string[] }[]) =>
    t.db.set(
      instanceKey(clientId),
      encodeRecord(InstanceRecord, {
        clientId,
        agentId: "agent-1",
        clientIp: "10.0.0.1",
        labels: { region: "eu" },
        watching,
        running: watching.flatMap((w) =>
          w.keys.map((key) => ({
            app: w.app,
            env: w.env,
            key,
            version: 3,
            fingerprint: FP,
            gray: false,
          }))
        ),
        registeredAt: time,
        renewedAt: time,
      }),
      { ttl: 30 },
    );
  await inst("c1", [{ app: "shop", env: "prod", keys: ["timeout", "db"] }]);
  await inst("c2", [{ app: "shop", env: "dev", keys: ["timeout"] }]);
  await inst("c3", [{ app: "blog", env: "prod", keys: [] }]);
  await inst("c4", [{ app: "blog", env: "prod", keys: ["x"] }, {
    app: "shop",
    env: "prod",
    keys: ["timeout"],
  }]);
  const tok = t.adminToken;
  const get = (q: string, token = tok) => t.request("GET", `/api/cluster/instances${q}`, { token });
  const agents = await t.request("GET", "/api/cluster/agents", { token: tok });
  assert.deepEqual(agents.body.items.map((a: { agentId: string }) => a.agentId), ["agent-1"]);
  const ids = async (q: string, token = tok) =>
    (await get(q, token)).body.items.map((i: { clientId: string }) => i.clientId);
  assert.deepEqual(await ids(""), ["c1", "c2", "c3", "c4"]);
  assert.deepEqual(await ids("?app=shop"), ["c1", "c2", "c4"]);
  assert.deepEqual(await ids("?app=shop&env=prod"), ["c1", "c4"]);
  assert.deepEqual(await ids("?app=shop&key=timeout"), ["c1", "c2", "c4"]);
  assert.deepEqual(await ids("?app=shop&key=db"), ["c1"]);
  assert.deepEqual(await ids("?app=blog&key=anything"), ["c3"]); // no keys: the whole env
  const page = await get("?limit=2");
  assert.deepEqual([page.body.items.length, page.body.next], [2, "c2"]);
  assert.deepEqual(await ids(`?limit=2&seek=${page.body.next}`), ["c3", "c4"]);
  const one = await t.request("GET", "/api/cluster/instances/c1", { token: tok });
  assert.deepEqual(
    one.body.running.map((r: { key: string; version: number }) => [r.key, r.version]),
    [
      ["timeout", 3],
      ["db", 3],
    ],
  );
  assert.equal((await t.request("GET", "/api/cluster/instances/c9", { token: tok })).status, 404);

  // Others see the instances of apps they may read, and of those only their apps' entries.
  const nobody = await t.userWithRoles("nobody");
  assert.deepEqual(await ids("", nobody), []);
  assert.equal(
    (await t.request("GET", "/api/cluster/instances/c1", { token: nobody })).status,
    404,
  );
  const shopViewer = await t.userWithRoles("shop-viewer", { shop: ["viewer"] });
  assert.deepEqual(await ids("", shopViewer), ["c1", "c2", "c4"]);
  assert.deepEqual(await ids("?app=blog", shopViewer), []);
  const mixed = await t.request("GET", "/api/cluster/instances/c4", { token: shopViewer });
  assert.deepEqual(mixed.body.watching.map((w: { app: string }) => w.app), ["shop"]);
  assert.deepEqual(mixed.body.running.map((r: { app: string }) => r.app), ["shop"]);
  assert.equal(
    (await t.request("GET", "/api/cluster/instances/c3", { token: shopViewer })).status,
    404,
  );
  const blogToken = await t.apiToken("blog", "viewer");
  assert.deepEqual(await ids("", blogToken), ["c3", "c4"]);
  const asBlog = await t.request("GET", "/api/cluster/instances/c4", { token: blogToken });
  assert.deepEqual(asBlog.body.running.map((r: { key: string }) => r.key), ["x"]);
  // The records expire with their TTL.
  t.advance(31_000);
  assert.deepEqual(await ids(""), []);
});
