/**
 * Elements through two cassemadm processes on a real 3-node cassemdb.
 *
 * - 50 concurrent updates of one element, split over both copies, give
 *   versions 2..51 with no gap or duplicate. Each update sends
 *   `publish: true`, so it adds its version and makes it live in one Txn:
 *   the 409-while-unpublished rule holds for every one of them (without it,
 *   all but one of a burst of updates would rightly get 409). Each version
 *   holds the raw of exactly the request that was answered with it, and
 *   the oplog has one entry per update.
 * - A copy killed with SIGKILL in the middle of a second burst leaves
 *   nothing half-written: versions still 1..latest each with its record,
 *   the served record equal to the live version, every answered update
 *   present, every version's raw from one of the requests.
 * - A secret element written through one copy and read through the other
 *   (same keyring) is nowhere in cassemdb in plaintext: every value under
 *   `cassem/` is read back through the db client and searched.
 *
 * Runs in a process of its own (`scenario`), as the other multi-process
 * tests do (tests/db/README.md).
 *
 * @module
 */

import assert from "node:assert/strict";
import { newSecretKey } from "../../shared/config/mod.ts";
import { withCluster } from "../db/_cluster.ts";
import { scenario } from "../db/_scenario.ts";
import { AdmProc } from "./_adm_proc.ts";
import { checkElement, elementsPath } from "./_elements.ts";

const PASSWORD = "copies-test-password";
const BASE = `${elementsPath()}/k`;
const SECRET_MARK = "plaintext-of-a-secret-on-two-copies";

