/**
 * Secret elements: versions sealed with AES-256-GCM (key id beside each
 * ciphertext) and opened only for callers with `secret.read`. The
 * plaintext must never be in cassemdb (every value read back through the
 * db client is searched), in the logs or in the oplog; viewers get it
 * masked in reads, diffs and exports; keys rotate.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  newSecretKey,
  parseKeyring,
  secretAad,
  serveLiveKey,
  ServeLiveRecord,
  toBase64,
} from "../../shared/config/mod.ts";
import type { KvClient } from "../../shared/db/mod.ts";
import { createTestAdm } from "../../adm/testing.ts";
import { appWithEnv, checkElement, elementsPath, record } from "./_elements.ts";

const MARK1 = "hunter2-first-plaintext-marker";
const MARK2 = "correct-horse-second-plaintext-marker";
const V1 = JSON.stringify({ db: { password: MARK1 } }, null, 2);
const V2 = JSON.stringify({ db: { password: MARK2 }, extra: true });
const BASE = `${elementsPath()}/creds`;

/** Every value stored under cassem/ as text (directories included). */
export async function everyValue(db: KvClient): Promise<string[]> {
  const { entities } = await db.list("cassem/");
  return entities.map((e) => `${e.key} ${new TextDecoder().decode(e.val)}`);
}

function assertAbsent(texts: string[], where: string): void {
  for (const mark of [MARK1, MARK2]) {
    for (const form of [mark, toBase64(new TextEncoder().encode(mark))]) {
      const hit = texts.find((t) => t.includes(form));
      assert.equal(hit, undefined, `${where} holds a secret: ${hit?.slice(0, 200)}`);
    }
  }
}

