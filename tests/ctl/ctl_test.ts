/**
 * cassemctl as a user and a script run it, against a stack started with
 * `deno task start` (cassemdb, cassemadm, cassemagent as processes): log in
 * (the token in a 0600 file), create an app, envs and an element, edit it
 * in $EDITOR, diff, publish, gray release to a label (checked on the agent:
 * only that label gets it, and a labelled SSE stream is pushed each release
 * cassemadm makes), promote, roll back, four-eyes approval by a
 * second account, instances as the agent registered them, the oplog,
 * export and import --dry-run; every `--json` parses; each kind of failure
 * has its own exit code.
 */

import assert from "node:assert/strict";
import { freePort, waitFor } from "../support/procs.ts";
import { freePortBase, StackProc } from "../stack/_stack.ts";
import { SseWatcher } from "../agent/_clients.ts";
import { json, ok, runCtl } from "./_ctl.ts";

/** Generous: the machine may be loaded by other test suites. */
const SLOW = { timeoutMs: 30_000 };

/** What the agent serves `clientId` (with `labels`) for shop/prod/timeout: its version. */
async function served(agent: string, clientId: string, labels = ""): Promise<number | undefined> {
  const r = await fetch(`${agent}/v1/apps/shop/envs/prod/elements?keys=timeout`, {
    headers: { "x-cassem-client-id": clientId, ...(labels ? { "x-cassem-labels": labels } : {}) },
  });
  if (!r.ok) {
    await r.body?.cancel();
    return undefined;
  }
  const body = await r.json();
  return body.elements[0]?.version;
}

