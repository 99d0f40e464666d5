/**
 * Observability of cassemadm as a real process on a real cassemdb node:
 *
 * - one request's `X-Request-Id` appears in adm's log, in cassemdb's debug
 *   line for the transaction the request committed, and in the oplog entry;
 * - adm's /metrics after known traffic counts each request by route pattern
 *   and status, and the calls it made to cassemdb;
 * - /readyz turns 503 when cassemdb is gone and 200 when it is back, while
 *   /healthz stays 200;
 * - every line adm writes to stderr is a JSON log record;
 * - with `--metrics-listen`, /metrics moves to that port.
 *
 * Runs in a process of its own (`scenario`) because of the Deno HTTP/2
 * runtime bug (tests/db/README.md).
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseLogLine } from "../../shared/log.ts";
import { parsePrometheusText } from "../../shared/metrics/mod.ts";
import { freePort, waitFor } from "../support/procs.ts";
import { withCluster } from "../db/_cluster.ts";
import { scenario } from "../db/_scenario.ts";
import { AdmProc } from "./_adm_proc.ts";

const PASSWORD = "observe-admin-password-1";
const ID = "obs-e2e-1";

scenario(
  import.meta.url,
  "a request id travels from adm to cassemdb and the oplog; adm's /metrics, /healthz, /readyz and JSON logs",
  async () => {
    await withCluster({ name: "adm-observe", logLevel: "debug" }, async (c) => {
      const [node] = await c.startFounders(1);
      const copies: AdmProc[] = [];
      try {
        const adm = await AdmProc.start(
          node!.clientAddr,
          { CASSEM_ADMIN_PASSWORD: PASSWORD },
          30_000,
          [
            "--log-level",
            "debug",
          ],
        );
        copies.push(adm);
        await adm.waitFor("stderr", (l) => /admin account|no account created/.test(l), 60_000);
        const login = await adm.request("POST", "/api/account/login", {
          body: { account: "admin", password: PASSWORD },
        });
        assert.equal(login.status, 200, JSON.stringify(login.body));
        const auth = { Authorization: `Bearer ${login.body.token}` };

        const created = await fetch(`${adm.url}/api/apps/obsapp`, {
          method: "POST",
          headers: { ...auth, "Content-Type": "application/json", "X-Request-Id": ID },
          body: "{}",
        });
        assert.equal(created.status, 201, await created.text());
        assert.equal(created.headers.get("X-Request-Id"), ID);
        for (let i = 0; i < 3; i++) {
          const r = await adm.request("GET", "/api/apps/obsapp", { token: login.body.token });
          assert.equal(r.status, 200);
        }

        // adm's log: the request's line carries the id.
        const admLine = await adm.waitFor("stderr", (l) => l.includes(ID), 10_000);
        assert.match(
          admLine,
          /DEBUG adm request .*method=POST path=\/api\/apps\/obsapp status=201/,
        );
        const raw = adm.rawStderr.find((l) => parseLogLine(l)?.requestId === ID);
        assert.ok(raw, "a JSON line with the request id");
        // cassemdb's log: the transaction that request committed.
        const dbLine = await waitFor(
          "cassemdb's line for the request",
          () =>
            c.linesOf(node!).find((l) =>
              l.includes(`requestId=${ID}`) && l.includes("method=/cassemdb.KV/Txn")
            ),
        );
        assert.match(dbLine, /DEBUG cassemdb\[1\] grpc call .*code=OK/);
        // The oplog entry.
        const oplog = await adm.request("GET", "/api/oplog?app=obsapp", {
          token: login.body.token,
        });
        assert.equal(oplog.status, 200);
        const entry = oplog.body.items.find((e: { operation: string }) =>
          e.operation === "app.create"
        );
        assert.equal(entry?.requestId, ID, JSON.stringify(oplog.body));

        // /metrics: what was done, by route pattern and status.
        const metrics = await fetch(`${adm.url}/metrics`);
        assert.equal(metrics.status, 200);
        const m = parsePrometheusText(await metrics.text());
        const req = (method: string, route: string, status: string) =>
          m.value("http_requests_total", { method, route, status });
        assert.equal(req("POST", "/api/apps/:app", "201"), 1);
        assert.equal(req("GET", "/api/apps/:app", "200"), 3);
        assert.equal(req("POST", "/api/account/login", "200"), 1);
        assert.ok(
          m.value("cassem_db_client_calls_total", { method: "commitTxn", code: "OK" }) >= 2,
        );
        assert.ok(m.value("cassemadm_txns_total", { outcome: "committed" }) >= 2);
        assert.ok(m.value("process_cpu_seconds_total") > 0);

        // Health follows cassemdb.
        const ready = async () => (await fetch(`${adm.url}/readyz`)).status;
        assert.equal(await ready(), 200);
        await c.kill(node!);
        await waitFor(
          "adm unready without cassemdb",
          async () => (await ready()) === 503 || undefined,
          {
            timeoutMs: 20_000,
          },
        );
        const body = await (await fetch(`${adm.url}/readyz`)).json();
        assert.match(body.checks.cassemdb, /^cassemdb did not answer a linearizable read/);
        assert.equal((await fetch(`${adm.url}/healthz`)).status, 200);
        // The API answers 503 with Retry-After and a JSON error, in bounded time, not a hang.
        const asked = performance.now();
        const down = await adm.request("GET", "/api/apps/obsapp", { token: login.body.token });
        const tookMs = performance.now() - asked;
        assert.equal(down.status, 503, JSON.stringify(down.body));
        assert.ok(Number(down.headers.get("Retry-After")) >= 1, "Retry-After in seconds");
        assert.equal(down.body.error.code, "unavailable");
        assert.match(down.body.error.message, /cassemdb/);
        assert.ok(tookMs < 15_000, `answered after ${Math.round(tookMs)} ms`);
        console.log(`API with cassemdb gone: 503 after ${Math.round(tookMs)} ms`);
        await c.restart(node!);
        await waitFor("adm ready again", async () => (await ready()) === 200 || undefined, {
          timeoutMs: 30_000,
        });
        await waitFor("the API serves again", async () => {
          const r = await adm.request("GET", "/api/apps/obsapp", { token: login.body.token });
          return r.status === 200 || undefined;
        }, { timeoutMs: 30_000 });

        // A copy with --metrics-listen serves /metrics there only.
        const port = freePort();
        const other = await AdmProc.start(node!.clientAddr, {}, 30_000, [
          "--metrics-listen",
          `127.0.0.1:${port}`,
        ]);
        copies.push(other);
        const onMain = await fetch(`${other.url}/metrics`);
        await onMain.body?.cancel();
        assert.equal(onMain.status, 404);
        const own = await fetch(`http://127.0.0.1:${port}/metrics`);
        assert.equal(own.status, 200);
        // The main port's traffic, counted: the /metrics it does not serve.
        assert.equal(
          parsePrometheusText(await own.text()).value("http_requests_total", {
            method: "GET",
            route: "unmatched",
            status: "404",
          }),
          1,
        );
        assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
      } finally {
        for (const p of copies) await p.stop();
      }
      const lines = copies[0]!.rawStderr.filter((l) => l !== "");
      assert.ok(lines.length >= 5, `adm logged ${lines.length} lines`);
      assert.deepEqual(
        lines.filter((l) => parseLogLine(l) === undefined),
        [],
        "every line is JSON",
      );
    });
  },
);