Deno.test("secret versions are sealed in cassemdb, the logs and the oplog, and shown only to secret.read", async () => {
  const lines: string[] = [];
  const sink = (msg: string, f?: Record<string, unknown>) =>
    lines.push(`${msg} ${JSON.stringify(f ?? {})}`);
  const keyring = await parseKeyring(newSecretKey(), "test");
  const t = await createTestAdm({
    keyring,
    logger: { debug: sink, info: sink, warn: sink, error: sink },
  });
  await appWithEnv(t);
  const admin = { token: t.adminToken };
  const viewer = { token: await t.userWithRoles("vic", { shop: ["viewer"] }) };
  const dev = { token: await t.userWithRoles("dev", { shop: ["developer"] }) };
  const viewerToken = { token: await t.apiToken("shop", "viewer") };

  let r = await t.request("POST", BASE, {
    ...dev,
    body: { raw: V1, contentType: "json", secret: true, remark: "creds" },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.raw, V1, "the author reads it back");
  assert.equal(
    (await t.request("POST", `${BASE}/publish`, { ...admin, body: { version: 1 } })).status,
    200,
  );
  r = await t.request("PUT", BASE, { ...dev, body: { raw: V2 } });
  assert.equal(r.status, 200);
  r = await t.request("POST", `${BASE}/gray`, {
    ...admin,
    body: { version: 2, rule: { kind: "percentage", percent: 50 } },
  });
  assert.equal(r.status, 200);
  await checkElement(t.db, "shop", "prod", "creds"); // sealed iff secret, served bodies match

  // What an agent gets: a sealed body that the keyring opens for this exact place only.
  const live = await record(t.db, ServeLiveRecord, serveLiveKey("shop", "prod", "creds"));
  assert.ok(live?.sealed && live.raw === undefined);
  assert.equal(live.sealed.keyId, keyring.activeId);
  assert.equal(await keyring.open(live.sealed, secretAad("shop", "prod", "creds", 1)), V1);
  await assert.rejects(() => keyring.open(live.sealed!, secretAad("shop", "prod", "creds", 2)));

  // Callers with secret.read see it; viewers (users and tokens) get it masked everywhere.
  r = await t.request("GET", BASE, dev);
  assert.deepEqual([r.body.raw, r.body.masked], [V1, false]);
  r = await t.request("GET", `${BASE}/raw?version=2`, dev);
  assert.deepEqual(r.body, JSON.parse(V2), "the raw route answers the plaintext (parsed here)");
  r = await t.request("GET", `${BASE}/diff?base=1&compare=2`, dev);
  assert.ok(r.body.unified.includes(MARK2));
  assert.deepEqual(r.body.structural.changed.map((c: { path: string }) => c.path), [
    "/db/password",
  ]);
  const shownToViewers: string[] = [];
  for (const who of [viewer, viewerToken]) {
    r = await t.request("GET", BASE, who);
    assert.deepEqual([r.status, r.body.raw, r.body.masked, r.body.secret], [200, null, true, true]);
    shownToViewers.push(JSON.stringify(r.body));
    r = await t.request("GET", `${BASE}?version=2`, who);
    assert.equal(r.body.raw, null);
    shownToViewers.push(JSON.stringify(r.body));
    r = await t.request("GET", `${BASE}/diff?base=1&compare=2`, who);
    assert.deepEqual([r.body.masked, r.body.unified, r.body.structural], [true, null, null]);
    shownToViewers.push(JSON.stringify(r.body));
    r = await t.request("GET", elementsPath(), who);
    assert.equal(r.body.items[0].secret, true);
    shownToViewers.push(JSON.stringify(r.body));
    r = await t.request("GET", "/api/apps/shop/envs/prod/export", who);
    assert.equal(r.status, 200);
    assert.deepEqual([r.body.elements[0].latest.raw, r.body.elements[0].latest.masked], [
      null,
      true,
    ]);
    shownToViewers.push(JSON.stringify(r.body));
    r = await t.request("GET", "/api/apps/shop/envs/prod/export?secrets=true", who);
    assert.equal(r.status, 403, "secrets=true needs secret.read");
    r = await t.request("GET", `${BASE}/gray`, who);
    shownToViewers.push(JSON.stringify(r.body));
    r = await t.request("GET", `${BASE}/raw`, who);
    assert.equal(r.status, 403);
    shownToViewers.push(JSON.stringify(r.body));
  }
  assertAbsent(shownToViewers, "an answer to a viewer");
  // Without ?secrets=true even an admin's export is masked; with it, the plaintext is there.
  r = await t.request("GET", "/api/apps/shop/envs/prod/export", admin);
  assertAbsent([JSON.stringify(r.body)], "an export without secrets=true");
  r = await t.request("GET", "/api/apps/shop/envs/prod/export?secrets=true", dev);
  assert.deepEqual(
    [r.body.elements[0].published.raw, r.body.elements[0].latest.raw, r.body.secrets],
    [V1, V2, true],
  );

  // Never in cassemdb, the logs or the oplog.
  assertAbsent(await everyValue(t.db), "cassemdb");
  assert.ok(lines.length >= 10, `only ${lines.length} log lines: the check would prove nothing`);
  assertAbsent(lines, "the log");
  r = await t.request("GET", "/api/oplog?app=shop", admin);
  assert.ok(r.body.items.length >= 4);
  assertAbsent([JSON.stringify(r.body)], "the oplog");
});

Deno.test("secret keys rotate: old versions open with the old key, new ones are sealed with the new", async () => {
  const oldKey = newSecretKey();
  const t1 = await createTestAdm({ keyring: await parseKeyring(`old:${oldKey}`, "test") });
  await appWithEnv(t1);
  const admin = { token: t1.adminToken };
  await t1.request("POST", BASE, {
    ...admin,
    body: { raw: V1, contentType: "json", secret: true, publish: true },
  });
  // The same cassemdb, read by an adm whose keyring has a new active key and the old one.
  const rotated = await parseKeyring(`new:${newSecretKey()},old:${oldKey}`, "test");
  t1.deps.keyring = rotated;
  let r = await t1.request("GET", BASE, admin);
  assert.equal(r.body.raw, V1);
  r = await t1.request("PUT", BASE, { ...admin, body: { raw: V2, publish: true } });
  assert.equal(r.status, 200);
  const live = await record(t1.db, ServeLiveRecord, serveLiveKey("shop", "prod", "creds"));
  assert.equal(live?.sealed?.keyId, "new");
  // An adm without the old key cannot open version 1 and says which key it lacks.
  t1.deps.keyring = await parseKeyring(`new2:${newSecretKey()}`, "test");
  r = await t1.request("GET", `${BASE}?version=1`, admin);
  assert.equal(r.status, 409);
  assert.match(r.body.error.message, /key "old" is not in the keyring/);
  // And an adm with no keyring refuses secret elements instead of storing them in the clear.
  t1.deps.keyring = undefined;
  r = await t1.request("POST", `${elementsPath()}/other`, {
    ...admin,
    body: { raw: "x", contentType: "plaintext", secret: true },
  });
  assert.equal(r.status, 409);
  assert.match(r.body.error.message, /no secret keyring/);
  r = await t1.request("PUT", BASE, { ...admin, body: { raw: "{}" } });
  assert.equal(r.status, 409);
  // A viewer still gets the masked answer, which needs no key.
  const viewer = await t1.userWithRoles("vic", { shop: ["viewer"] });
  r = await t1.request("GET", BASE, { token: viewer });
  assert.deepEqual([r.status, r.body.masked], [200, true]);
});
