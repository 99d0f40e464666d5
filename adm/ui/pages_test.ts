/**
 * The dashboard's pages against the real API, in process: each step
 * posts the form a person would, then checks what the page says and what
 * the API holds. The whole element life: create (a bad text refused with
 * its line and column, the text kept), publish confirmed with its diff,
 * edit, diff, gray to a label, change the rule, promote, roll back, a
 * confirmation made stale by another edit (412), abort, four-eyes
 * approval, the instances and the operation log.
 */

import assert from "node:assert/strict";
import { encodeRecord, instanceKey, InstanceRecord } from "../../shared/config/mod.ts";
import { createTestAdm, type TestAdm } from "../testing.ts";
import { csrfOf, hiddenOf, type Page, partText, TestBrowser } from "./_test_browser.ts";

const E = "/apps/shop/envs/prod/elements/db.json";
const API_E = "/api/apps/shop/envs/prod/elements/db.json";

async function element(t: TestAdm) {
  const r = await t.request("GET", API_E, { token: t.adminToken });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.element;
}

/** Opens the confirm page of `query` and confirms it with `remark`. */
async function confirm(b: TestBrowser, query: string, remark = ""): Promise<[Page, Page]> {
  const review = await b.get(`${E}/confirm?${query}`);
  assert.equal(review.status, 200, review.text.slice(0, 400));
  const fields: Record<string, string> = { _csrf: csrfOf(review), remark };
  for (const f of ["action", "etag", "version", "id", "mode", "clientIds", "labels", "percent"]) {
    try {
      fields[f] = hiddenOf(review, f);
    } catch { /* not part of this action */ }
  }
  return [review, await b.post(`${E}/act`, fields)];
}

