/**
 * The web dashboard end to end, in real headless Chromium (Debian's
 * `chromium`, driven by npm:playwright-core) against a real cassemdb node
 * and a real cassemadm process on loopback. A person's session, by the
 * issue's words: log in (a wrong password first), create an app, an env
 * and an element (a bad text refused live, as typed), edit (a bad edit
 * refused live, then by the server when the page's check is bypassed),
 * diff side by side, publish, gray to a label, see the instances, promote,
 * roll back, read the oplog with a filter, log out. After each step the
 * test checks what the page shows AND what the API and cassemdb hold, and
 * that the page logged no error. A screenshot of each main page is saved
 * under `tests/e2e/artifacts/` (printed at the end).
 *
 * Runs in a process of its own (`scenario`): the test holds a gRPC client
 * to check cassemdb (denoland/deno#36788, tests/db/README.md).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import {
  decodeRecord,
  encodeRecord,
  instanceKey,
  InstanceRecord,
  serveGrayKey,
  ServeGrayRecord,
  serveLiveKey,
  ServeLiveRecord,
} from "../../shared/config/mod.ts";
import type { KvClient } from "../../shared/db/mod.ts";
import { AdmProc } from "../adm/_adm_proc.ts";
import { withCluster } from "../db/_cluster.ts";
import { scenario } from "../db/_scenario.ts";
import { launchChromium } from "./_chromium.ts";

const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
const PASSWORD = "e2e-admin-password-1";
const E = "/apps/shop/envs/prod/elements/db.json";
const API_E = `/api${E}`;

/** Waits until `selector`'s text matches `re` (the page is live: no fixed sleeps). */
async function waitText(page: Page, selector: string, re: RegExp): Promise<string> {
  const loc = page.locator(selector).filter({ hasText: re }).first();
  try {
    await loc.waitFor({ timeout: 20_000 });
  } catch (e) {
    const now = await page.locator(selector).allTextContents().catch(() => []);
    throw new Error(
      `Cannot see ${re} in ${selector} on ${page.url()}: it says ${JSON.stringify(now)}`,
      { cause: e },
    );
  }
  return (await loc.textContent()) ?? "";
}

