/**
 * The dashboard's login session and its guards, in process: the cookie's
 * flags, where a login goes back to, logout and a session ended elsewhere,
 * and the refusal of forms that another site could have sent.
 */

import assert from "node:assert/strict";
import { createTestAdm, TEST_PASSWORD } from "../testing.ts";
import { csrfOf, TestBrowser } from "./_test_browser.ts";

Deno.test("login keeps the API's session in an HttpOnly, SameSite=Strict cookie and goes back", async () => {
  const t = await createTestAdm();
  const b = new TestBrowser(t.app);
  const first = await b.get("/oplog?app=shop", false);
  assert.equal(first.status, 303);
  assert.equal(first.location, "/login?next=%2Foplog%3Fapp%3Dshop");

  const wrong = await b.post("/login", { account: "admin", password: "nope", next: "/oplog" });
  assert.equal(wrong.status, 401);
  assert.match(wrong.text, /Cannot log in/);
  assert.match(wrong.html, /role="alert"><p class="alert">/);
  assert.equal(b.cookies.has("cassem_session"), false);

  const ok = await b.post(
    "/login",
    { account: "admin", password: TEST_PASSWORD, next: "/oplog?app=shop" },
    { follow: false },
  );
  assert.equal(ok.status, 303);
  assert.equal(ok.location, "/oplog?app=shop");
  const cookie = ok.headers.getSetCookie().find((c) => c.startsWith("cassem_session="))!;
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Strict/);
  assert.match(cookie, /; Path=\//);
  assert.match(cookie, /; Max-Age=43200/); // the session's 12 hours
  assert.doesNotMatch(cookie, /Secure/); // plain http on loopback
  // The cookie holds a working API session.
  const me = await t.request("GET", "/api/account/me", { token: b.cookies.get("cassem_session") });
  assert.equal(me.body.account, "admin");
  const page = await b.get("/");
  assert.equal(page.status, 200);
  assert.match(page.text, /Signed in as admin \(admin\)/);
  // Only this origin's script and style, and never in another site's frame.
  const csp = page.headers.get("Content-Security-Policy")!;
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /script-src 'self';/);
  assert.doesNotMatch(page.html, / style="/);
  assert.equal(page.headers.get("X-Content-Type-Options"), "nosniff");
});

Deno.test("login goes back only to a path of this site", async () => {
  const t = await createTestAdm();
  for (const next of ["//evil.example/x", "https://evil.example/", "/\\evil.example"]) {
    const b = new TestBrowser(t.app);
    const r = await b.post("/login", { account: "admin", password: TEST_PASSWORD, next }, {
      follow: false,
    });
    assert.equal(r.location, "/", next);
  }
});

Deno.test("the session cookie is Secure behind an HTTPS proxy", async () => {
  const t = await createTestAdm();
  const b = new TestBrowser(t.app);
  const r = await b.post("/login", { account: "admin", password: TEST_PASSWORD }, {
    follow: false,
    headers: { "X-Forwarded-Proto": "https" },
  });
  assert.match(r.headers.getSetCookie().join("\n"), /cassem_session=[^;]+;.*Secure/);
});

Deno.test("logout ends the API session and the cookie; a session ended elsewhere goes to login", async () => {
  const t = await createTestAdm();
  const b = new TestBrowser(t.app);
  b.cookies.set("cassem_session", t.adminToken);
  const home = await b.get("/");
  const out = await b.post("/logout", { _csrf: csrfOf(home) });
  assert.equal(out.status, 200);
  assert.match(out.text, /Logged out/);
  assert.equal(b.cookies.has("cassem_session"), false);
  assert.equal((await t.request("GET", "/api/account/me", { token: t.adminToken })).status, 401);

  // Ended through the API (another tab, another adm copy): the next page asks for a login.
  const token = await t.userWithRoles("ann", {}, { admin: true });
  const c = new TestBrowser(t.app);
  c.cookies.set("cassem_session", token);
  assert.equal((await c.get("/")).status, 200);
  assert.equal(
    (await t.request("POST", "/api/account/logout", { token, body: {} })).status,
    200,
  );
  const after = await c.get("/apps", false);
  assert.equal(after.status, 303);
  assert.equal(after.location, "/login?next=%2Fapps");
  const login = await c.get(after.location!);
  assert.match(login.text, /Your session ended: log in again/);
  assert.equal(c.cookies.has("cassem_session"), false);
});

Deno.test("a form another site could send is refused with 403 and changes nothing", async () => {
  const t = await createTestAdm();
  const b = new TestBrowser(t.app);
  b.cookies.set("cassem_session", t.adminToken);
  const csrf = csrfOf(await b.get("/"));
  const cases: [string, Record<string, string>, Record<string, string>, RegExp][] = [
    ["no token", { id: "a1" }, {}, /carries no _csrf token/],
    ["another session's token", { id: "a2", _csrf: "0".repeat(64) }, {}, /not this session's/],
    ["cross-site", { id: "a3", _csrf: csrf }, { "Sec-Fetch-Site": "cross-site" }, /another site/],
    [
      "another origin",
      { id: "a4", _csrf: csrf },
      { Origin: "http://evil.example", "Sec-Fetch-Site": "" },
      /another origin: current Origin is http:\/\/evil.example/,
    ],
  ];
  for (const [name, fields, headers, message] of cases) {
    const r = await b.post("/apps", fields, { headers });
    assert.equal(r.status, 403, name);
    assert.match(r.text, message, name);
    assert.equal(
      (await t.request("GET", `/api/apps/${fields.id}`, { token: t.adminToken })).status,
      404,
      name,
    );
  }
  // A login posted from another origin is refused too (login CSRF).
  const c = new TestBrowser(t.app);
  const r = await c.post("/login", { account: "admin", password: TEST_PASSWORD }, {
    headers: { Origin: "http://evil.example" },
  });
  assert.equal(r.status, 403);
  assert.equal(c.cookies.has("cassem_session"), false);
  // The same form from this origin with the page's token works.
  const ok = await b.post("/apps", { id: "a5", _csrf: csrf });
  assert.equal(ok.status, 200);
  assert.match(ok.text, /Created app a5/);
});