Deno.test("the dashboard runs an element's whole life through the API", async () => {
  const t = await createTestAdm();
  const b = new TestBrowser(t.app);
  b.cookies.set("cassem_session", t.adminToken);
  const csrf = csrfOf(await b.get("/"));

  let p = await b.post("/apps", { _csrf: csrf, id: "shop", description: "The shop" });
  assert.match(p.text, /Created app shop/);
  assert.match(p.text, /App shop .*The shop/);
  p = await b.post("/apps/shop/envs", { _csrf: csrf, env: "prod", description: "Production" });
  assert.match(p.text, /Created environment prod/);
  assert.match(p.text, /No elements yet/);

  // A bad text is refused with its line and column, and kept in the form.
  const bad = '{\r\n  "pool": 5,\r\n}\r\n';
  p = await b.post("/apps/shop/envs/prod/elements", {
    _csrf: csrf,
    key: "db.json",
    contentType: "json",
    raw: bad,
  });
  assert.equal(p.status, 422);
  assert.match(p.text, /Cannot parse raw as json: .* at line 3, column 1/);
  assert.match(p.html, /aria-invalid="true"/);
  assert.ok(p.html.includes("  &quot;pool&quot;: 5,\n}\n"), "the text is kept (as LF)");
  assert.equal((await t.request("GET", API_E, { token: t.adminToken })).status, 404);

  // A browser posts a textarea's line breaks as CRLF; the element gets them as typed (LF).
  p = await b.post("/apps/shop/envs/prod/elements", {
    _csrf: csrf,
    key: "db.json",
    contentType: "json",
    raw: '{\r\n  "pool": 5\r\n}\r\n',
    remark: "first",
  });
  assert.equal(p.status, 200);
  assert.match(p.text, /Created db.json version 1/);
  assert.match(p.text, /Live nothing yet/);
  const v = await t.request("GET", API_E, { token: t.adminToken });
  assert.equal(v.body.raw, '{\n  "pool": 5\n}\n');

  // Publish: the confirm page shows the whole text as added (nothing live yet).
  let [review, done] = await confirm(b, "action=publish&version=1", "go live");
  assert.match(review.text, /Publish version 1 of db.json/);
  assert.match(
    review.text,
    /Nothing is live yet\. Version 1 becomes live for every client of shop\/prod/,
  );
  assert.match(review.text, /3 added, 0 removed lines/);
  assert.match(
    review.html,
    /<td class="text add"><span class="sr">added:<\/span> {2}&quot;pool&quot;: 5<\/td>/,
  );
  assert.match(done.text, /Published version 1/);
  assert.match(done.text, /Live version 1/);
  assert.equal((await element(t)).publishedVersion, 1);

  // Edit: a bad edit is refused (422, line and column), the text kept; a good one is version 2.
  p = await b.get(`${E}/edit`);
  assert.match(p.text, /Save as version 2/);
  assert.ok(p.html.includes('<textarea id="raw"'));
  assert.ok(p.html.includes("\n{\n  &quot;pool&quot;: 5\n}\n</textarea>"));
  const etag = hiddenOf(p, "etag");
  p = await b.post(`${E}/edit`, {
    _csrf: csrf,
    etag,
    from: "1",
    raw: '{\r\n  "pool": 8\r\n  "host": "db"\r\n}\r\n',
  });
  assert.equal(p.status, 422);
  assert.match(p.text, /Cannot parse raw as json: .* at line 3, column 3/);
  assert.ok(p.html.includes("&quot;host&quot;: &quot;db&quot;"));
  assert.equal((await element(t)).latestVersion, 1);
  p = await b.post(`${E}/edit`, {
    _csrf: csrf,
    etag,
    from: "1",
    raw: '{\r\n  "pool": 8,\r\n  "host": "db"\r\n}\r\n',
    remark: "bigger pool",
  });
  assert.match(p.text, /Saved version 2/);
  assert.equal((await element(t)).unpublishedVersion, 2);

  // The side-by-side diff pairs the changed line and lists the structural changes.
  p = await b.get(`${E}/diff?base=1&compare=2`);
  assert.equal(p.status, 200);
  assert.match(p.text, /Version 1 → version 2 \(2 added, 1 removed lines\)/);
  assert.match(
    p.html,
    /<tr class="row-change"><td class="num del">2<\/td><td class="text del"><span class="sr">removed:<\/span> {2}&quot;pool&quot;: 5<\/td><td class="num add">2<\/td><td class="text add"><span class="sr">added:<\/span> {2}&quot;pool&quot;: 8,<\/td><\/tr>/,
  );
  assert.match(p.text, /Changed \/pool 5 → 8/);
  assert.match(p.text, /Added \/host = "db"/);

  // Gray to a label, then to 50% of clients, then promote.
  [review, done] = await confirm(b, "action=gray&version=2&mode=labels&labels=region%3Deu");
  assert.match(
    review.text,
    /Version 2 goes to clients labelled region=eu; every other client keeps version 1/,
  );
  assert.match(review.text, /Live now: version 1 Gray: version 2/);
  assert.match(done.text, /Started the gray release of version 2 to clients labelled region=eu/);
  let g = await t.request("GET", `${API_E}/gray`, { token: t.adminToken });
  assert.deepEqual(g.body.rule, { kind: "labels", selector: { region: "eu" } });
  [review, done] = await confirm(b, "action=widen&mode=percentage&percent=50");
  assert.match(review.text, /Now clients labelled region=eu After 50% of clients/);
  assert.match(done.text, /now goes to 50% of clients/);
  g = await t.request("GET", `${API_E}/gray`, { token: t.adminToken });
  assert.deepEqual(g.body.rule, { kind: "percentage", percent: 50 });
  [review, done] = await confirm(b, "action=promote");
  assert.match(review.text, /It becomes live for every client of shop\/prod, replacing version 1/);
  assert.match(done.text, /Promoted version 2: it is live for everyone/);
  let el = await element(t);
  assert.equal(el.publishedVersion, 2);
  assert.equal(el.grayVersion, null);

  // Roll back to 1: the diff goes from 2 (live) to 1.
  [review, done] = await confirm(b, "action=rollback&version=1", "pool too big");
  assert.match(review.text, /Roll back to version 1 of db.json/);
  assert.match(review.text, /1 added, 2 removed lines/);
  assert.match(done.text, /Rolled back to version 1/);
  assert.equal((await element(t)).publishedVersion, 1);

  // A confirmation made stale by a change after the review applies nothing (412).
  review = await b.get(`${E}/confirm?action=publish&version=2`);
  assert.equal(
    (await t.request("PUT", API_E, { token: t.adminToken, body: { raw: '{"pool": 6}\n' } })).status,
    200,
  );
  p = await b.post(`${E}/act`, {
    _csrf: csrf,
    action: "publish",
    version: "2",
    etag: hiddenOf(review, "etag"),
  });
  assert.equal(p.status, 412);
  assert.match(p.text, /The element changed after you reviewed the diff: review it again/);
  assert.equal((await element(t)).publishedVersion, 1);

  // Gray to chosen clients, then abort: they go back to the live version.
  [review, done] = await confirm(b, "action=gray&version=3&mode=clients&clientIds=web-1%2C+web-2");
  assert.match(review.text, /Version 3 goes to clients web-1, web-2/);
  assert.match(done.text, /Started the gray release of version 3/);
  [review, done] = await confirm(b, "action=abort");
  assert.match(review.text, /They go back to version 1, which every other client has/);
  assert.match(review.text, /Gray now: version 3 After: version 1/);
  assert.match(done.text, /Aborted the gray release of version 3/);
  el = await element(t);
  assert.equal(el.grayVersion, null);
  assert.equal(el.publishedVersion, 1);

  // The element page: versions newest first with their badges, the content shown.
  p = await b.get(E);
  assert.match(p.text, /v3 unpublished .* v2 .* v1 live/);
  assert.match(p.text, /Version 1 live \{ "pool": 5 \}/);

  // The operation log: filtered by operation, with versions, remark and request id.
  p = await b.get("/oplog?operation=element.rollback");
  const rows = partText(p, "oplog");
  assert.match(rows, /admin element\.rollback shop\/prod\/db\.json v2 → v1 pool too big/);
  assert.doesNotMatch(rows, /element\.publish/);
  p = await b.get("/oplog?app=shop&key=db.json&operation=element.*");
  for (
    const op of [
      "element.create",
      "element.publish",
      "element.update",
      "element.gray.start",
      "element.gray.update",
      "element.gray.promote",
      "element.rollback",
      "element.gray.abort",
    ]
  ) assert.ok(partText(p, "oplog").includes(` ${op} `), op);
  assert.doesNotMatch(partText(p, "oplog"), /app\.create/);
});