Deno.test({
  name: "cassemctl against a running stack: the whole release cycle, --json, exit codes",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "cassem-ctl-" });
    const stack = new StackProc(dir, ["--port-base", String(freePortBase())], {
      CASSEM_ADMIN_PASSWORD: "",
      CASSEM_SECRET_KEY: "",
    });
    const watchers: SseWatcher[] = [];
    try {
      const urls = await stack.urls();
      const password = await stack.password();
      const env = { CASSEM_CONFIG: `${dir}/ctl.json` };
      const o = { env };

      // Log in: the token is kept in a file only its owner reads; the server becomes the default.
      const login = await ok(["login", "--server", urls.adm, "--password-stdin"], {
        env,
        stdin: `${password}\n`,
      });
      assert.match(login, new RegExp(`^Logged in to ${urls.adm} as admin until `));
      assert.equal((await Deno.stat(`${dir}/ctl.json`)).mode! & 0o777, 0o600);
      assert.equal((await json(["whoami"], o)).account, "admin");

      await ok(["apps", "create", "shop", "--description", "the shop"], o);
      await ok(["envs", "create", "shop/prod"], o);
      await ok(["envs", "create", "shop/staging"], o);
      assert.deepEqual((await json(["apps", "ls"], o)).map((a: { id: string }) => a.id), ["shop"]);
      await Deno.writeTextFile(`${dir}/timeout.json`, '{"ms": 30}\n');
      await ok([
        "elements",
        "create",
        "shop/prod/timeout",
        "-f",
        `${dir}/timeout.json`,
        "--publish",
      ], o);

      // Edit in $EDITOR (a script here): a new version with exactly the saved text.
      await Deno.writeTextFile(`${dir}/editor.sh`, `#!/bin/sh\nprintf '{"ms": 45}\\n' > "$1"\n`);
      await Deno.chmod(`${dir}/editor.sh`, 0o755);
      const edit = await ok(["edit", "shop/prod/timeout", "--remark", "slower"], {
        env: { ...env, EDITOR: `${dir}/editor.sh` },
      });
      assert.equal(edit, "Saved shop/prod/timeout version 2: v1 live, v2 unpublished\n");
      const diff = await json(["diff", "shop/prod/timeout"], o);
      assert.deepEqual([diff.base, diff.compare], [1, 2]);
      assert.deepEqual(diff.structural.changed, [{ path: "/ms", base: 30, compare: 45 }]);
      const text = await ok(["diff", "shop/prod/timeout"], o);
      assert.match(text, /^-\{"ms": 30\}$/m);
      assert.match(text, /^\+\{"ms": 45\}$/m);

      // Pushes from the real cassemadm's releases, as a labelled client's SSE stream gets them.
      const eu = new SseWatcher(
        () => [urls.agentHttp],
        "/v1/apps/shop/envs/prod/watch?keys=timeout",
        { "x-cassem-client-id": "eu-1", "x-cassem-labels": "region=eu" },
      );
      watchers.push(eu);
      await waitFor(
        "the eu-1 stream's initial state",
        () => eu.readyCount > 0 || undefined,
        SLOW,
      );

      // v1 is live for everyone; v2 goes to region=eu only, as the agent serves it.
      const gray = await ok(["publish", "shop/prod/timeout", "--gray-labels", "region=eu"], o);
      assert.match(
        gray,
        /^Started a gray release of shop\/prod\/timeout v2 to labels region=eu: v1 live, v2 in gray release/,
      );
      await waitFor(
        "the agent to serve v2 to region=eu",
        async () => (await served(urls.agentHttp, "eu-1", "region=eu")) === 2 ? true : undefined,
        SLOW,
      );
      assert.equal(await served(urls.agentHttp, "us-1", "region=us"), 1);
      assert.equal(await served(urls.agentHttp, "nolabel"), 1);
      assert.match(
        await ok(["promote", "shop/prod/timeout"], o),
        /^Promoted shop\/prod\/timeout: v2 live$/m,
      );
      await waitFor(
        "the agent to serve v2 to everyone",
        async () => (await served(urls.agentHttp, "us-1", "region=us")) === 2 ? true : undefined,
        SLOW,
      );
      assert.match(
        await ok(["rollback", "shop/prod/timeout", "--version", "1", "--remark", "too slow"], o),
        /^Rolled shop\/prod\/timeout back to v1: v1 live$/m,
      );
      await waitFor(
        "the agent to serve v1 again",
        async () => (await served(urls.agentHttp, "us-1")) === 1 ? true : undefined,
        SLOW,
      );

      // The stream got v1, v2 by the gray release to its label, v2 again as live (not gray) by
      // the promotion, then v1 by the rollback.
      await waitFor(
        "the eu-1 stream to get the rollback",
        () => (eu.seen.get("timeout")?.length ?? 0) >= 4 || undefined,
        SLOW,
      );
      assert.deepEqual(eu.seen.get("timeout")!.map((x) => [x.version, x.raw]), [
        [1, '{"ms": 30}\n'],
        [2, '{"ms": 45}\n'],
        [2, '{"ms": 45}\n'],
        [1, '{"ms": 30}\n'],
      ]);

      // A gray release to one client id, aborted: that client goes back to the live version.
      await ok(["publish", "shop/prod/timeout", "--version", "2", "--gray-clients", "canary-1"], o);
      await waitFor(
        "the agent to serve v2 to canary-1",
        async () => (await served(urls.agentHttp, "canary-1")) === 2 ? true : undefined,
        SLOW,
      );
      assert.equal(await served(urls.agentHttp, "other-1"), 1);
      assert.match(
        await ok(["abort", "shop/prod/timeout"], o),
        /^Aborted the gray release of shop\/prod\/timeout: v1 live$/m,
      );
      await waitFor(
        "the agent to serve v1 to canary-1 again",
        async () => (await served(urls.agentHttp, "canary-1")) === 1 ? true : undefined,
        SLOW,
      );
      assert.equal((await runCtl(["abort", "shop/prod/timeout"], o)).code, 5); // nothing to abort

      // Four eyes: admin's publish becomes a request that another releaser approves.
      await ok(["envs", "update", "shop/prod", "--require-approval", "yes"], o);
      const token = (await json(["whoami"], o)) &&
        JSON.parse(await Deno.readTextFile(`${dir}/ctl.json`))
          .servers[urls.adm].token;
      const made = await fetch(`${urls.adm}/api/users/rel`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ password: "releaser-password-1" }),
      });
      assert.equal(made.status, 201, await made.text());
      await ok(["members", "set", "shop", "rel", "releaser"], o);
      const filed = await ok(["publish", "shop/prod/timeout", "--version", "2"], o);
      assert.match(filed, /requires approval: filed request [0-9a-f]+ \(publish v2\)/);
      const own = await runCtl(["approve", "shop/prod/timeout"], o);
      assert.notEqual(own.code, 0, "the author may not approve");
      const relEnv = { CASSEM_CONFIG: `${dir}/rel.json`, CASSEM_SERVER: urls.adm };
      await ok(["login", "--account", "rel", "--password-stdin"], {
        env: relEnv,
        stdin: "releaser-password-1",
      });
      const approved = await ok(["approve", "shop/prod/timeout", "--remark", "looks fine"], {
        env: relEnv,
      });
      assert.equal(approved, "Approved the publish of v2 by admin on shop/prod/timeout: v2 live\n");

      // Instances: what the agent registered for a client, and which version it runs.
      const reg = await fetch(`${urls.agentHttp}/v1/instances`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-cassem-client-id": "web-1",
          "x-cassem-labels": "region=eu",
        },
        body: JSON.stringify({
          watching: [{ app: "shop", env: "prod", keys: ["timeout"] }],
          running: [{
            app: "shop",
            env: "prod",
            key: "timeout",
            version: 2,
            fingerprint: "a".repeat(64),
            gray: false,
          }],
        }),
      });
      assert.equal(reg.status, 200, await reg.text());
      const instances = await json(["instances", "--app", "shop"], o);
      // eu-1: the agent registered the open SSE stream above; web-1 registered itself.
      assert.deepEqual(instances.items.map((i: { clientId: string }) => i.clientId), [
        "eu-1",
        "web-1",
      ]);
      assert.match(await ok(["instances"], o), /^web-1 .* region=eu .* shop\/prod\/timeout@v2$/m);
      assert.equal((await json(["instances", "web-1"], o)).labels.region, "eu");
      assert.equal((await json(["agents"], o)).items.length, 1);

      // The oplog, filtered; every change above is there with its operator.
      const log = await json(["oplog", "--app", "shop", "--key", "timeout", "--limit", "100"], o);
      const ops = log.items.map((e: { operation: string }) => e.operation);
      for (
        const op of [
          "element.create",
          "element.update",
          "element.approval.request",
          "element.approval.approve",
          "element.gray.start",
          "element.gray.promote",
          "element.rollback",
        ]
      ) {
        assert.ok(ops.includes(op), `${op} in ${ops.join(",")}`);
      }
      assert.ok(log.items.some((e: { operator: string }) => e.operator === "rel"));

      // Export, a dry run that writes nothing, then the import itself.
      await ok(["export", "shop/prod", "-o", `${dir}/bundle.json`], o);
      const dry = await json(["import", "shop/staging", `${dir}/bundle.json`, "--dry-run"], o);
      assert.deepEqual(dry.items.map((i: { key: string; action: string }) => [i.key, i.action]), [[
        "timeout",
        "create",
      ]]);
      assert.deepEqual((await json(["elements", "ls", "shop/staging"], o)).items, []);
      const applied = await json(["import", "shop/staging", `${dir}/bundle.json`], o);
      assert.deepEqual(applied.items, dry.items.map((i: object) => ({ ...i })));
      assert.equal(
        await ok(["elements", "get", "shop/staging/timeout", "--raw"], o),
        '{"ms": 45}\n',
      );

      // Each kind of failure, its exit code and one line on stderr.
      const free = freePort();
      await Deno.writeTextFile(`${dir}/bad.json`, '{"ms": }');
      const failures: [string[], number, Record<string, string>?][] = [
        [["apps", "create"], 2],
        [["apps", "ls"], 3, { CASSEM_TOKEN: "not-a-token" }],
        [["apps", "get", "nope"], 4],
        [["apps", "create", "shop"], 5],
        [["apps", "ls", "--server", `http://127.0.0.1:${free}`], 6, { CASSEM_TOKEN: "x" }],
        [["elements", "create", "shop/prod/bad", "-f", `${dir}/bad.json`], 7],
      ];
      for (const [args, code, extra] of failures) {
        const r = await runCtl(args, { env: { ...env, ...extra } });
        assert.equal(r.code, code, `${args.join(" ")}: ${r.err}`);
        assert.equal(r.out, "");
        assert.match(r.err, /^cassemctl: Cannot [^\n]+\n$/, r.err);
      }

      await ok(["logout"], o);
      assert.equal((await runCtl(["whoami"], o)).code, 3);
      assert.equal((await stack.stop()).code, 0, stack.output());
    } finally {
      for (const w of watchers) await w.stop();
      await stack.kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