scenario(
  import.meta.url,
  "two adm copies: concurrent updates never lose or repeat a version; a killed copy leaves nothing half-written; secrets stay sealed",
  async () => {
    await withCluster({ name: "adm-elements-copies", logLevel: "warn" }, async (c) => {
      await c.startFounders(3);
      const endpoints = c.nodes.map((n) => n.clientAddr).join(",");
      const env = { CASSEM_ADMIN_PASSWORD: PASSWORD, CASSEM_SECRET_KEY: newSecretKey() };
      const copies: AdmProc[] = [];
      try {
        copies.push(
          ...await Promise.all([
            AdmProc.start(endpoints, env, 60_000),
            AdmProc.start(endpoints, env, 60_000),
          ]),
        );
        const [a, b] = copies as [AdmProc, AdmProc];
        c.note(`adm copies: a pid ${a.pid}, b pid ${b.pid}`);
        let token = "";
        for (let i = 0; i < 100 && !token; i++) {
          const r = await a.request("POST", "/api/account/login", {
            body: { account: "admin", password: PASSWORD },
          });
          if (r.status === 200) token = r.body.token;
          else await new Promise((res) => setTimeout(res, 200));
        }
        assert.ok(token, "admin logs in");
        const admin = { token };
        assert.equal(
          (await a.request("POST", "/api/apps/shop", { ...admin, body: {} })).status,
          201,
        );
        assert.equal(
          (await b.request("POST", "/api/apps/shop/envs/prod", { ...admin, body: {} })).status,
          201,
        );
        let r = await b.request("POST", BASE, {
          ...admin,
          body: { raw: '{"n": 0}', contentType: "json", publish: true },
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));

        // 50 concurrent publishing updates, alternating copies.
        const t0 = Date.now();
        const answers = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 === 0 ? a : b).request("PUT", BASE, {
              ...admin,
              body: { raw: `{"n": ${i + 1}}`, publish: true, remark: `w${i + 1}` },
            })),
        );
        c.note(`50 concurrent updates answered in ${Date.now() - t0} ms`);
        console.log(`50 concurrent updates through two copies answered in ${Date.now() - t0} ms`);
        for (const x of answers) assert.equal(x.status, 200, JSON.stringify(x.body));
        const versions = answers.map((x) => x.body.version as number).sort((p, q) => p - q);
        assert.deepEqual(versions, Array.from({ length: 50 }, (_, i) => i + 2));
        const db = c.client();
        const meta = await checkElement(db, "shop", "prod", "k");
        assert.deepEqual([meta.latestVersion, meta.publishedVersion], [51, 51]);
        for (const x of answers) {
          const v = await (x.body.version % 2 === 0 ? b : a).request(
            "GET",
            `${BASE}?version=${x.body.version}`,
            admin,
          );
          assert.deepEqual([v.body.raw, v.body.remark], [x.body.raw, x.body.remark]);
        }
        const listed: number[] = [];
        for (let seek = "";;) {
          const page = await a.request("GET", `${BASE}/versions?limit=20${seek}`, admin);
          listed.push(...page.body.items.map((v: { version: number }) => v.version));
          if (page.body.next === null) break;
          seek = `&seek=${page.body.next}`;
        }
        assert.deepEqual(listed, Array.from({ length: 51 }, (_, i) => i + 1));
        const log = await b.request(
          "GET",
          "/api/oplog?key=k&operation=element.update&limit=100",
          admin,
        );
        assert.equal(log.body.items.length, 50);

        // A secret through a, read through b; never in plaintext in cassemdb.
        r = await a.request("POST", `${elementsPath()}/creds`, {
          ...admin,
          body: {
            raw: `password=${SECRET_MARK}\n`,
            contentType: "properties",
            secret: true,
            publish: true,
          },
        });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        r = await b.request("GET", `${elementsPath()}/creds`, admin);
        assert.equal(r.body.raw, `password=${SECRET_MARK}\n`);
        const { entities } = await db.list("cassem/");
        assert.ok(entities.length > 60, `only ${entities.length} values read back`);
        for (const e of entities) {
          assert.ok(
            !new TextDecoder().decode(e.val).includes(SECRET_MARK),
            `${e.key} holds the secret in plaintext`,
          );
        }
        await checkElement(db, "shop", "prod", "creds");

        // A second burst; copy b is killed by SIGKILL as soon as it has answered one of its
        // requests, so that others of its requests are in flight in it (read, staged or committed).
        const sent = new Map<string, number>();
        let killedAt = -1;
        const burst = Array.from({ length: 30 }, (_, i) => {
          const raw = `{"m": ${i}}`;
          sent.set(raw, i);
          const via = i % 2 === 0 ? a : b;
          return via.request("PUT", BASE, { ...admin, body: { raw, publish: true } })
            .then((x) => {
              if (via === b && x.status === 200 && killedAt < 0) {
                killedAt = Date.now();
                Deno.kill(b.pid, "SIGKILL");
              }
              return x;
            })
            .catch((e) => ({ status: 0, body: { error: String(e) }, headers: new Headers() }));
        });
        const settled = await Promise.all(burst);
        assert.ok(killedAt > 0, "copy b answered one request before it was killed");
        await b.stop();
        const ok = settled.filter((x) => x.status === 200);
        const killed =
          `burst of 30 with copy b killed after its first answer: ${ok.length} answered 200, ${
            settled.length - ok.length
          } not`;
        c.note(killed);
        console.log(killed);
        assert.ok(ok.length >= 15, "every request to the surviving copy succeeds");
        const after = await checkElement(db, "shop", "prod", "k");
        for (const x of ok) {
          const v = await a.request("GET", `${BASE}?version=${x.body.version}`, admin);
          assert.equal(v.body.raw, x.body.raw, "an answered update is there as answered");
        }
        const raws = new Set<string>();
        for (let n = 52; n <= after.latestVersion; n++) {
          const v = await a.request("GET", `${BASE}?version=${n}`, admin);
          assert.ok(sent.has(v.body.raw), `version ${n} holds one of the burst's raws`);
          assert.ok(!raws.has(v.body.raw), `version ${n} repeats a raw`);
          raws.add(v.body.raw);
        }
        assert.ok(raws.size >= ok.length);
        console.log(`versions 52..${after.latestVersion} each hold one request's raw`);
      } finally {
        for (const p of copies) await p.stop();
      }
      for (const p of copies) {
        assert.ok(!p.stderr.some((l) => l.includes(SECRET_MARK)), "no secret in adm's log");
      }
    });
  },
  { timeoutMs: 240_000 },
);
