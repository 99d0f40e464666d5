/**
 * Apps, envs, members and API tokens on the in-memory db: CRUD, paging,
 * If-Match, deprecation, cascading deletes, client secrets, and that the
 * served records agents read change in the same Txn.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  appKey,
  decodeRecord,
  envKey,
  EnvRecord,
  hashSecret,
  roleKey,
  serveAppKey,
  ServeAppRecord,
  serveEnvKey,
  ServeEnvRecord,
} from "../../shared/config/mod.ts";
import { createTestAdm, type TestAdm } from "../../adm/testing.ts";

async function record<T>(t: TestAdm, schema: { parse(x: unknown): T }, key: string) {
  const { entity } = await t.db.get(key);
  return entity ? decodeRecord(schema as never, key, entity.val) as T : undefined;
}

Deno.test("apps: create binds the owner, list pages by prefix, update with If-Match, delete", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  await t.userWithRoles("olga");
  const c = await t.request("POST", "/api/apps/shop", {
    ...admin,
    body: { description: "the shop", owner: "olga" },
  });
  assert.equal(c.status, 201);
  assert.deepEqual([c.body.owner, c.body.status, c.body.createdBy], ["olga", "active", "admin"]);
  assert.equal(c.headers.get("ETag"), c.body.etag);
  const noOwner = await t.request("POST", "/api/apps/x", { ...admin, body: { owner: "ghost" } });
  assert.deepEqual([noOwner.status, noOwner.body.error.field], [400, "body.owner"]);
  // The owner may now change the app, with no other binding.
  const olga = await t.userWithRoles("olga");
  assert.equal(
    (await t.request("PUT", "/api/apps/shop", { token: olga, body: { description: "d2" } })).status,
    200,
  );
  for (const id of ["shop-eu", "shop-us", "blog", "shopx"]) await t.createTestApp(id);
  const p1 = await t.request("GET", "/api/apps?prefix=shop&limit=2", admin);
  assert.deepEqual(p1.body.items.map((a: { id: string }) => a.id), ["shop", "shop-eu"]);
  const p2 = await t.request("GET", `/api/apps?prefix=shop&limit=2&seek=${p1.body.next}`, admin);
  assert.deepEqual(p2.body.items.map((a: { id: string }) => a.id), ["shop-us", "shopx"]);
  assert.equal(p2.body.next, null);
  const cur = await t.request("GET", "/api/apps/shop", admin);
  const stale = await t.request("PUT", "/api/apps/shop", {
    ...admin,
    body: { description: "x" },
    headers: { "If-Match": '"r2"' },
  });
  assert.equal(stale.status, 412);
  const ok = await t.request("PUT", "/api/apps/shop", {
    ...admin,
    body: { description: "x" },
    headers: { "If-Match": cur.body.etag },
  });
  assert.equal(ok.status, 200);
  assert.notEqual(ok.body.etag, cur.body.etag);
});

Deno.test("a deprecated app is read-only below it, and agents see its status in the same Txn", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  await t.createTestApp("shop");
  assert.deepEqual(await record(t, ServeAppRecord, serveAppKey("shop")), {
    app: "shop",
    status: "active",
  });
  assert.equal(
    (await t.request("PUT", "/api/apps/shop", { ...admin, body: { status: "deprecated" } })).status,
    200,
  );
  assert.deepEqual(await record(t, ServeAppRecord, serveAppKey("shop")), {
    app: "shop",
    status: "deprecated",
  });
  const env = await t.request("POST", "/api/apps/shop/envs/prod", { ...admin, body: {} });
  assert.deepEqual([env.status, env.body.error.code], [409, "conflict"]);
  assert.match(env.body.error.message, /read-only: current status is deprecated/);
  assert.equal(
    (await t.request("PUT", "/api/apps/shop", { ...admin, body: { description: "x" } })).status,
    409,
  );
  assert.equal(
    (await t.request("POST", "/api/apps/shop/tokens", {
      ...admin,
      body: { name: "ci", role: "viewer" },
    })).status,
    409,
  );
  // Reactivating is allowed, with other changes.
  const back = await t.request("PUT", "/api/apps/shop", {
    ...admin,
    body: { status: "active", description: "back" },
  });
  assert.deepEqual([back.status, back.body.description], [200, "back"]);
  assert.equal(
    (await t.request("POST", "/api/apps/shop/envs/prod", { ...admin, body: {} })).status,
    201,
  );
});

Deno.test("deleting an app removes its envs, served records, roles and tokens in one Txn", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  await t.createTestApp("shop");
  await t.createTestApp("shop2");
  await t.request("POST", "/api/apps/shop/envs/prod", { ...admin, body: { clientSecret: true } });
  await t.request("POST", "/api/apps/shop2/envs/prod", { ...admin, body: {} });
  await t.userWithRoles("dev", { shop: ["developer"], shop2: ["developer"] });
  const tok = (await t.request("POST", "/api/apps/shop/tokens", {
    ...admin,
    body: { name: "ci", role: "releaser" },
  })).body.token;
  const before = t.db.revision;
  assert.equal((await t.request("DELETE", "/api/apps/shop", admin)).status, 200);
  assert.equal(t.db.revision, before + 1, "one revision: one Txn");
  const { entities } = await t.db.list("cassem/");
  const left = entities.map((e) => e.key).filter((k) => /\/shop(\/|$)/.test(k));
  assert.deepEqual(left, [], `left behind: ${left.join(", ")}`);
  // The other app is untouched.
  assert.ok(await record(t, EnvRecord, envKey("shop2", "prod")));
  assert.ok((await t.db.get(roleKey("shop2", "dev"))).entity);
  assert.equal((await t.request("GET", "/api/account/me", { token: tok })).status, 401);
  assert.equal((await t.request("GET", "/api/apps/shop", admin)).status, 404);
  assert.equal((await t.db.get(appKey("shop"))).entity, undefined);
  // The oplog keeps the deletion.
  const log = await t.request("GET", "/api/oplog?app=shop&operation=app.delete", admin);
  assert.equal(log.body.items.length, 1);
});

Deno.test("envs: create, update with If-Match, list, delete; the served env record follows", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  await t.createTestApp("shop");
  assert.equal(
    (await t.request("POST", "/api/apps/nope/envs/prod", { ...admin, body: {} })).status,
    404,
  );
  const c = await t.request("POST", "/api/apps/shop/envs/prod", {
    ...admin,
    body: { requireApproval: true },
  });
  assert.equal(c.status, 201);
  assert.deepEqual([c.body.requireApproval, c.body.hasClientSecret, c.body.clientSecret], [
    true,
    false,
    undefined,
  ]);
  assert.deepEqual(await record(t, ServeEnvRecord, serveEnvKey("shop", "prod")), {
    app: "shop",
    env: "prod",
    clientSecretHash: null,
  });
  assert.equal(
    (await t.request("POST", "/api/apps/shop/envs/prod", { ...admin, body: {} })).status,
    409,
  );
  await t.request("POST", "/api/apps/shop/envs/dev", { ...admin, body: {} });
  const list = await t.request("GET", "/api/apps/shop/envs", admin);
  assert.deepEqual(list.body.items.map((e: { env: string }) => e.env), ["dev", "prod"]);
  const stale = await t.request("PUT", "/api/apps/shop/envs/prod", {
    ...admin,
    body: { requireApproval: false },
    headers: { "If-Match": '"r1"' },
  });
  assert.equal(stale.status, 412);
  const upd = await t.request("PUT", "/api/apps/shop/envs/prod", {
    ...admin,
    body: { requireApproval: false },
    headers: { "If-Match": c.body.etag },
  });
  assert.deepEqual([upd.status, upd.body.requireApproval], [200, false]);
  assert.equal((await t.request("DELETE", "/api/apps/shop/envs/prod", admin)).status, 200);
  assert.equal(await record(t, ServeEnvRecord, serveEnvKey("shop", "prod")), undefined);
  assert.equal((await t.request("GET", "/api/apps/shop/envs/prod", admin)).status, 404);
  assert.equal((await t.request("GET", "/api/apps/nope/envs", admin)).status, 404);
});

Deno.test("client secrets are shown once, stored as SHA-256 only, rotated and cleared with the served record", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  await t.createTestApp("shop");
  const c = await t.request("POST", "/api/apps/shop/envs/prod", {
    ...admin,
    body: { clientSecret: true },
  });
  const secret: string = c.body.clientSecret;
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  const hash = await hashSecret(secret);
  assert.equal((await record(t, EnvRecord, envKey("shop", "prod")))?.clientSecretHash, hash);
  assert.equal(
    (await record(t, ServeEnvRecord, serveEnvKey("shop", "prod")))?.clientSecretHash,
    hash,
  );
  const got = await t.request("GET", "/api/apps/shop/envs/prod", admin);
  assert.equal(got.body.hasClientSecret, true);
  assert.ok(!JSON.stringify(got.body).includes(secret) && !JSON.stringify(got.body).includes(hash));
  const { entities } = await t.db.list("cassem/");
  for (const e of entities) assert.ok(!new TextDecoder().decode(e.val).includes(secret), e.key);
  t.advance(1_000);
  const rot = await t.request("POST", "/api/apps/shop/envs/prod/client-secret", admin);
  assert.equal(rot.status, 200);
  assert.notEqual(rot.body.clientSecret, secret);
  assert.equal(
    (await record(t, ServeEnvRecord, serveEnvKey("shop", "prod")))?.clientSecretHash,
    await hashSecret(rot.body.clientSecret),
  );
  t.advance(1_000); // the oplog orders by time; entries of one millisecond have no order
  const clr = await t.request("DELETE", "/api/apps/shop/envs/prod/client-secret", admin);
  assert.deepEqual([clr.status, clr.body.hasClientSecret], [200, false]);
  assert.equal(
    (await record(t, ServeEnvRecord, serveEnvKey("shop", "prod")))?.clientSecretHash,
    null,
  );
  const ops = await t.request("GET", "/api/oplog?app=shop&operation=env.secret.*", admin);
  assert.deepEqual(ops.body.items.map((e: { operation: string }) => e.operation), [
    "env.secret.clear",
    "env.secret.rotate",
  ]);
  assert.ok(!JSON.stringify(ops.body).includes(rot.body.clientSecret));
  // Clearing again changes nothing: the env as it is, with its own ETag, and no new entry.
  const again = await t.request("DELETE", "/api/apps/shop/envs/prod/client-secret", admin);
  assert.deepEqual([again.status, again.body.hasClientSecret], [200, false]);
  const env = await t.request("GET", "/api/apps/shop/envs/prod", admin);
  assert.equal(
    again.headers.get("ETag") ?? again.body.etag,
    env.headers.get("ETag") ?? env.body.etag,
  );
  assert.ok(env.headers.get("ETag") ?? env.body.etag, "the env has an ETag");
  const opsAfter = await t.request("GET", "/api/oplog?app=shop&operation=env.secret.*", admin);
  assert.equal(opsAfter.body.items.length, 2);
});

Deno.test("members: roles are data, applied at once; the owner keeps its owner role", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  await t.createTestApp("shop");
  const bob = await t.userWithRoles("bob");
  assert.equal((await t.request("GET", "/api/apps/shop", { token: bob })).status, 403);
  assert.equal(
    (await t.request("PUT", "/api/apps/shop/members/ghost", {
      ...admin,
      body: { roles: ["viewer"] },
    })).status,
    404,
  );
  const set = await t.request("PUT", "/api/apps/shop/members/bob", {
    ...admin,
    body: { roles: ["viewer"] },
  });
  assert.deepEqual([set.status, set.body.roles], [200, ["viewer"]]);
  assert.equal((await t.request("GET", "/api/apps/shop", { token: bob })).status, 200);
  assert.equal(
    (await t.request("PUT", "/api/apps/shop/members/bob", {
      ...admin,
      body: { roles: ["viewer", "viewer"] },
    })).status,
    400,
  );
  assert.equal(
    (await t.request("PUT", "/api/apps/shop/members/bob", { ...admin, body: { roles: ["boss"] } }))
      .status,
    400,
  );
  const list = await t.request("GET", "/api/apps/shop/members", admin);
  assert.deepEqual(
    list.body.items.map((m: { account: string; roles: string[] }) => [m.account, m.roles]),
    [
      ["admin", ["owner"]],
      ["bob", ["viewer"]],
    ],
  );
  assert.equal(
    (await t.request("PUT", "/api/apps/shop/members/admin", {
      ...admin,
      body: { roles: ["viewer"] },
    })).status,
    409,
  );
  assert.equal((await t.request("DELETE", "/api/apps/shop/members/admin", admin)).status, 409);
  assert.equal((await t.request("DELETE", "/api/apps/shop/members/bob", admin)).status, 200);
  assert.equal((await t.request("GET", "/api/apps/shop", { token: bob })).status, 403);
  assert.equal((await t.request("DELETE", "/api/apps/shop/members/bob", admin)).status, 404);
});

Deno.test("API tokens: shown once, scoped to one app and role, listed without secret, revoked at once, expire", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  await t.createTestApp("shop");
  await t.createTestApp("blog");
  const owner = await t.userWithRoles("olga", { shop: ["owner"] });
  const c = await t.request("POST", "/api/apps/shop/tokens", {
    token: owner,
    body: { name: "ci", role: "viewer" },
  });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const tok: string = c.body.token;
  assert.match(tok, /^ct\.[0-9a-f]{32}\.[A-Za-z0-9_-]{43}\.shop$/);
  assert.equal((await t.request("GET", "/api/apps/shop", { token: tok })).status, 200);
  assert.equal((await t.request("PUT", "/api/apps/shop", { token: tok, body: {} })).status, 403);
  assert.equal((await t.request("GET", "/api/apps/blog", { token: tok })).status, 403);
  const list = await t.request("GET", "/api/apps/shop/tokens", { token: owner });
  assert.deepEqual(list.body.items.map((x: { id: string; role: string }) => [x.id, x.role]), [[
    c.body.id,
    "viewer",
  ]]);
  assert.ok(
    !JSON.stringify(list.body).includes(tok.split(".")[2]!) &&
      !JSON.stringify(list.body).includes("secretHash"),
  );
  const dev = await t.userWithRoles("dev", { shop: ["developer"] });
  assert.equal(
    (await t.request("POST", "/api/apps/shop/tokens", {
      token: dev,
      body: { name: "x", role: "owner" },
    })).status,
    403,
  );
  assert.equal(
    (await t.request("DELETE", `/api/apps/shop/tokens/${c.body.id}`, { token: owner })).status,
    200,
  );
  assert.equal((await t.request("GET", "/api/apps/shop", { token: tok })).status, 401);
  assert.equal(
    (await t.request("DELETE", `/api/apps/shop/tokens/${c.body.id}`, admin)).status,
    404,
  );
  const short = await t.request("POST", "/api/apps/shop/tokens", {
    ...admin,
    body: { name: "tmp", role: "viewer", expiresInDays: 1 },
  });
  assert.equal(short.body.expiresAt, new Date(t.now() + 86_400_000).toISOString());
  assert.equal((await t.request("GET", "/api/apps/shop", { token: short.body.token })).status, 200);
  t.advance(86_400_000 + 1_000);
  assert.equal((await t.request("GET", "/api/apps/shop", { token: short.body.token })).status, 401);
});
