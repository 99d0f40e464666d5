/**
 * Export and import (environment sync), shared by the in-process run on
 * `MemoryDb` (`elements_transfer_test.ts`) and the run on a real cassemdb
 * node (`real_db_test.ts`): the source env every import test starts from,
 * and the import whose dry run must equal the applied change.
 *
 * @module
 */

import assert from "node:assert/strict";
import { newSecretKey, parseKeyring } from "../../shared/config/mod.ts";
import type { KvClient } from "../../shared/db/mod.ts";
import type { TestAdm } from "../../adm/testing.ts";
import { appWithEnv, checkElement, elementsPath } from "./_elements.ts";
import type { MakeAdm } from "./_make_adm.ts";

const SCHEMA = { type: "object", required: ["port"] };

/** Source env shop/dev: a (live 1, draft 2), b (yaml with a schema, live), c (never published), s (secret, live). */
export async function source(t: TestAdm<KvClient>): Promise<void> {
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

/** The live and latest raws, schema and secrecy of element `key` of app/env. */
async function contents(t: TestAdm<KvClient>, app: string, env: string, key: string) {
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

/**
 * On a fresh harness from `makeAdm`: shop/dev exported (secrets included)
 * and imported into shop/prod and other/prod; each dry run writes nothing
 * and answers exactly the change the import then makes; the targets end
 * with the source's contents; a second import changes nothing; a later
 * sync publishes what went live in the source.
 */
export async function importDryRun(makeAdm: MakeAdm): Promise<void> {
  const t = await makeAdm({ keyring: await parseKeyring(newSecretKey(), "test") });
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
    const before = await t.revision();
    const dry = await t.request("POST", `${path}?dryRun=true`, { ...admin, body: bundle });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(await t.revision(), before, "a dry run writes nothing");
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
    const rev = await t.revision();
    const again = await t.request("POST", path, { ...admin, body: bundle });
    assert.deepEqual(again.body.summary, { create: 0, update: 0, unchanged: 4, conflict: 0 });
    assert.equal(await t.revision(), rev);
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
}
