/**
 * Helpers of the element tests: an app and env ready for elements, and the
 * invariants an element's records must keep after every change, read back
 * straight from cassemdb (through any `KvClient`: `MemoryDb` or a real
 * cluster's `DbClient`).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  approvalKey,
  ApprovalRecord,
  decodeRecord,
  elementKey,
  ElementRecord,
  serveGrayKey,
  ServeGrayRecord,
  serveLiveKey,
  ServeLiveRecord,
  VersionRecord,
  versionsPrefix,
} from "../../shared/config/mod.ts";
import type { z } from "zod";
import type { KvClient } from "../../shared/db/mod.ts";
import type { TestAdm } from "../../adm/testing.ts";

/** Creates app `app` and env `env` (with `envBody`) as the harness admin. */
export async function appWithEnv(
  t: TestAdm<KvClient>,
  app = "shop",
  env = "prod",
  envBody: Record<string, unknown> = {},
): Promise<void> {
  await t.createTestApp(app);
  const r = await t.request("POST", `/api/apps/${app}/envs/${env}`, {
    token: t.adminToken,
    body: envBody,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

/** The elements path of an env. */
export function elementsPath(app = "shop", env = "prod"): string {
  return `/api/apps/${app}/envs/${env}/elements`;
}

/** The record at `key` decoded with `schema`, or undefined. */
export async function record<S extends z.ZodType>(
  db: KvClient,
  schema: S,
  key: string,
): Promise<z.output<S> | undefined> {
  const { entity } = await db.get(key);
  return entity ? decodeRecord(schema, key, entity.val) : undefined;
}

/**
 * Asserts what every change must leave behind for element `key`: versions
 * exactly 1..latest, each with its metadata; the latest fingerprint; at most
 * the latest version unpublished; a served live record exactly when
 * something is published, holding that version's body; a served gray record
 * exactly when a gray release runs, for a version other than the live one;
 * a pending request only for an existing version. Answers the metadata.
 */
export async function checkElement(
  db: KvClient,
  app: string,
  env: string,
  key: string,
): Promise<ElementRecord> {
  const meta = await record(db, ElementRecord, elementKey(app, env, key));
  assert.ok(meta, `${key}: no metadata`);
  const { entities } = await db.list(versionsPrefix(app, env, key));
  const versions = entities.filter((e) => e.type === "ELEMENT")
    .map((e) => decodeRecord(VersionRecord, e.key, e.val));
  assert.deepEqual(
    versions.map((v) => v.version),
    Array.from({ length: meta.latestVersion }, (_, i) => i + 1),
    `${key}: versions are exactly 1..${meta.latestVersion}`,
  );
  const byNumber = new Map(versions.map((v) => [v.version, v]));
  assert.equal(byNumber.get(meta.latestVersion)!.fingerprint, meta.latestFingerprint);
  assert.ok(
    meta.unpublishedVersion === null || meta.unpublishedVersion === meta.latestVersion,
    `${key}: only the latest can be unpublished`,
  );
  for (const v of versions) {
    assert.equal(v.contentType, meta.contentType);
    assert.equal(v.sealed !== undefined, meta.secret, `${key} v${v.version}: sealed iff secret`);
  }
  const live = await record(db, ServeLiveRecord, serveLiveKey(app, env, key));
  if (meta.publishedVersion === null) {
    assert.equal(live, undefined, `${key}: nothing served before a publish`);
    assert.equal(meta.publishedFingerprint, null);
  } else {
    assert.ok(live, `${key}: the published version is served`);
    const v = byNumber.get(meta.publishedVersion)!;
    assert.equal(live.version, meta.publishedVersion);
    assert.equal(live.fingerprint, v.fingerprint);
    assert.equal(meta.publishedFingerprint, v.fingerprint);
    assert.deepEqual([live.raw, live.sealed], [v.raw, v.sealed], `${key}: served body`);
  }
  const gray = await record(db, ServeGrayRecord, serveGrayKey(app, env, key));
  if (meta.grayVersion === null) assert.equal(gray, undefined, `${key}: no gray record`);
  else {
    assert.ok(gray, `${key}: the gray version is served`);
    assert.equal(gray.version, meta.grayVersion);
    assert.notEqual(meta.grayVersion, meta.publishedVersion);
    const v = byNumber.get(meta.grayVersion)!;
    assert.deepEqual([gray.raw, gray.sealed, gray.fingerprint], [v.raw, v.sealed, v.fingerprint]);
  }
  const pending = await record(db, ApprovalRecord, approvalKey(app, env, key));
  if (pending) assert.ok(byNumber.has(pending.version), `${key}: a request names a real version`);
  return meta;
}

/** Every key under `prefix` in `db` (directories included). */
export async function keysUnder(db: KvClient, prefix: string): Promise<string[]> {
  return (await db.list(prefix)).entities.map((e) => e.key);
}