Deno.test("the request id of a page's action is the one its oplog entry names", async () => {
  const t = await createTestAdm();
  const b = new TestBrowser(t.app);
  b.cookies.set("cassem_session", t.adminToken);
  const csrf = csrfOf(await b.get("/"));
  const r = await b.post("/apps", { _csrf: csrf, id: "shop" }, {
    follow: false,
    headers: { "X-Request-Id": "ui-req-1234" },
  });
  assert.equal(r.status, 303);
  const log = await t.request("GET", "/api/oplog?operation=app.create", { token: t.adminToken });
  assert.equal(log.body.items[0].requestId, "ui-req-1234");
});

Deno.test("four-eyes: a publish becomes a request that another releaser approves on its confirm page", async () => {
  const t = await createTestAdm();
  await t.createTestApp("shop");
  const admin = { token: t.adminToken };
  assert.equal(
    (await t.request("POST", "/api/apps/shop/envs/prod", {
      ...admin,
      body: { requireApproval: true },
    }))
      .status,
    201,
  );
  const ann = await t.userWithRoles("ann", { shop: ["releaser", "developer"] });
  const bob = await t.userWithRoles("bob", { shop: ["releaser"] });
  assert.equal(
    (await t.request("POST", API_E, { token: ann, body: { raw: "{}\n", contentType: "json" } }))
      .status,
    201,
  );
  const a = new TestBrowser(t.app);
  a.cookies.set("cassem_session", ann);
  let [review, done] = await confirm(a, "action=publish&version=1");
  assert.match(review.text, /shop\/prod needs approval: this files a request/);
  assert.match(done.text, /Requested approval to published version 1: another releaser decides/);
  assert.match(done.text, /Waiting for approval ann asked to publish version 1/);
  assert.equal((await element(t)).publishedVersion, null);

  // The author cannot approve their own request: the API's refusal shows on the element page.
  [review, done] = await confirm(a, "action=approve");
  assert.equal(done.status, 403);
  assert.match(done.text, /Cannot approve .*ann/);
  assert.equal((await element(t)).publishedVersion, null);

  // Another releaser reviews the diff and approves: version 1 is live.
  const b = new TestBrowser(t.app);
  b.cookies.set("cassem_session", bob);
  const env = await b.get("/apps/shop/envs/prod");
  assert.match(env.text, /Waiting for approval \(1\) db\.json ?: publish v1 requested by ann/);
  [review, done] = await confirm(b, "action=approve", "lgtm");
  assert.match(review.text, /Approve the request to publish version 1 of db.json/);
  assert.match(review.text, /ann asked to publish version 1/);
  assert.match(review.text, /1 added, 0 removed lines/);
  assert.match(done.text, /Approved and applied the request for version 1/);
  assert.equal((await element(t)).publishedVersion, 1);
});

