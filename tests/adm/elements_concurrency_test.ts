/**
 * Concurrent changes of one element through two adm apps on one in-memory
 * cassemdb (the fast twin of `elements_copies_test.ts`, which runs real
 * processes): every change is one Txn guarded by what it read, so
 *
 * - 50 concurrent updates that each publish (`publish: true`, so the
 *   409-while-unpublished rule is honoured by every one of them) give
 *   versions 2..51, no gap, no duplicate, each raw exactly once;
 * - of 20 concurrent updates that do not publish, exactly one wins and the
 *   others get 409 (an unpublished version exists);
 * - of 10 concurrent gray starts, exactly one wins (at most one gray);
 * - a commit whose answer is lost (cassemdb timed out after applying it)
 *   is found by its oplog entry: answered once, never applied twice.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createApp } from "../../adm/app.ts";
import { createTestAdm, type TestAdm } from "../../adm/testing.ts";
import { appWithEnv, checkElement, elementsPath } from "./_elements.ts";

const BASE = `${elementsPath()}/k`;

/** A second adm "copy": another app built on the same deps (the same cassemdb). */
function secondCopy(t: TestAdm) {
  const app = createApp(t.deps);
  return async (method: string, path: string, body: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { "Authorization": `Bearer ${t.adminToken}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
}

Deno.test("50 concurrent publishing updates through two copies give versions 2..51, each raw once", async () => {
  const t = await createTestAdm();
  await appWithEnv(t);
  const admin = { token: t.adminToken };
  const other = secondCopy(t);
  const r = await t.request("POST", BASE, {
    ...admin,
    body: { raw: '{"n": 0}', contentType: "json", publish: true },
  });
  assert.equal(r.status, 201);
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, i) => {
      const body = { raw: `{"n": ${i + 1}}`, publish: true, remark: `w${i + 1}` };
      return i % 2 === 0 ? t.request("PUT", BASE, { ...admin, body }) : other("PUT", BASE, body);
    }),
  );
  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  const got = answers.map((a) => a.body.version as number).sort((x, y) => x - y);
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i + 2));
  // Each answer's version holds that request's raw.
  for (const a of answers) {
    const v = await t.request("GET", `${BASE}?version=${a.body.version}`, admin);
    assert.equal(v.body.raw, a.body.raw);
    assert.equal(v.body.remark, a.body.remark);
  }
  const meta = await checkElement(t.db, "shop", "prod", "k");
  assert.deepEqual([meta.latestVersion, meta.publishedVersion, meta.unpublishedVersion], [
    51,
    51,
    null,
  ]);
  const log = await t.request("GET", "/api/oplog?key=k&operation=element.update&limit=100", admin);
  assert.equal(log.body.items.length, 50);
  assert.deepEqual(
    log.body.items.map((e: { newVersion: number }) => e.newVersion).sort((x: number, y: number) =>
      x - y
    ),
    got,
  );
});

Deno.test("concurrent updates without publish: one wins, the rest get 409; concurrent gray starts: one wins", async () => {
  const t = await createTestAdm();
  await appWithEnv(t);
  const admin = { token: t.adminToken };
  const other = secondCopy(t);
  await t.request("POST", BASE, {
    ...admin,
    body: { raw: "0", contentType: "json", publish: true },
  });
  const answers = await Promise.all(
    Array.from(
      { length: 20 },
      (_, i) =>
        i % 2 === 0
          ? t.request("PUT", BASE, { ...admin, body: { raw: String(i + 1) } })
          : other("PUT", BASE, { raw: String(i + 1) }),
    ),
  );
  const statuses = answers.map((a) => a.status).sort();
  assert.deepEqual(statuses, [200, ...Array(19).fill(409)]);
  assert.equal((await checkElement(t.db, "shop", "prod", "k")).latestVersion, 2);

  const grays = await Promise.all(
    Array.from({ length: 10 }, (_, i) => {
      const body = { version: 2, rule: { kind: "percentage", percent: i + 1 } };
      return i % 2 === 0
        ? t.request("POST", `${BASE}/gray`, { ...admin, body })
        : other("POST", `${BASE}/gray`, body);
    }),
  );
  assert.deepEqual(grays.map((g) => g.status).sort(), [200, ...Array(9).fill(409)]);
  assert.equal((await checkElement(t.db, "shop", "prod", "k")).grayVersion, 2);
});

Deno.test("a commit whose answer was lost is found by its oplog entry: one version, answered once", async () => {
  const t = await createTestAdm();
  await appWithEnv(t);
  const admin = { token: t.adminToken };
  await t.request("POST", BASE, {
    ...admin,
    body: { raw: "0", contentType: "json", publish: true },
  });
  t.db.failNext("timeout-applied", { method: "commitTxn" });
  const r = await t.request("PUT", BASE, { ...admin, body: { raw: "1", publish: true } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.version, 2);
  const meta = await checkElement(t.db, "shop", "prod", "k");
  assert.deepEqual([meta.latestVersion, meta.publishedVersion], [2, 2]);
  // And one that never reached cassemdb changes nothing: 503, then the retry applies once.
  t.db.failNext("unavailable", { method: "commitTxn" });
  const down = await t.request("PUT", BASE, { ...admin, body: { raw: "2", publish: true } });
  assert.equal(down.status, 503);
  assert.ok(down.headers.get("Retry-After"));
  assert.equal((await checkElement(t.db, "shop", "prod", "k")).latestVersion, 2);
  const again = await t.request("PUT", BASE, { ...admin, body: { raw: "2", publish: true } });
  assert.equal(again.body.version, 3);
});
