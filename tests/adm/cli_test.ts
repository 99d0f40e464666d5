/**
 * cassemadm as a newcomer meets it: `--help`, a wrong flag, a port in use
 * and an unreadable key file each end in one line naming the flag (exit 2);
 * started before cassemdb, it serves at once, its API answers 503 with
 * `Retry-After` and a JSON error naming cassemdb, and once cassemdb is up
 * it creates the admin account and serves.
 *
 * Runs in a process of its own (`scenario`) because of the Deno HTTP/2
 * runtime bug (tests/db/README.md).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { withCluster } from "../db/_cluster.ts";
import { scenario } from "../db/_scenario.ts";
import { runToEnd, waitFor } from "../support/procs.ts";
import { AdmProc } from "./_adm_proc.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const PASSWORD = "cli-test-admin-password";

async function runAdm(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runToEnd(Deno.execPath(), ["run", "-A", "adm/main.ts", ...args], {
    cwd: REPO,
    timeoutMs: 60_000,
  });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

Deno.test("cassemadm's command line: --help, a wrong flag, a port in use, a missing key file: one line each", async () => {
  const help = await runAdm(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /--listen HOST:PORT/);
  assert.match(help.out, /CASSEM_ADMIN_PASSWORD/);
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    const cases: [string[], string | RegExp][] = [
      [
        ["--bogus"],
        "cassemadm: Cannot accept --bogus as it is not a flag of deno task adm: see deno task adm --help",
      ],
      [["--listen", "7061"], /^cassemadm: Cannot use --listen as it must be HOST:PORT/],
      [
        ["--listen", `127.0.0.1:${port}`, "--db", "127.0.0.1:1"],
        `cassemadm: Cannot listen on --listen 127.0.0.1:${port} as the address is in use`,
      ],
      [
        ["--listen", "127.0.0.1:0", "--secret-key-file", "/nonexistent/keys"],
        /^cassemadm: Cannot read --secret-key-file as "\/nonexistent\/keys" is unreadable/,
      ],
    ];
    for (const [args, want] of cases) {
      const r = await runAdm(args);
      assert.equal(r.code, 2, args.join(" "));
      // The last line says why it stopped; nothing before it is an error.
      const lines = r.err.trim().split("\n");
      const err = lines.at(-1)!;
      assert.ok(lines.slice(0, -1).every((l) => /"level":"info"/.test(l)), r.err);
      if (typeof want === "string") assert.equal(err, want);
      else assert.match(err, want);
    }
  } finally {
    taken.close();
  }
});

scenario(
  import.meta.url,
  "cassemadm started before cassemdb answers 503 with Retry-After, then bootstraps and serves once it is up",
  async () => {
    await withCluster({ name: "adm-before-db" }, async (c) => {
      const [node] = await c.startFounders(1);
      await c.kill(node!); // its address is known, nothing answers there
      const adm = await AdmProc.start(node!.clientAddr, { CASSEM_ADMIN_PASSWORD: PASSWORD });
      try {
        const login = () =>
          adm.request("POST", "/api/account/login", {
            body: { account: "admin", password: PASSWORD },
          });
        const down = await login();
        assert.equal(down.status, 503, JSON.stringify(down.body));
        assert.ok(Number(down.headers.get("Retry-After")) >= 1);
        assert.equal(down.body.error.code, "unavailable");
        assert.match(down.body.error.message, /cassemdb/);
        assert.equal((await fetch(`${adm.url}/readyz`)).status, 503);
        await adm.waitFor("stderr", (l) => /cannot reach cassemdb at .*retrying/.test(l), 30_000);

        await c.restart(node!);
        let last = "";
        const statuses = new Set<number>();
        const up = await waitFor("adm logs in once cassemdb is up", async () => {
          const r = await login();
          statuses.add(r.status);
          last = `${r.status} ${JSON.stringify(r.body)}`;
          return r.status === 200 ? r : undefined;
        }, { timeoutMs: 60_000 }).catch((e) => {
          // What adm said and answered last: the failure is otherwise silent about adm.
          console.error(`last login answer: ${last}\nadm stderr:\n${adm.stderr.join("\n")}`);
          throw e;
        });
        assert.equal(typeof up.body.token, "string");
        // Before the admin account exists a login is a 503, never a wrong password (401) that
        // would count toward the login limit (429 for a minute: seen in CI before the fix).
        assert.deepEqual([...statuses].filter((s) => s !== 503 && s !== 200), []);
        const me = await adm.request("GET", "/api/account/me", { token: up.body.token });
        assert.equal(me.status, 200);
        assert.equal(me.body.account, "admin");
      } finally {
        await adm.stop();
      }
    });
  },
);