Deno.test("the instances page shows which version each client runs", async () => {
  const t = await createTestAdm();
  const now = new Date(t.now()).toISOString();
  const inst = (clientId: string, labels: Record<string, string>, version: number, gray: boolean) =>
    t.db.set(
      instanceKey(clientId),
      encodeRecord(InstanceRecord, {
        clientId,
        agentId: "agent-1",
        clientIp: "127.0.0.1",
        labels,
        watching: [{ app: "shop", env: "prod", keys: ["db.json"] }],
        running: [{
          app: "shop",
          env: "prod",
          key: "db.json",
          version,
          fingerprint: "a".repeat(64),
          gray,
        }],
        registeredAt: now,
        renewedAt: now,
      }),
    );
  await inst("web-1", { region: "eu" }, 2, true);
  await inst("web-2", { region: "us" }, 1, false);
  const b = new TestBrowser(t.app);
  b.cookies.set("cassem_session", t.adminToken);
  const p = await b.get("/instances?app=shop&env=prod&key=db.json");
  assert.equal(p.status, 200);
  assert.match(p.text, /web-1 127\.0\.0\.1 region=eu shop\/prod\/db\.json v2 gray agent-1/);
  assert.match(p.text, /web-2 127\.0\.0\.1 region=us shop\/prod\/db\.json v1 live agent-1/);
  const none = await b.get("/instances?app=other");
  assert.match(none.text, /No instance matches the filter/);
});

Deno.test("a refused or unknown page keeps the API's status and message", async () => {
  const t = await createTestAdm();
  const viewer = await t.userWithRoles("vic", {});
  const b = new TestBrowser(t.app);
  b.cookies.set("cassem_session", t.adminToken);
  let p = await b.get("/apps/nope");
  assert.equal(p.status, 404);
  assert.match(p.text, /Not found .*Cannot .*nope/);
  p = await b.get("/oplog?from=yesterday");
  assert.equal(p.status, 400);
  assert.match(p.text, /query\.from|from/);
  await t.createTestApp("shop");
  const v = new TestBrowser(t.app);
  v.cookies.set("cassem_session", viewer);
  p = await v.get("/apps/shop");
  assert.equal(p.status, 403);
  assert.match(p.text, /Not allowed/);
  // A user who is not an admin sees no "create an app" form.
  p = await v.get("/");
  assert.doesNotMatch(p.text, /Create an app/);
});

Deno.test("the oplog page reads its time filter as UTC and keeps the filters on the next page", async () => {
  const t = await createTestAdm();
  const b = new TestBrowser(t.app);
  b.cookies.set("cassem_session", t.adminToken);
  for (let i = 0; i < 3; i++) await t.createTestApp(`app${i}`); // at 2025-01-01T00:00:00Z
  let p = await b.get("/oplog?operation=app.create&from=2025-01-01T00%3A00");
  assert.equal((partText(p, "oplog").match(/app\.create/g) ?? []).length, 3);
  p = await b.get("/oplog?operation=app.create&from=2025-01-01T00%3A01");
  assert.match(partText(p, "oplog"), /Request id No entries\.$/);
  p = await b.get("/oplog?operation=app.create&to=2024-12-31T23%3A59");
  assert.match(partText(p, "oplog"), /No entries\./);
  // The API pages at 50; with more entries the next page link keeps the filters.
  for (let i = 3; i < 53; i++) await t.createTestApp(`app${i}`);
  p = await b.get("/oplog?operation=app.create");
  const next = /href="(\/oplog\?[^"]*cursor=[^"]+)"/.exec(p.html)?.[1]?.replace(/&amp;/g, "&");
  assert.ok(next, "a link to older entries");
  assert.match(next, /operation=app\.create/);
  p = await b.get(next);
  assert.equal((partText(p, "oplog").match(/app\.create/g) ?? []).length, 3);
});
