/**
 * Export and import (environment sync) on the in-memory cassemdb: the
 * bundle holds each element's live and latest versions; an import's dry
 * run writes nothing and answers exactly what the import then does; the
 * target ends with the source's live and latest contents (into an env of
 * the same app and into another app); a second import changes nothing;
 * conflicts are reported and skipped; an env that requires approval gets
 * no live change from an import.
 *
 * @module
 */

import assert from "node:assert/strict";
import { newSecretKey, parseKeyring } from "../../shared/config/mod.ts";
import { createTestAdm, type TestAdm } from "../../adm/testing.ts";
import { appWithEnv, checkElement, elementsPath } from "./_elements.ts";

const SCHEMA = { type: "object", required: ["port"] };

/** Source env shop/dev: a (live 1, draft 2), b (yaml with a schema, live), c (never published), s (secret, live). */
async function source(t: TestAdm): Promise<void> {
  const admin = { token: t.adminToken };
  const post = async (key: string, body: unknown) => {
    const r = await t.request("POST", `${elementsPath("shop", "dev")}/${key}`, { ...admin, body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };
  await post("a", { raw: '{"port": 1}', contentType: "json", publish: true });
  const r = await t.request("PUT", `${elementsPath("shop", "dev")}/a`, {
    ...admin,
    body: { raw: '{"port": 2}\n', remark: "draft" },
  });
  assert.equal(r.status, 200);
  await post("b", { raw: "port: 8080\n", contentType: "yaml", schema: SCHEMA, publish: true });
  await post("c", { raw: "hello\r\n", contentType: "plaintext" });
  await post("s", { raw: "pw=s3cr3t\n", contentType: "properties", secret: true, publish: true });
}

async function contents(t: TestAdm, app: string, env: string, key: string) {
  const admin = { token: t.adminToken };
  const meta = await checkElement(t.db, app, env, key);
  const at = async (n: number | null) =>
    n === null
      ? null
      : (await t.request("GET", `${elementsPath(app, env)}/${key}?version=${n}`, admin)).body.raw;
  return {
    live: await at(meta.publishedVersion),
    latest: await at(meta.latestVersion),
    schema: meta.schema,
    secret: meta.secret,
  };
}

Deno.test("import: the dry run equals the applied change, the target ends with the source's contents, a second import changes nothing", async () => {
  const t = await createTestAdm({ keyring: await parseKeyring(newSecretKey(), "test") });
  await appWithEnv(t, "shop", "dev");
  const admin = { token: t.adminToken };
  assert.equal(
    (await t.request("POST", "/api/apps/shop/envs/prod", { ...admin, body: {} })).status,
    201,
  );
  await t.createTestApp("other");
  assert.equal(
    (await t.request("POST", "/api/apps/other/envs/prod", { ...admin, body: {} })).status,
    201,
  );
  await source(t);

  const exported = await t.request("GET", "/api/apps/shop/envs/dev/export?secrets=true", admin);
  assert.equal(exported.status, 200);
  const bundle = exported.body;
  assert.deepEqual(
    bundle.elements.map((
      e: { key: string; published: { version: number } | null; latest: { version: number } },
    ) => [
      e.key,
      e.published?.version ?? null,
      e.latest.version,
    ]),
    [["a", 1, 2], ["b", 1, 1], ["c", null, 1], ["s", 1, 1]],
  );

  // Into the env it came from: nothing to do.
  const same = await t.request("POST", "/api/apps/shop/envs/dev/import", {
    ...admin,
    body: bundle,
  });
  assert.deepEqual(same.body.summary, { create: 0, update: 0, unchanged: 4, conflict: 0 });

  for (const [app, env] of [["shop", "prod"], ["other", "prod"]] as const) {
    const path = `/api/apps/${app}/envs/${env}/import`;
    const before = t.db.revision;
    const dry = await t.request("POST", `${path}?dryRun=true`, { ...admin, body: bundle });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(t.db.revision, before, "a dry run writes nothing");
    assert.deepEqual(
      dry.body.items.map((
        i: { key: string; action: string; addedVersions: number[]; published: number | null },
      ) => [
        i.key,
        i.action,
        i.addedVersions,
        i.published,
      ]),
      [["a", "create", [1, 2], 1], ["b", "create", [1], 1], ["c", "create", [1], null], [
        "s",
        "create",
        [1],
        1,
      ]],
    );
    const applied = await t.request("POST", path, { ...admin, body: bundle });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    assert.deepEqual(applied.body.items, dry.body.items, "the dry run answered exactly the change");
    assert.deepEqual(applied.body.summary, { create: 4, update: 0, unchanged: 0, conflict: 0 });
    assert.deepEqual({ ...applied.body, dryRun: true }, dry.body);
    for (const key of ["a", "b", "c", "s"]) {
      assert.deepEqual(
        await contents(t, app, env, key),
        await contents(t, "shop", "dev", key),
        `${app}/${env}/${key} holds what shop/dev/${key} holds`,
      );
    }
    // Again: nothing to do, nothing written.
    const rev = t.db.revision;
    const again = await t.request("POST", path, { ...admin, body: bundle });
    assert.deepEqual(again.body.summary, { create: 0, update: 0, unchanged: 4, conflict: 0 });
    assert.equal(t.db.revision, rev);
  }

  // The source moves on: a's draft goes live; c goes live with a new draft. prod's pending a
  // and c hold the source's live raws: they are made live, and c's new draft is added.
  assert.equal(
    (await t.request("POST", `${elementsPath("shop", "dev")}/a/publish`, {
      ...admin,
      body: { version: 2 },
    })).status,
    200,
  );
  await t.request("POST", `${elementsPath("shop", "dev")}/c/publish`, {
    ...admin,
    body: { version: 1 },
  });
  await t.request("PUT", `${elementsPath("shop", "dev")}/c`, { ...admin, body: { raw: "bye\n" } });
  const next = (await t.request("GET", "/api/apps/shop/envs/dev/export?secrets=true", admin)).body;
  const dry = await t.request("POST", "/api/apps/shop/envs/prod/import?dryRun=true", {
    ...admin,
    body: next,
  });
  const applied = await t.request("POST", "/api/apps/shop/envs/prod/import", {
    ...admin,
    body: next,
  });
  assert.deepEqual(applied.body.items, dry.body.items);
  assert.deepEqual(
    applied.body.items.map((
      i: { key: string; action: string; addedVersions: number[]; published: number | null },
    ) => [
      i.key,
      i.action,
      i.addedVersions,
      i.published,
    ]),
    [["a", "update", [], 2], ["b", "unchanged", [], null], ["c", "update", [2], 1], [
      "s",
      "unchanged",
      [],
      null,
    ]],
  );
  for (const key of ["a", "c"]) {
    assert.deepEqual(await contents(t, "shop", "prod", key), await contents(t, "shop", "dev", key));
  }
  // Each applied element has its oplog entry.
  const log = await t.request("GET", "/api/oplog?app=shop&env=prod&operation=env.import", admin);
  assert.equal(log.body.items.length, 4 + 2);
});

Deno.test("import conflicts are reported and skipped; approval envs get no live change; publishing needs element.publish", async () => {
  const t = await createTestAdm({ keyring: await parseKeyring(newSecretKey(), "test") });
  await appWithEnv(t, "shop", "dev");
  const admin = { token: t.adminToken };
  await t.request("POST", "/api/apps/shop/envs/prod", {
    ...admin,
    body: { requireApproval: true },
  });
  await t.request("POST", "/api/apps/shop/envs/qa", { ...admin, body: {} });
  await source(t);
  const bundle =
    (await t.request("GET", "/api/apps/shop/envs/dev/export?secrets=true", admin)).body;

  // prod requires approval: only c (never live) can be imported.
  let r = await t.request("POST", "/api/apps/shop/envs/prod/import", { ...admin, body: bundle });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(
    r.body.items.map((i: { key: string; action: string }) => [i.key, i.action]),
    [["a", "conflict"], ["b", "conflict"], ["c", "create"], ["s", "conflict"]],
  );
  assert.match(r.body.items[0].reason, /requires approval/);

  // qa: a has another content type, b an unpublished version in the way.
  await t.request("POST", `${elementsPath("shop", "qa")}/a`, {
    ...admin,
    body: { raw: "x", contentType: "plaintext" },
  });
  await t.request("POST", `${elementsPath("shop", "qa")}/b`, {
    ...admin,
    body: { raw: "port: 1\n", contentType: "yaml" },
  });
  const dev = await t.userWithRoles("dev", { shop: ["developer"] });
  r = await t.request("POST", "/api/apps/shop/envs/qa/import?dryRun=true", {
    token: dev,
    body: bundle,
  });
  assert.equal(r.status, 200, "a developer may see what an import would do");
  const dry = r.body.items;
  r = await t.request("POST", "/api/apps/shop/envs/qa/import", { token: dev, body: bundle });
  assert.equal(r.status, 403, "it would publish: element.publish is needed too");
  r = await t.request("POST", "/api/apps/shop/envs/qa/import", { ...admin, body: bundle });
  assert.deepEqual(r.body.items, dry);
  assert.deepEqual(
    r.body.items.map((i: { key: string; action: string }) => [i.key, i.action]),
    [["a", "conflict"], ["b", "conflict"], ["c", "create"], ["s", "create"]],
  );
  assert.match(r.body.items[0].reason, /content type is plaintext, the bundle's json/);
  assert.match(r.body.items[1].reason, /unpublished version \(1\)/);
  await checkElement(t.db, "shop", "qa", "a");
  assert.equal(
    (await checkElement(t.db, "shop", "qa", "a")).latestVersion,
    1,
    "a conflict writes nothing",
  );

  // A bundle exported without secrets cannot bring a secret in.
  const masked = (await t.request("GET", "/api/apps/shop/envs/dev/export", admin)).body;
  r = await t.request("POST", "/api/apps/shop/envs/qa/import?dryRun=true", {
    ...admin,
    body: masked,
  });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.field, "body.elements.3.published.raw");
  assert.equal(
    (await t.request("POST", "/api/apps/shop/envs/nope/import", { ...admin, body: bundle })).status,
    404,
  );
});
