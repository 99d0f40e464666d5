/**
 * Accounts: login, logout, sessions, the login rate limit, own password,
 * user administration and the first-start bootstrap, on the in-memory db.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  decodeRecord,
  hashSecret,
  SessionRecord,
  sessionsPrefix,
  userKey,
  UserRecord,
} from "../../shared/config/mod.ts";
import { MemoryDb } from "../../shared/db/mod.ts";
import { createLogger } from "../../shared/log.ts";
import { bootstrapAdmin } from "../../adm/mod.ts";
import { DEFAULT_CONFIG } from "../../adm/deps.ts";
import { verifyPassword } from "../../adm/auth/passwords.ts";
import { createTestAdm, TEST_PASSWORD, type TestAdm } from "../../adm/testing.ts";

function login(t: TestAdm, account: string, password: string) {
  return t.request("POST", "/api/account/login", { body: { account, password } });
}

Deno.test("login answers a token that works until logout, on this and every other session", async () => {
  const t = await createTestAdm();
  await t.userWithRoles("bob");
  const r = await login(t, "bob", TEST_PASSWORD);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(r.body.token, /^cs\.[0-9a-f]{32}\.[A-Za-z0-9_-]{43}\.bob$/);
  assert.equal(r.body.expiresAt, new Date(t.now() + 12 * 3600_000).toISOString());
  const second = (await login(t, "bob", TEST_PASSWORD)).body.token;
  const me = await t.request("GET", "/api/account/me", { token: r.body.token });
  assert.deepEqual([me.status, me.body.kind, me.body.account, me.body.admin], [
    200,
    "user",
    "bob",
    false,
  ]);
  assert.equal(me.body.lastLoginAt, new Date(t.now()).toISOString());
  // Only the hash of the token's secret is stored (the harness made a third session).
  const { entities } = await t.db.list(sessionsPrefix("bob"));
  assert.equal(entities.length, 3);
  const secret = r.body.token.split(".")[2];
  const hashes = entities.map((e) => decodeRecord(SessionRecord, e.key, e.val).secretHash);
  assert.equal(hashes.filter((h) => h === "").length, 0);
  assert.ok(hashes.includes(await hashSecret(secret)));
  for (const e of entities) assert.ok(!new TextDecoder().decode(e.val).includes(secret));
  assert.equal(
    (await t.request("POST", "/api/account/logout", { token: r.body.token })).status,
    200,
  );
  assert.equal((await t.request("GET", "/api/account/me", { token: r.body.token })).status, 401);
  assert.equal((await t.request("GET", "/api/account/me", { token: second })).status, 200);
});

Deno.test("a wrong password and an unknown account get the same 401; a tampered token is refused", async () => {
  const t = await createTestAdm();
  await t.userWithRoles("bob");
  const wrong = await login(t, "bob", "not-the-password");
  const unknown = await login(t, "nobody", TEST_PASSWORD);
  assert.deepEqual([wrong.status, unknown.status], [401, 401]);
  assert.equal(wrong.body.error.message, unknown.body.error.message);
  const tok: string = (await login(t, "bob", TEST_PASSWORD)).body.token;
  const parts = tok.split(".");
  const flipped = parts[2]!.startsWith("A") ? "B" + parts[2]!.slice(1) : "A" + parts[2]!.slice(1);
  const forged = [parts[0], parts[1], flipped, parts[3]].join(".");
  assert.equal((await t.request("GET", "/api/account/me", { token: forged })).status, 401);
  // Someone else's session id under my account name is unknown.
  const alice = await t.userWithRoles("alice");
  const a = alice.split(".");
  assert.equal(
    (await t.request("GET", "/api/account/me", { token: [a[0], a[1], a[2], "bob"].join(".") }))
      .status,
    401,
  );
});

Deno.test("a session ends at its expiry", async () => {
  const t = await createTestAdm({ config: { sessionTtlSeconds: 60 } });
  await t.userWithRoles("bob");
  const tok = (await login(t, "bob", TEST_PASSWORD)).body.token;
  t.advance(59_000);
  assert.equal((await t.request("GET", "/api/account/me", { token: tok })).status, 200);
  t.advance(2_000);
  assert.equal((await t.request("GET", "/api/account/me", { token: tok })).status, 401);
});

Deno.test("login is rate limited per account: 5 attempts a minute, then 429 with Retry-After", async () => {
  const t = await createTestAdm();
  await t.userWithRoles("bob");
  await t.userWithRoles("carol");
  for (let i = 0; i < 5; i++) assert.equal((await login(t, "bob", "wrong-password")).status, 401);
  const limited = await login(t, "bob", TEST_PASSWORD); // even the right password
  assert.equal(limited.status, 429);
  assert.equal(limited.body.error.code, "rate_limited");
  assert.equal(limited.headers.get("Retry-After"), "60");
  // Another account is not affected.
  assert.equal((await login(t, "carol", TEST_PASSWORD)).status, 200);
  t.advance(30_000);
  assert.equal((await login(t, "bob", TEST_PASSWORD)).headers.get("Retry-After"), "30");
  t.advance(31_000);
  assert.equal((await login(t, "bob", TEST_PASSWORD)).status, 200);
  // A success clears the count: five more tries are allowed.
  for (let i = 0; i < 4; i++) assert.equal((await login(t, "bob", "wrong-password")).status, 401);
  assert.equal((await login(t, "bob", TEST_PASSWORD)).status, 200);
});

Deno.test("concurrent login attempts cannot get past the limit", async () => {
  const t = await createTestAdm();
  await t.userWithRoles("bob");
  const rs = await Promise.all(Array.from({ length: 12 }, () => login(t, "bob", "wrong-password")));
  const statuses = rs.map((r) => r.status).sort();
  assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join(","));
  assert.equal(statuses.filter((s) => s === 429).length, 7, statuses.join(","));
});

Deno.test("changing one's own password ends every session and answers a new one", async () => {
  const t = await createTestAdm();
  await t.userWithRoles("bob");
  const a = (await login(t, "bob", TEST_PASSWORD)).body.token;
  const b = (await login(t, "bob", TEST_PASSWORD)).body.token;
  const wrong = await t.request("PUT", "/api/account/password", {
    token: a,
    body: { currentPassword: "nope-nope", newPassword: "a-new-password" },
  });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error.field, "body.currentPassword");
  const short = await t.request("PUT", "/api/account/password", {
    token: a,
    body: { currentPassword: TEST_PASSWORD, newPassword: "short" },
  });
  assert.deepEqual([short.status, short.body.error.field], [400, "body.newPassword"]);
  const ok = await t.request("PUT", "/api/account/password", {
    token: a,
    body: { currentPassword: TEST_PASSWORD, newPassword: "a-new-password" },
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal((await t.request("GET", "/api/account/me", { token: a })).status, 401);
  assert.equal((await t.request("GET", "/api/account/me", { token: b })).status, 401);
  assert.equal((await t.request("GET", "/api/account/me", { token: ok.body.token })).status, 200);
  assert.equal((await login(t, "bob", TEST_PASSWORD)).status, 401);
  assert.equal((await login(t, "bob", "a-new-password")).status, 200);
  const { entity } = await t.db.get(userKey("bob"));
  const rec = decodeRecord(UserRecord, userKey("bob"), entity!.val);
  assert.equal(rec.password.iterations, 600_000);
  assert.ok(await verifyPassword("a-new-password", rec.password));
});

Deno.test("an API token cannot log out or change a password", async () => {
  const t = await createTestAdm();
  await t.createTestApp("shop");
  const tok = await t.apiToken("shop", "owner");
  assert.equal((await t.request("POST", "/api/account/logout", { token: tok })).status, 403);
  const me = await t.request("GET", "/api/account/me", { token: tok });
  assert.deepEqual([me.body.kind, me.body.app, me.body.role], ["token", "shop", "owner"]);
});

Deno.test("users: add, list, disable (sessions refused at once), enable, reset password", async () => {
  const t = await createTestAdm();
  const admin = { token: t.adminToken };
  const add = await t.request("POST", "/api/users/bob@example.com", {
    ...admin,
    body: { password: "bobs-password", nickname: "Bob" },
  });
  assert.equal(add.status, 201, JSON.stringify(add.body));
  assert.equal(add.body.password, undefined);
  assert.equal(
    (await t.request("POST", "/api/users/bob@example.com", {
      ...admin,
      body: { password: "xxxxxxxxxx" },
    })).status,
    409,
  );
  const weak = await t.request("POST", "/api/users/weak", { ...admin, body: { password: "1234" } });
  assert.deepEqual([weak.status, weak.body.error.field], [400, "body.password"]);
  const bob = (await login(t, "bob@example.com", "bobs-password")).body.token;
  assert.ok(bob);
  const list = await t.request("GET", "/api/users?limit=1", admin);
  assert.deepEqual([list.body.items.length, list.body.next], [1, "admin"]);
  const rest = await t.request("GET", `/api/users?limit=1&seek=${list.body.next}`, admin);
  assert.deepEqual(rest.body.items.map((u: { account: string }) => u.account), ["bob@example.com"]);
  assert.equal(JSON.stringify(rest.body).includes("hash"), false);

  const disable = await t.request("PUT", "/api/users/bob@example.com", {
    ...admin,
    body: { status: "disabled" },
  });
  assert.equal(disable.status, 200);
  assert.equal((await t.request("GET", "/api/account/me", { token: bob })).status, 401);
  const again = await login(t, "bob@example.com", "bobs-password");
  assert.equal(again.status, 401);
  assert.match(again.body.error.message, /disabled/);
  assert.equal((await t.db.list(sessionsPrefix("bob@example.com"))).entities.length, 0);
  await t.request("PUT", "/api/users/bob@example.com", { ...admin, body: { status: "normal" } });
  const bob2 = (await login(t, "bob@example.com", "bobs-password")).body.token;
  assert.equal(
    (await t.request("POST", "/api/users/bob@example.com/password", {
      ...admin,
      body: { password: "reset-password" },
    })).status,
    200,
  );
  assert.equal((await t.request("GET", "/api/account/me", { token: bob2 })).status, 401);
  assert.equal((await login(t, "bob@example.com", "reset-password")).status, 200);

  // If-Match on the user's ETag.
  const cur = await t.request("GET", "/api/users/bob@example.com", admin);
  const stale = await t.request("PUT", "/api/users/bob@example.com", {
    ...admin,
    body: { nickname: "B" },
    headers: { "If-Match": '"r1"' },
  });
  assert.equal(stale.status, 412);
  const fresh = await t.request("PUT", "/api/users/bob@example.com", {
    ...admin,
    body: { nickname: "B" },
    headers: { "If-Match": cur.headers.get("ETag")! },
  });
  assert.equal(fresh.status, 200);
  // An admin cannot lock themselves out.
  const self = await t.request("PUT", "/api/users/admin", {
    ...admin,
    body: { status: "disabled" },
  });
  assert.equal(self.status, 409);
});

Deno.test("bootstrap creates admin once: a generated password, or CASSEM_ADMIN_PASSWORD; concurrent starts create one", async () => {
  const deps = () => ({
    db,
    clock: Date.now,
    logger: createLogger("t", "error"),
    keyring: undefined,
    config: { ...DEFAULT_CONFIG },
  });
  const db = new MemoryDb();
  const results = await Promise.all([
    bootstrapAdmin(deps(), undefined),
    bootstrapAdmin(deps(), undefined),
  ]);
  const created = results.filter((r) => r.created);
  assert.equal(created.length, 1, JSON.stringify(results));
  const pw = (created[0] as { generatedPassword: string }).generatedPassword;
  assert.match(pw, /^[A-Za-z0-9_-]{43}$/);
  const rec = decodeRecord(
    UserRecord,
    userKey("admin"),
    (await db.get(userKey("admin"))).entity!.val,
  );
  assert.ok(rec.admin && await verifyPassword(pw, rec.password));
  assert.deepEqual(await bootstrapAdmin(deps(), undefined), { created: false });

  const db2 = new MemoryDb();
  const withEnv = await bootstrapAdmin({ ...deps(), db: db2 }, "from-the-environment");
  assert.deepEqual(withEnv, { created: true, generatedPassword: undefined });
  const rec2 = decodeRecord(
    UserRecord,
    userKey("admin"),
    (await db2.get(userKey("admin"))).entity!.val,
  );
  assert.ok(await verifyPassword("from-the-environment", rec2.password));
  await assert.rejects(
    () => bootstrapAdmin({ ...deps(), db: new MemoryDb() }, "short"),
    /at least|8 to 256/,
  );
});
