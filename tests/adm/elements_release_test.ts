/**
 * Publishing rules, gray releases and publish approval (four-eyes), on the
 * in-memory cassemdb:
 *
 * - publish moves forward, rollback back; both wait while a gray runs;
 * - a gray release by client ids, labels or percentage is written as the
 *   served gray record with its rule, which `grayApplies` evaluates as an
 *   agent would; at most one per element; widen, promote, abort;
 * - in an env that requires approval, publish/rollback/gray become
 *   requests: listed, approved only by a releaser other than the author
 *   (applied in the approving Txn), or rejected; one pending per element;
 * - `publish: true` needs element.publish too, and is refused where
 *   approval is required.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  encodeRecord,
  grayApplies,
  instanceKey,
  InstanceRecord,
  oplogPrefix,
  OplogRecord,
  serveGrayKey,
  ServeGrayRecord,
} from "../../shared/config/mod.ts";
import { createTestAdm, type TestAdm } from "../../adm/testing.ts";
import { appWithEnv, checkElement, elementsPath, record } from "./_elements.ts";

const BASE = `${elementsPath()}/k`;

/** An element k with versions 1 (live) and 2 (unpublished). */
async function twoVersions(t: TestAdm): Promise<void> {
  const admin = { token: t.adminToken };
  assert.equal(
    (await t.request("POST", BASE, {
      ...admin,
      body: { raw: '{"v":1}', contentType: "json", publish: true },
    })).status,
    201,
  );
  assert.equal((await t.request("PUT", BASE, { ...admin, body: { raw: '{"v":2}' } })).status, 200);
}

async function oplog(t: TestAdm): Promise<OplogRecord[]> {
  return (await t.db.list(oplogPrefix())).entities.map((e) =>
    OplogRecord.parse(JSON.parse(new TextDecoder().decode(e.val)))
  );
}

Deno.test("publish moves forward and rollback back; both wait while a gray release runs", async () => {
  const t = await createTestAdm();
  await appWithEnv(t);
  const admin = { token: t.adminToken };
  await twoVersions(t);
  const post = (path: string, body: unknown) =>
    t.request("POST", `${BASE}${path}`, { ...admin, body });
  assert.equal((await post("/rollback", { version: 1 })).status, 409, "1 is live: nothing earlier");
  assert.equal((await post("/publish", { version: 1 })).status, 409, "already live");
  assert.equal((await post("/publish", { version: 3 })).status, 404);
  const gray = await post("/gray", { version: 2, rule: { kind: "percentage", percent: 5 } });
  assert.equal(gray.status, 200, JSON.stringify(gray.body));
  const again = await post("/gray", { version: 2, rule: { kind: "percentage", percent: 5 } });
  assert.equal(again.status, 409);
  assert.match(again.body.error.message, /at most one gray release/);
  const blocked = await post("/publish", { version: 2 });
  assert.equal(blocked.status, 409);
  assert.match(blocked.body.error.message, /gray release runs/);
  assert.equal((await t.request("DELETE", `${BASE}/gray`, admin)).status, 200);
  assert.equal((await t.request("DELETE", `${BASE}/gray`, admin)).status, 409, "none runs");
  assert.equal((await post("/publish", { version: 2 })).status, 200);
  assert.equal((await post("/publish", { version: 1 })).status, 409, "use rollback");
  assert.equal((await post("/rollback", { version: 1 })).status, 200);
  assert.equal((await post("/rollback", { version: 2 })).status, 409, "2 is newer than live 1");
  assert.equal((await post("/publish", { version: 2 })).status, 200);
  await checkElement(t.db, "shop", "prod", "k");
});