async function heading(page: Page, name: string): Promise<void> {
  await waitText(page, "h1", new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`));
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

async function live(db: KvClient): Promise<number | undefined> {
  const k = serveLiveKey("shop", "prod", "db.json");
  const { entity } = await db.get(k);
  return entity ? decodeRecord(ServeLiveRecord, k, entity.val).version : undefined;
}

async function instance(db: KvClient, clientId: string, labels: Record<string, string>, run: {
  version: number;
  fingerprint: string;
  gray: boolean;
}): Promise<void> {
  const now = new Date().toISOString();
  await db.set(
    instanceKey(clientId),
    encodeRecord(InstanceRecord, {
      clientId,
      agentId: "agent-e2e",
      clientIp: "127.0.0.1",
      labels,
      watching: [{ app: "shop", env: "prod", keys: ["db.json"] }],
      running: [{ app: "shop", env: "prod", key: "db.json", ...run }],
      registeredAt: now,
      renewedAt: now,
    }),
    { ttl: 600 },
  );
}

scenario(
  import.meta.url,
  "the dashboard in headless Chromium: a person's whole session",
  async () => {
    const t0 = Date.now();
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await withCluster({ name: "dashboard-e2e", logLevel: "warn", attempts: 2 }, async (c) => {
      await c.startFounders(1);
      const db = c.client();
      const adm = await AdmProc.start(c.nodes.map((n) => n.clientAddr).join(","), {
        CASSEM_ADMIN_PASSWORD: PASSWORD,
      }, 60_000);
      const browser = await launchChromium();
      try {
        const login = await adm.request("POST", "/api/account/login", {
          body: { account: "admin", password: PASSWORD },
        });
        assert.equal(login.status, 200, JSON.stringify(login.body));
        const token: string = login.body.token;
        const api = (path: string) => adm.request("GET", path, { token });
        const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
        const page = await ctx.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
        page.on("console", (m) => {
          // A 4xx page (a refused form) is logged as a failed load: expected, checked below.
          if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
            errors.push(`console: ${m.text()}`);
          }
        });
        c.note(`chromium ${browser.version()} up after ${Date.now() - t0} ms`);

        // ---- log in: a wrong password is refused, then the right one --------------------
        await page.goto(`${adm.url}/`);
        assert.equal(new URL(page.url()).pathname, "/login");
        await heading(page, "Log in to cassem");
        await shot(page, "01-login");
        await page.getByLabel("Account").fill("admin");
        await page.getByLabel("Password").fill("wrong-password");
        await page.getByLabel("Password").press("Enter");
        await waitText(page, "#alert", /Cannot log in/);
        await page.getByLabel("Password").fill(PASSWORD);
        await page.getByLabel("Password").press("Enter");
        await heading(page, "Apps");
        await waitText(page, "header", /Signed in as admin/);
        // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
        await page.keyboard.press("Tab");
        assert.equal(await page.evaluate("document.activeElement.textContent"), "Skip to content");
        await page.keyboard.press("Enter");
        assert.equal(await page.evaluate("document.activeElement.id"), "main");

        // ---- create an app and an env --------------------------------------------------
        await page.getByLabel("App id", { exact: true }).fill("shop");
        await page.getByLabel("Description").fill("The shop");
        await page.getByRole("button", { name: "Create app" }).click();
        await heading(page, "App shop");
        await waitText(page, "#status", /Created app shop/);
        assert.equal((await api("/api/apps/shop")).body.description, "The shop");
        await page.getByLabel("Env name").fill("prod");
        await page.getByLabel("Description").fill("Production");
        await page.getByRole("button", { name: "Create environment" }).click();
        await heading(page, "shop / prod");
        await waitText(page, "#status", /Created environment prod/);
        assert.equal((await api("/api/apps/shop/envs/prod")).status, 200);
        await page.goto(`${adm.url}/`);
        await waitText(page, "[data-testid=apps]", /shop\s*The shop\s*admin\s*active/);
        await shot(page, "02-apps");
        await page.getByRole("link", { name: "shop", exact: true }).click();
        await waitText(page, "[data-testid=envs]", /prod\s*Production\s*direct/);
        await shot(page, "03-app");
        await page.getByRole("link", { name: "prod", exact: true }).click();
        await heading(page, "shop / prod");

        // ---- create an element: a bad text is refused as it is typed ---------------------
        await page.locator("html[data-client=ready]").waitFor({ timeout: 30_000 });
        await page.getByLabel("Key").fill("db.json");
        await page.getByLabel("Content type").selectOption("json");
        const content = page.getByLabel("Content", { exact: true });
        await content.fill('{"pool": 5,}');
        await waitText(
          page,
          "#raw-validation",
          /Cannot parse raw as json: .* at line 1, column 12/,
        );
        assert.equal(await content.getAttribute("aria-invalid"), "true");
        await page.getByRole("button", { name: "Create version 1" }).click();
        // Refused in the page: still here, nothing created, the caret on the error.
        assert.equal(new URL(page.url()).pathname, "/apps/shop/envs/prod");
        assert.equal((await api(API_E)).status, 404);
        assert.equal(await page.evaluate("document.activeElement.id"), "raw");
        assert.equal(await page.evaluate("document.activeElement.selectionStart"), 11);
        await shot(page, "04-env-bad-content");
        await content.fill('{\n  "pool": 5\n}\n');
        await waitText(page, "#raw-validation", /^Valid json$/);
        await page.getByLabel("Remark").fill("first");
        await page.getByRole("button", { name: "Create version 1" }).click();
        await heading(page, "db.json");
        await waitText(page, "#status", /Created db.json version 1/);
        let v = await api(API_E);
        assert.equal(v.body.raw, '{\n  "pool": 5\n}\n', "the raw as typed, LF line breaks");
        assert.equal(v.body.element.publishedVersion, null);

        // ---- publish version 1, confirmed with its diff ---------------------------------
        await page.getByLabel("Version to publish").selectOption("1");
        await page.getByRole("button", { name: "Review publish…" }).click();
        await heading(page, "Publish version 1 of db.json");
        await waitText(page, "[data-testid=effects]", /Nothing is live yet/);
        await waitText(page, "[data-testid=diff] td.add", /"pool": 5/);
        await shot(page, "05-confirm-publish");
        await page.getByRole("button", { name: "Publish version 1" }).click();
        await waitText(page, "#status", /Published version 1/);
        await waitText(page, "[data-testid=live-version]", /^version 1$/);
        assert.equal((await api(API_E)).body.element.publishedVersion, 1);
        assert.equal(await live(db), 1, "cassemdb serves version 1");

        // ---- edit: a bad edit is refused as typed, and by the server ---------------------
        await page.getByRole("link", { name: "Edit as version 2" }).click();
        await heading(page, "Edit db.json");
        await page.locator("html[data-client=ready]").waitFor();
        const editor = page.getByLabel("Content (json)");
        assert.equal(await editor.inputValue(), '{\n  "pool": 5\n}\n');
        // Typed with the keyboard: change 5 to 8 and add a line, forgetting a comma.
        await editor.focus();
        await editor.press("Control+End");
        await editor.press("ArrowUp");
        await editor.press("ArrowUp");
        await editor.press("End");
        await editor.press("Backspace");
        await page.keyboard.type('8\n  "host": "db"');
        assert.equal(await editor.inputValue(), '{\n  "pool": 8\n  "host": "db"\n}\n');
        const verdict = await waitText(page, "#raw-validation", /at line 3, column 3/);
        assert.match(
          verdict,
          /Cannot parse raw as json: expected ',' or '}' after a property value/,
        );
        await waitText(page, "#raw-caret", /Line 3, column 15/);
        await page.getByRole("button", { name: "Go to line 3, column 3" }).click();
        assert.equal(await page.evaluate("document.activeElement.selectionStart"), 16); // line 3 starts at 14
        await waitText(page, "#raw-caret", /^Line 3, column 3$/);
        await shot(page, "06-editor-refused");
        await page.getByRole("button", { name: "Save as version 2" }).click();
        assert.equal(new URL(page.url()).pathname, `${E}/edit`);
        // With the page's check bypassed, the server refuses it too (422, same line and column).
        const refused = page.waitForResponse((r) =>
          r.url().endsWith(`${E}/edit`) && r.request().method() === "POST"
        );
        await page.evaluate("document.querySelector('form[data-editor]').submit()");
        assert.equal((await refused).status(), 422);
        await waitText(page, "#alert", /Cannot parse raw as json: .* at line 3, column 3/);
        assert.equal(
          await page.getByLabel("Content (json)").inputValue(),
          '{\n  "pool": 8\n  "host": "db"\n}\n',
        );
        assert.equal((await api(API_E)).body.element.latestVersion, 1, "nothing was stored");
        await page.getByLabel("Content (json)").fill('{\n  "pool": 8,\n  "host": "db"\n}\n');
        await waitText(page, "#raw-validation", /^Valid json$/);
        await page.getByLabel("Remark").fill("bigger pool");
        await page.getByRole("button", { name: "Save as version 2" }).click();
        await waitText(page, "#status", /Saved version 2/);
        v = await api(`${API_E}?version=2`);
        assert.equal(v.body.raw, '{\n  "pool": 8,\n  "host": "db"\n}\n');

        // ---- diff side by side -------------------------------------------------------------
        await page.getByRole("link", { name: "v1 → v2" }).click();
        await heading(page, "Compare versions of db.json");
        const changed = page.locator("[data-testid=diff] tr.row-change").first();
        assert.match((await changed.locator("td.text.del").textContent())!, /"pool": 5/);
        assert.match((await changed.locator("td.text.add").textContent())!, /"pool": 8,/);
        await waitText(page, "section[aria-label='Structural changes']", /\/pool 5 → 8/);
        await waitText(page, "section[aria-label='Structural changes']", /\/host = "db"/);
        await shot(page, "07-diff");

        // ---- gray release of version 2 to region=eu -----------------------------------------
        await page.goto(`${adm.url}${E}`);
        await page.getByLabel("Version to release to some clients").selectOption("2");
        await page.getByRole("radio", { name: "Clients with labels" }).check();
        await page.locator("#gray-labels").fill("region=eu");
        await page.getByRole("button", { name: "Review gray release…" }).click();
        await heading(page, "Gray release of version 2 of db.json");
        await waitText(page, "[data-testid=rule]", /clients labelled region=eu/);
        await waitText(page, "[data-testid=effects]", /every other client keeps version 1/);
        await shot(page, "08-confirm-gray");
        await page.getByRole("button", { name: "Start the gray release of version 2" }).click();
        await waitText(page, "#status", /Started the gray release of version 2/);
        await waitText(
          page,
          "[data-testid=gray-version]",
          /version 2 to clients labelled region=eu/,
        );
        const g = await api(`${API_E}/gray`);
        assert.deepEqual(g.body.rule, { kind: "labels", selector: { region: "eu" } });
        const gk = serveGrayKey("shop", "prod", "db.json");
        const gray = decodeRecord(ServeGrayRecord, gk, (await db.get(gk)).entity!.val);
        assert.deepEqual([gray.version, gray.rule], [2, {
          kind: "labels",
          selector: { region: "eu" },
        }]);
        await shot(page, "09-element");

        // ---- instances: which version each client runs (records as an agent writes them) ----
        await instance(db, "web-eu-1", { region: "eu" }, {
          version: 2,
          fingerprint: gray.fingerprint,
          gray: true,
        });
        await instance(db, "web-us-1", { region: "us" }, {
          version: 1,
          fingerprint: (await api(`${API_E}?version=1`)).body.fingerprint,
          gray: false,
        });
        await page.getByRole("link", { name: "Instances watching db.json" }).click();
        await heading(page, "Instances");
        await waitText(
          page,
          "[data-testid=instances] tr",
          /web-eu-1.*region=eu.*shop\/prod\/db\.json\s*v2\s*gray/,
        );
        await waitText(
          page,
          "[data-testid=instances] tr",
          /web-us-1.*region=us.*shop\/prod\/db\.json\s*v1\s*live/,
        );
        await shot(page, "10-instances");

        // ---- promote, then roll back to version 1 ------------------------------------------
        await page.goto(`${adm.url}${E}`);
        await page.getByRole("link", { name: "Review promote…" }).click();
        await heading(page, "Promote version 2 of db.json to everyone");
        await page.getByRole("button", { name: "Promote version 2" }).click();
        await waitText(page, "#status", /Promoted version 2: it is live for everyone/);
        await waitText(page, "[data-testid=live-version]", /^version 2$/);
        await waitText(page, "[data-testid=gray-version]", /^none$/);
        assert.equal(await live(db), 2);
        assert.equal((await db.get(gk)).entity, undefined, "the gray record is gone");
        await page.getByLabel("Earlier version to make live again").selectOption("1");
        await page.getByRole("button", { name: "Review rollback…" }).click();
        await heading(page, "Roll back to version 1 of db.json");
        await waitText(page, "[data-testid=diff] thead", /Live now: version 2\s*After: version 1/);
        await page.getByLabel("Remark").fill("pool too big");
        await page.getByRole("button", { name: "Roll back to version 1" }).click();
        await waitText(page, "#status", /Rolled back to version 1/);
        await waitText(page, "[data-testid=live-version]", /^version 1$/);
        assert.equal((await api(API_E)).body.element.publishedVersion, 1);
        assert.equal(await live(db), 1);

        // ---- the operation log, filtered -----------------------------------------------------
        await page.getByRole("link", { name: "Operation log", exact: true }).click();
        await heading(page, "Operation log");
        await page.getByLabel("Key").fill("db.json");
        await page.getByLabel("Operation", { exact: true }).selectOption("element.rollback");
        await page.getByRole("button", { name: "Filter" }).click();
        await waitText(
          page,
          "[data-testid=oplog] tbody",
          /admin\s*element\.rollback\s*shop\/prod\/db\.json\s*v2 → v1\s*pool too big/,
        );
        assert.equal(await page.locator("[data-testid=oplog] tbody tr").count(), 1);
        await page.getByLabel("Operation", { exact: true }).selectOption("element.*");
        await page.getByRole("button", { name: "Filter" }).click();
        const ops =
          (await page.locator("[data-testid=oplog] tbody tr td:nth-child(3)").allTextContents())
            .reverse();
        assert.deepEqual(ops, [
          "element.create",
          "element.publish",
          "element.update",
          "element.gray.start",
          "element.gray.promote",
          "element.rollback",
        ]);
        const log = await api("/api/oplog?key=db.json&operation=element.*");
        assert.deepEqual(
          log.body.items.map((e: { operation: string }) => e.operation).reverse(),
          ops,
        );
        await shot(page, "11-oplog");

        // ---- log out: the session ends in the API too ---------------------------------------
        const cookie = (await ctx.cookies()).find((k) => k.name === "cassem_session")!;
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.sameSite, "Strict");
        await page.getByRole("button", { name: "Log out" }).click();
        await heading(page, "Log in to cassem");
        await waitText(page, "#status", /Logged out/);
        assert.equal(
          (await adm.request("GET", "/api/account/me", { token: cookie.value })).status,
          401,
        );

        assert.deepEqual(errors, [], "the pages logged no error");
        await ctx.close();
      } finally {
        await browser.close();
        await adm.stop();
      }
    });
    console.log(`dashboard e2e: screenshots in ${ARTIFACTS} (${Date.now() - t0} ms in all)`);
  },
  { timeoutMs: 600_000, attempts: 2 },
);
