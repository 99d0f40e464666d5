/**
 * Two cassemadm copies as real processes against a real 3-node cassemdb:
 * what one copy does is seen by the other at once, because neither keeps
 * state of its own.
 *
 * - Concurrent first start: both copies start at once on an empty
 *   cassemdb; exactly one creates `admin` and prints its generated
 *   password, and that password works on both.
 * - Revocation: a session logged out, a user disabled or an API token
 *   revoked through one copy is refused by the other on the next request.
 * - The login rate limit counts attempts made through both copies.
 *
 * Runs in a process of its own (`scenario`) because of the Deno HTTP/2
 * runtime bug (tests/db/README.md).
 *
 * @module
 */

import assert from "node:assert/strict";
import { withCluster } from "../db/_cluster.ts";
import { scenario } from "../db/_scenario.ts";
import { AdmProc } from "./_adm_proc.ts";

const PASSWORD_LINE = /created the admin account with the generated password (\S+)/;
const DONE_LINE = /created the admin account|no account created/;

scenario(
  import.meta.url,
  "two adm copies share sessions, revocations and the login limit",
  async () => {
    await withCluster({ name: "adm-two-copies", logLevel: "warn" }, async (c) => {
      await c.startFounders(3);
      const endpoints = c.nodes.map((n) => n.clientAddr).join(",");
      const copies: AdmProc[] = [];
      try {
        // Both copies start at once, with no CASSEM_ADMIN_PASSWORD.
        copies.push(...await Promise.all([AdmProc.start(endpoints), AdmProc.start(endpoints)]));
        const [a, b] = copies as [AdmProc, AdmProc];
        c.note(`adm copies listening: a pid ${a.pid}, b pid ${b.pid}`);
        await Promise.all(copies.map((p) => p.waitFor("stderr", (l) => DONE_LINE.test(l), 60_000)));
        const printed = copies.flatMap((p) => p.stderr.filter((l) => PASSWORD_LINE.test(l)));
        assert.equal(
          printed.length,
          1,
          `exactly one copy prints a password:\n${printed.join("\n")}`,
        );
        const password = PASSWORD_LINE.exec(printed[0]!)![1]!;
        c.note(
          `admin password printed once by ${
            a.stderr.some((l) => PASSWORD_LINE.test(l)) ? "a" : "b"
          }`,
        );

        c.note("bootstrap done on both copies");
        // The password works on both copies.
        const onA = await a.request("POST", "/api/account/login", {
          body: { account: "admin", password },
        });
        const onB = await b.request("POST", "/api/account/login", {
          body: { account: "admin", password },
        });
        assert.deepEqual(
          [onA.status, onB.status],
          [200, 200],
          JSON.stringify([onA.body, onB.body]),
        );
        const admin = onA.body.token as string;

        c.note("logged in on both copies");
        // A session made on one copy works on the other; a logout on the other ends it at once.
        assert.equal((await b.request("GET", "/api/account/me", { token: admin })).status, 200);
        const second =
          (await a.request("POST", "/api/account/login", { body: { account: "admin", password } }))
            .body.token;
        assert.equal(
          (await b.request("POST", "/api/account/logout", { token: second })).status,
          200,
        );
        assert.equal((await a.request("GET", "/api/account/me", { token: second })).status, 401);

        // A user disabled through one copy is refused by the other on the next request.
        assert.equal(
          (await a.request("POST", "/api/users/bob", {
            token: admin,
            body: { password: "bobs-password" },
          })).status,
          201,
        );
        const bob = (await b.request("POST", "/api/account/login", {
          body: { account: "bob", password: "bobs-password" },
        }))
          .body.token;
        assert.equal((await a.request("GET", "/api/account/me", { token: bob })).status, 200);
        assert.equal(
          (await b.request("PUT", "/api/users/bob", { token: admin, body: { status: "disabled" } }))
            .status,
          200,
        );
        assert.equal((await a.request("GET", "/api/account/me", { token: bob })).status, 401);

        // An API token revoked through one copy is refused by the other at once.
        assert.equal(
          (await a.request("POST", "/api/apps/shop", { token: admin, body: {} })).status,
          201,
        );
        const made = await b.request("POST", "/api/apps/shop/tokens", {
          token: admin,
          body: { name: "ci", role: "viewer" },
        });
        assert.equal(made.status, 201);
        assert.equal(
          (await a.request("GET", "/api/apps/shop", { token: made.body.token })).status,
          200,
        );
        assert.equal(
          (await a.request("DELETE", `/api/apps/shop/tokens/${made.body.id}`, { token: admin }))
            .status,
          200,
        );
        assert.equal(
          (await b.request("GET", "/api/apps/shop", { token: made.body.token })).status,
          401,
        );

        c.note("revocations checked");
        // The login limit counts attempts through both copies: 5 in a minute, then 429 on either.
        assert.equal(
          (await b.request("POST", "/api/users/carol", {
            token: admin,
            body: { password: "carols-password" },
          })).status,
          201,
        );
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          const via = i % 2 === 0 ? a : b;
          statuses.push(
            (await via.request("POST", "/api/account/login", {
              body: { account: "carol", password: "wrong-guess" },
            })).status,
          );
        }
        assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
        const sixth = await a.request("POST", "/api/account/login", {
          body: { account: "carol", password: "carols-password" },
        });
        const seventh = await b.request("POST", "/api/account/login", {
          body: { account: "carol", password: "carols-password" },
        });
        assert.deepEqual([sixth.status, seventh.status], [429, 429]);
        assert.ok(Number(seventh.headers.get("Retry-After")) >= 1);

        // Both copies wrote to one oplog.
        const log = await b.request("GET", "/api/oplog?operation=token.*", { token: admin });
        // (Sorted: entries of one millisecond have no order among them.)
        assert.deepEqual(log.body.items.map((e: { operation: string }) => e.operation).sort(), [
          "token.create",
          "token.revoke",
        ]);
      } finally {
        for (const p of copies) await p.stop();
      }
      assert.ok(
        copies.every((p) => !p.stderr.some((l) => /\bat .*\.ts:\d+/.test(l) && /ERROR/.test(l))),
      );
    });
  },
  { timeoutMs: 240_000 },
);