Deno.test("gray releases by ids, labels and percentage reach exactly the clients the rule picks; widen, promote", async () => {
  const t = await createTestAdm();
  await appWithEnv(t);
  const admin = { token: t.adminToken };
  await twoVersions(t);
  const clients = Array.from({ length: 2_000 }, (_, i) => `pod-${i}`);
  const target = (clientId: string, labels: Record<string, string> = {}) => ({
    app: "shop",
    env: "prod",
    key: "k",
    clientId,
    labels,
  });
  const served = async () => {
    const g = await record(t.db, ServeGrayRecord, serveGrayKey("shop", "prod", "k"));
    assert.ok(g, "a gray record is served");
    assert.equal(g.version, 2);
    assert.equal(g.raw, '{"v":2}');
    return g;
  };

  // Client ids.
  let r = await t.request("POST", `${BASE}/gray`, {
    ...admin,
    body: { version: 2, rule: { kind: "clients", clientIds: ["pod-3", "pod-7"] } },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  let g = await served();
  assert.deepEqual(clients.filter((c) => grayApplies(g.rule, target(c))), ["pod-3", "pod-7"]);

  // Labels: the rule is replaced by a selector.
  r = await t.request("PUT", `${BASE}/gray`, {
    ...admin,
    body: { rule: { kind: "labels", selector: { region: "eu", tier: "canary" } } },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  g = await served();
  assert.deepEqual(g.rule, { kind: "labels", selector: { region: "eu", tier: "canary" } });
  // The same selector as text.
  r = await t.request("PUT", `${BASE}/gray`, {
    ...admin,
    body: { rule: { kind: "labels", selector: "region=eu, tier=canary" } },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual((await served()).rule, g.rule);
  assert.equal(grayApplies(g.rule, target("x", { region: "eu", tier: "canary", az: "1" })), true);
  assert.equal(grayApplies(g.rule, target("x", { region: "eu" })), false);

  // Percentage, widened from 10 to 30: the 10% are among the 30%.
  r = await t.request("PUT", `${BASE}/gray`, {
    ...admin,
    body: { rule: { kind: "percentage", percent: 10 } },
  });
  assert.equal(r.status, 200);
  g = await served();
  assert.deepEqual(g.rule, { kind: "percentage", percent: 10 });
  const tenth = clients.filter((c) => grayApplies(g.rule, target(c)));
  assert.ok(tenth.length > 120 && tenth.length < 280, `10% of 2,000: ${tenth.length}`);
  r = await t.request("PUT", `${BASE}/gray`, {
    ...admin,
    body: { rule: { kind: "percentage", percent: 30 } },
  });
  g = await served();
  const third = clients.filter((c) => grayApplies(g.rule, target(c)));
  assert.ok(tenth.every((c) => third.includes(c)), "widening only adds clients");
  assert.ok(third.length > tenth.length * 2);
  const startedAt = g.startedAt;
  t.advance(60_000);
  await t.request("PUT", `${BASE}/gray`, {
    ...admin,
    body: { rule: { kind: "percentage", percent: 50 } },
  });
  assert.equal((await served()).startedAt, startedAt, "a rule change keeps the start time");

  // Promote: version 2 live for everyone, no gray record left.
  r = await t.request("POST", `${BASE}/gray/promote`, { ...admin, body: {} });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const meta = await checkElement(t.db, "shop", "prod", "k");
  assert.deepEqual([meta.publishedVersion, meta.grayVersion, meta.unpublishedVersion], [
    2,
    null,
    null,
  ]);
  assert.equal((await t.request("GET", `${BASE}/gray`, admin)).status, 404);
  const ops = (await oplog(t)).map((e) => e.operation).filter((o) => o.startsWith("element.gray"));
  assert.deepEqual(ops.sort(), [
    "element.gray.promote",
    "element.gray.start",
    "element.gray.update",
    "element.gray.update",
    "element.gray.update",
    "element.gray.update",
    "element.gray.update",
  ]);
  // No client id reaches the oplog: a gray rule is described by its size.
  assert.ok(!JSON.stringify(await oplog(t)).includes("pod-3"));
});

Deno.test("four-eyes: in an env that requires approval a publish is a request another releaser approves", async () => {
  const t = await createTestAdm();
  await appWithEnv(t, "shop", "prod", { requireApproval: true });
  const admin = { token: t.adminToken };
  const ann = await t.userWithRoles("ann", { shop: ["releaser"] });
  const bob = await t.userWithRoles("bob", { shop: ["releaser"] });
  const dev = await t.userWithRoles("dev", { shop: ["developer"] });
  const viewer = await t.userWithRoles("vic", { shop: ["viewer"] });
  let r = await t.request("POST", BASE, {
    token: dev,
    body: { raw: "a=1", contentType: "properties" },
  });
  assert.equal(r.status, 201);
  // publish: true is refused here: it would skip the second pair of eyes.
  r = await t.request("POST", `${elementsPath()}/other`, {
    ...admin,
    body: { raw: "x", contentType: "plaintext", publish: true },
  });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.field, "body.publish");

  // Ann asks to publish version 1: a request, nothing live.
  r = await t.request("POST", `${BASE}/publish`, {
    token: ann,
    body: { version: 1, remark: "go" },
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.applied, false);
  const id = r.body.request.id as string;
  assert.equal((await checkElement(t.db, "shop", "prod", "k")).publishedVersion, null);
  // One pending request per element.
  r = await t.request("POST", `${BASE}/gray`, {
    token: bob,
    body: { version: 1, rule: { kind: "percentage", percent: 1 } },
  });
  assert.equal(r.status, 409);
  // Listed for everyone who reads the app.
  r = await t.request("GET", "/api/apps/shop/envs/prod/approvals", { token: viewer });
  assert.deepEqual(
    r.body.items.map((
      a: { id: string; action: string; requestedBy: string },
    ) => [a.id, a.action, a.requestedBy]),
    [[id, "publish", "ann"]],
  );
  // Not by its author, nor by a developer or viewer; not with another id.
  const approve = (token: string, body: unknown) =>
    t.request("POST", "/api/apps/shop/envs/prod/approvals/k/approve", { token, body });
  r = await approve(ann, { id });
  assert.equal(r.status, 403);
  assert.match(r.body.error.message, /must not be its author/);
  assert.equal((await approve(dev, { id })).status, 403);
  assert.equal((await approve(viewer, { id })).status, 403);
  assert.equal((await approve(bob, { id: "0".repeat(32) })).status, 409);
  assert.equal((await checkElement(t.db, "shop", "prod", "k")).publishedVersion, null);
  // Bob approves: version 1 goes live in the same Txn that removes the request.
  t.advance(1_000);
  r = await approve(bob, { id, remark: "lgtm" });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.element.publishedVersion, 1);
  assert.equal((await checkElement(t.db, "shop", "prod", "k")).publishedVersion, 1);
  r = await t.request("GET", "/api/apps/shop/envs/prod/approvals", admin);
  assert.deepEqual(r.body.items, []);
  const entry = (await oplog(t)).find((e) => e.operation === "element.approval.approve");
  assert.deepEqual(
    [entry?.operator, entry?.detail.requestedBy, entry?.detail.action, entry?.newVersion],
    ["bob", "ann", "publish", 1],
  );

  // A rejected request changes nothing; the author may withdraw their own.
  await t.request("PUT", BASE, { token: dev, body: { raw: "a=2" } });
  r = await t.request("POST", `${BASE}/publish`, { token: bob, body: { version: 2 } });
  assert.equal(r.status, 202);
  r = await t.request("POST", "/api/apps/shop/envs/prod/approvals/k/reject", {
    token: ann,
    body: { id: r.body.request.id, remark: "not now" },
  });
  assert.equal(r.status, 200);
  r = await t.request("POST", `${BASE}/gray`, {
    token: bob,
    body: { version: 2, rule: { kind: "labels", selector: { tier: "canary" } } },
  });
  assert.equal(r.status, 202);
  r = await t.request("POST", "/api/apps/shop/envs/prod/approvals/k/reject", {
    token: bob,
    body: { id: r.body.request.id },
  });
  assert.equal(r.status, 200, "withdrawn by its author");
  const meta = await checkElement(t.db, "shop", "prod", "k");
  assert.deepEqual([meta.publishedVersion, meta.grayVersion], [1, null]);
  // An approved gray request starts the gray release.
  r = await t.request("POST", `${BASE}/gray`, {
    token: ann,
    body: { version: 2, rule: { kind: "labels", selector: { tier: "canary" } } },
  });
  r = await approve(bob, { id: r.body.request.id });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await checkElement(t.db, "shop", "prod", "k")).grayVersion, 2);
});

Deno.test("publish: true needs element.publish besides element.write", async () => {
  const t = await createTestAdm();
  await appWithEnv(t);
  const dev = await t.userWithRoles("dev", { shop: ["developer"] });
  const both = await t.userWithRoles("both", { shop: ["developer", "releaser"] });
  let r = await t.request("POST", BASE, {
    token: dev,
    body: { raw: "1", contentType: "json", publish: true },
  });
  assert.equal(r.status, 403);
  assert.match(r.body.error.message, /lacks element\.publish/);
  r = await t.request("POST", BASE, {
    token: both,
    body: { raw: "1", contentType: "json", publish: true },
  });
  assert.equal(r.status, 201);
  r = await t.request("PUT", BASE, { token: dev, body: { raw: "2", publish: true } });
  assert.equal(r.status, 403);
  r = await t.request("PUT", BASE, { token: dev, body: { raw: "2" } });
  assert.equal(r.status, 200);
});

Deno.test("which instances run which version: read from the instance records agents write", async () => {
  const t = await createTestAdm();
  await appWithEnv(t);
  const admin = { token: t.adminToken };
  await twoVersions(t);
  await t.request("POST", `${BASE}/gray`, {
    ...admin,
    body: { version: 2, rule: { kind: "clients", clientIds: ["pod-2"] } },
  });
  const time = new Date(t.now()).toISOString();
  const running = (version: number, gray: boolean, key = "k") => ({
    app: "shop",
    env: "prod",
    key,
    version,
    fingerprint: "0".repeat(64),
    gray,
  });
  const instances: [string, ReturnType<typeof running>[]][] = [
    ["pod-1", [running(1, false)]],
    ["pod-2", [running(2, true), running(1, false, "other")]],
    ["pod-3", [running(1, false)]],
    ["pod-4", [running(1, false, "other")]],
  ];
  for (const [clientId, run] of instances) {
    await t.db.set(
      instanceKey(clientId),
      encodeRecord(InstanceRecord, {
        clientId,
        agentId: "agent-1",
        clientIp: "127.0.0.1",
        labels: {},
        watching: [{ app: "shop", env: "prod", keys: ["k", "other"] }],
        running: run,
        registeredAt: time,
        renewedAt: time,
      }),
      { ttl: 60 },
    );
  }
  const r = await t.request("GET", `${BASE}/instances`, admin);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(
    r.body.items.map((i: { clientId: string; version: number; gray: boolean }) => [
      i.clientId,
      i.version,
      i.gray,
    ]),
    [["pod-1", 1, false], ["pod-2", 2, true], ["pod-3", 1, false]],
  );
  assert.deepEqual(r.body.versions, [
    { version: 2, gray: true, instances: 1 },
    { version: 1, gray: false, instances: 2 },
  ]);
  assert.deepEqual([r.body.liveVersion, r.body.grayVersion, r.body.truncated], [1, 2, false]);
  assert.equal((await t.request("GET", `${elementsPath()}/nope/instances`, admin)).status, 404);
});

Deno.test("a deprecated app's elements are read-only; a missing env or element is 404", async () => {
  const t = await createTestAdm();
  await appWithEnv(t);
  const admin = { token: t.adminToken };
  await twoVersions(t);
  const r = await t.request("PUT", "/api/apps/shop", { ...admin, body: { status: "deprecated" } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const before = t.db.revision;
  for (
    const [method, path, body] of [
      ["POST", `${elementsPath()}/new`, { raw: "x", contentType: "plaintext" }],
      ["PUT", BASE, { raw: "{}" }],
      ["POST", `${BASE}/publish`, { version: 2 }],
      ["POST", `${BASE}/gray`, { version: 2, rule: { kind: "percentage", percent: 1 } }],
      ["DELETE", BASE, undefined],
    ] as const
  ) {
    const x = await t.request(method, path, { ...admin, body });
    assert.equal(x.status, 409, `${method} ${path}: ${JSON.stringify(x.body)}`);
    assert.match(x.body.error.message, /read-only: current status is deprecated/);
  }
  assert.equal(t.db.revision, before);
  assert.equal((await t.request("GET", BASE, admin)).status, 200, "reads still work");
  assert.equal((await t.request("GET", `${elementsPath("shop", "qa")}/k`, admin)).status, 404);
  assert.equal(
    (await t.request("POST", `${elementsPath("shop", "qa")}/k`, {
      ...admin,
      body: { raw: "x", contentType: "plaintext" },
    })).status,
    409,
    "deprecated first",
  );
});
