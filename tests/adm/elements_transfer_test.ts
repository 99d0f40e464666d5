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
import { createTestAdm } from "../../adm/testing.ts";
import { appWithEnv, checkElement, elementsPath } from "./_elements.ts";
import { importDryRun, source } from "./_elements_transfer.ts";

Deno.test("import: the dry run equals the applied change, the target ends with the source's contents, a second import changes nothing", async () => {
  await importDryRun(createTestAdm);
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
