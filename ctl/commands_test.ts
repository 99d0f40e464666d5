/**
 * cassemctl's commands end to end against cassemadm in the same process
 * (`createTestAdm` on MemoryDb, requests through `app.request`): what each
 * prints, as a table and with `--json`, and its exit code.
 */

import assert from "node:assert/strict";
import { createTestAdm, TEST_PASSWORD, type TestAdm } from "../adm/testing.ts";
import { ctl, type MemoryIoOptions } from "./_test_io.ts";

const SERVER = "http://adm.test:7061";

async function setup(): Promise<
  { t: TestAdm; dir: string; opts: (o?: MemoryIoOptions) => MemoryIoOptions }
> {
  const t = await createTestAdm();
  const dir = await Deno.makeTempDir({ prefix: "cassemctl-test-" });
  const opts = (o: MemoryIoOptions = {}): MemoryIoOptions => ({
    fetch: (r) => t.app.request(r),
    ...o,
    env: {
      CASSEM_CONFIG: `${dir}/ctl.json`,
      CASSEM_SERVER: SERVER,
      CASSEM_TOKEN: t.adminToken,
      ...o.env,
    },
  });
  return { t, dir, opts };
}

Deno.test("login keeps the token in a 0600 file per server; whoami and logout use it", async () => {
  const { dir, opts } = await setup();
  const noToken = (o: MemoryIoOptions = {}) => opts({ ...o, env: { CASSEM_TOKEN: "", ...o.env } });
  try {
    const wrong = await ctl(["login", "--password-stdin"], noToken({ stdin: "nope\n" }));
    assert.equal(wrong.code, 3);
    assert.equal(wrong.err, "cassemctl: Cannot log in as the account or the password is wrong\n");
    const noPassword = await ctl(["login"], noToken());
    assert.equal(noPassword.code, 2);
    assert.match(noPassword.err, /pipe it with --password-stdin, or set CASSEM_PASSWORD/);

    const ok = await ctl(["login", "--password-stdin"], noToken({ stdin: `${TEST_PASSWORD}\n` }));
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, new RegExp(`^Logged in to ${SERVER} as admin until `));
    const file = `${dir}/ctl.json`;
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const saved = JSON.parse(await Deno.readTextFile(file));
    assert.equal(saved.current, SERVER);
    assert.equal(saved.servers[SERVER].account, "admin");
    assert.match(saved.servers[SERVER].token, /\S{20,}/);

    // No CASSEM_SERVER: the saved current server and its token are used.
    const me = await ctl(["whoami", "--json"], noToken({ env: { CASSEM_SERVER: "" } }));
    assert.equal(me.code, 0, me.err);
    assert.equal(JSON.parse(me.out).account, "admin");
    // A prompt on a terminal works too (the password is never a flag).
    const prompted = await ctl(["login"], noToken({ tty: true, answers: [TEST_PASSWORD] }));
    assert.equal(prompted.code, 0, prompted.err);

    const out = await ctl(["logout"], noToken());
    assert.equal(out.code, 0, out.err);
    assert.equal(JSON.parse(await Deno.readTextFile(file)).servers[SERVER], undefined);
    const after = await ctl(["whoami"], noToken());
    assert.equal(after.code, 3);
    assert.match(
      after.err,
      /you are not logged in to http:\/\/adm\.test:7061: run cassemctl login/,
    );

    // A file others may read is used, with a warning.
    await Deno.chmod(file, 0o644);
    const warned = await ctl(["whoami"], noToken());
    assert.equal(warned.code, 3);
    assert.match(
      warned.err,
      /warning: the config file .* may be read by others \(mode 644\).*chmod 600/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("apps and envs: create, list (table and JSON), update, remove with confirmation", async () => {
  const { dir, opts } = await setup();
  try {
    assert.equal(
      (await ctl(["apps", "create", "shop", "--description", "the shop"], opts())).code,
      0,
    );
    const dup = await ctl(["apps", "create", "shop"], opts());
    assert.deepEqual([dup.code, dup.err], [
      5,
      "cassemctl: Cannot create app shop as it already exists\n",
    ]);
    const ls = await ctl(["apps", "ls"], opts());
    assert.equal(ls.out.split("\n")[0], "APP   STATUS  OWNER  UPDATED               DESCRIPTION");
    assert.equal(ls.out.split("\n")[1], "shop  active  admin  2025-01-01 00:00:00Z  the shop");
    const json = JSON.parse((await ctl(["apps", "ls", "--json"], opts())).out);
    assert.equal(json[0].id, "shop");

    const env = await ctl(
      ["envs", "create", "shop/prod", "--require-approval", "--client-secret"],
      opts(),
    );
    assert.equal(env.code, 0, env.err);
    assert.match(
      env.out,
      /Client secret \(shown once; clients send it as X-Cassem-Secret\): \S{16,}/,
    );
    const envs = await ctl(["envs", "ls", "shop", "--json"], opts());
    assert.deepEqual(
      JSON.parse(envs.out).items.map((
        e: { env: string; requireApproval: boolean },
      ) => [e.env, e.requireApproval]),
      [["prod", true]],
    );
    const upd = await ctl(["envs", "update", "shop/prod", "--require-approval", "no"], opts());
    assert.equal(upd.code, 0, upd.err);
    assert.equal(
      JSON.parse((await ctl(["envs", "get", "shop/prod", "--json"], opts())).out).requireApproval,
      false,
    );
    const bad = await ctl(["envs", "update", "shop/prod", "--require-approval", "maybe"], opts());
    assert.equal(bad.code, 2);

    // A stale ETag is a conflict (exit 5).
    const stale = await ctl(
      ["apps", "update", "shop", "--description", "x", "--if-match", '"r1"'],
      opts(),
    );
    assert.equal(stale.code, 5, stale.err);

    // Removing needs --yes when nobody can be asked, or the name typed on a terminal.
    const refused = await ctl(["envs", "rm", "shop/prod"], opts());
    assert.equal(refused.code, 2);
    assert.match(refused.err, /without --yes as stdin is not a terminal/);
    const wrongName = await ctl(
      ["envs", "rm", "shop/prod"],
      opts({ tty: true, answers: ["prod"] }),
    );
    assert.equal(wrongName.code, 2);
    const typed = await ctl(
      ["envs", "rm", "shop/prod"],
      opts({ tty: true, answers: ["shop/prod"] }),
    );
    assert.equal(typed.code, 0, typed.err);
    assert.equal((await ctl(["envs", "get", "shop/prod"], opts())).code, 4);
    assert.equal((await ctl(["apps", "rm", "shop", "--yes"], opts())).code, 0);
    assert.equal((await ctl(["apps", "get", "shop"], opts())).code, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("elements: create from a file, edit in $EDITOR and from a file, diff, versions, raw byte for byte", async () => {
  const { t, dir, opts } = await setup();
  try {
    await t.createTestApp("shop");
    assert.equal((await ctl(["envs", "create", "shop/prod"], opts())).code, 0);
    const file = `${dir}/timeout.json`;
    await Deno.writeTextFile(file, '{ "ms": 30 }\n');
    const created = await ctl(
      ["elements", "create", "shop/prod/timeout", "-f", file, "--publish"],
      opts(),
    );
    assert.equal(created.code, 0, created.err);
    assert.equal(created.out, "Created shop/prod/timeout (json) version 1, live\n");
    // The type comes from the extension, else --type is needed.
    await Deno.writeTextFile(`${dir}/notes`, "hello");
    const noType = await ctl(
      ["elements", "create", "shop/prod/notes", "-f", `${dir}/notes`],
      opts(),
    );
    assert.equal(noType.code, 2);
    assert.match(noType.err, /pass --type \(json, yaml, toml, ini, properties, plaintext\)/);

    // $EDITOR: an unchanged text saves nothing; a changed one is a new version.
    const same = await ctl(["edit", "shop/prod/timeout"], opts({ tty: true }));
    assert.deepEqual([same.code, same.out], [0, "No change to shop/prod/timeout: nothing saved\n"]);
    const edited = await ctl(
      ["edit", "shop/prod/timeout", "--remark", "slower"],
      opts({
        tty: true,
        editor: async (f) => {
          assert.equal(await Deno.readTextFile(f), '{ "ms": 30 }\n');
          assert.equal((await Deno.stat(f)).mode! & 0o777, 0o600);
          await Deno.writeTextFile(f, '{ "ms": 45,\n  "retries": 3 }\n');
          return 0;
        },
      }),
    );
    assert.equal(edited.code, 0, edited.err);
    assert.equal(edited.out, "Saved shop/prod/timeout version 2: v1 live, v2 unpublished\n");
    // Refused while v2 is unpublished, before any editor opens.
    let opened = false;
    const pending = await ctl(
      ["edit", "shop/prod/timeout"],
      opts({ tty: true, editor: () => ((opened = true), 0) }),
    );
    assert.equal(pending.code, 5);
    assert.equal(opened, false);

    const diff = await ctl(["diff", "shop/prod/timeout"], opts());
    assert.equal(diff.code, 0, diff.err);
    assert.match(diff.out, /^-\{ "ms": 30 \}$/m);
    assert.match(diff.out, /^\+\{ "ms": 45,$/m);
    assert.match(diff.out, /^ {2}\+ \/retries = 3$/m);
    assert.match(diff.out, /^ {2}~ \/ms: 30 → 45$/m);
    const diffJson = JSON.parse((await ctl(["diff", "shop/prod/timeout", "--json"], opts())).out);
    assert.deepEqual([diffJson.base, diffJson.compare], [1, 2]);

    const versions = JSON.parse(
      (await ctl(["elements", "versions", "shop/prod/timeout", "--json"], opts())).out,
    );
    assert.deepEqual(
      versions.items.map((v: { version: number; live: boolean }) => [v.version, v.live]),
      [
        [1, true],
        [2, false],
      ],
    );
    const raw = await ctl(
      ["elements", "get", "shop/prod/timeout", "--version", "2", "--raw"],
      opts(),
    );
    assert.equal(raw.out, '{ "ms": 45,\n  "retries": 3 }\n');

    // Bad content: exit 7, the line and column named; the edit is kept in a file to fix.
    assert.equal((await ctl(["publish", "shop/prod/timeout"], opts())).code, 0);
    const bad = await ctl(
      ["edit", "shop/prod/timeout"],
      opts({
        tty: true,
        editor: async (f) => (await Deno.writeTextFile(f, '{ "ms": }'), 0),
      }),
    );
    assert.equal(bad.code, 7);
    assert.match(bad.err, /line 1, column 9/);
    const kept = /your edit is kept in (\S+): fix it/.exec(bad.err)?.[1];
    assert.ok(kept, bad.err);
    assert.equal(await Deno.readTextFile(kept), '{ "ms": }');
    await Deno.remove(kept.replace(/\/[^/]+$/, ""), { recursive: true });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("releases: publish, gray by labels and percent, widen, promote, abort, rollback, approvals", async () => {
  const { t, dir, opts } = await setup();
  try {
    await t.createTestApp("shop");
    await ctl(["envs", "create", "shop/prod"], opts());
    const f = `${dir}/a.yaml`;
    await Deno.writeTextFile(f, "a: 1\n");
    await ctl(["elements", "create", "shop/prod/a", "-f", f], opts());
    const pub = await ctl(["publish", "shop/prod/a"], opts());
    assert.equal(pub.out, "Published shop/prod/a v1: v1 live\n");
    for (const n of [2, 3]) {
      await Deno.writeTextFile(f, `a: ${n}\n`);
      await ctl(["edit", "shop/prod/a", "-f", f], opts());
      if (n === 2) await ctl(["publish", "shop/prod/a"], opts());
    }
    const both = await ctl([
      "publish",
      "shop/prod/a",
      "--gray-labels",
      "a=b",
      "--gray-percent",
      "5",
    ], opts());
    assert.equal(both.code, 2);
    const gray = await ctl(
      ["publish", "shop/prod/a", "--gray-labels", "region=eu,tier=canary"],
      opts(),
    );
    assert.equal(gray.code, 0, gray.err);
    assert.equal(
      gray.out,
      "Started a gray release of shop/prod/a v3 to labels region=eu,tier=canary: v2 live, v3 in gray release, v3 unpublished\n",
    );
    const shown = JSON.parse((await ctl(["gray", "shop/prod/a", "--json"], opts())).out);
    assert.deepEqual(shown.rule, { kind: "labels", selector: { region: "eu", tier: "canary" } });
    const widened = await ctl(["gray", "shop/prod/a", "--gray-percent", "25"], opts());
    assert.equal(widened.code, 0, widened.err);
    assert.deepEqual(
      JSON.parse((await ctl(["gray", "shop/prod/a", "--json"], opts())).out).rule,
      { kind: "percentage", percent: 25 },
    );
    const aborted = await ctl(["abort", "shop/prod/a"], opts());
    assert.equal(aborted.out, "Aborted the gray release of shop/prod/a: v2 live, v3 unpublished\n");
    assert.equal((await ctl(["gray", "shop/prod/a"], opts())).code, 4);
    await ctl(["publish", "shop/prod/a", "--gray-clients", "c1,c2"], opts());
    const promoted = await ctl(["promote", "shop/prod/a"], opts());
    assert.equal(promoted.out, "Promoted shop/prod/a: v3 live\n");
    const noVersion = await ctl(["rollback", "shop/prod/a"], opts());
    assert.equal(noVersion.code, 2);
    const back = await ctl(["rollback", "shop/prod/a", "--version", "1"], opts());
    assert.equal(back.out, "Rolled shop/prod/a back to v1: v1 live\n");

    // Four eyes: a publish files a request; its author may not approve it, another releaser may.
    await ctl(["envs", "update", "shop/prod", "--require-approval", "yes"], opts());
    const rel = await t.userWithRoles("rel", { shop: ["releaser"] });
    const asked = await ctl(["publish", "shop/prod/a", "--version", "3"], opts());
    assert.match(
      asked.out,
      /requires approval: filed request [0-9a-f]+ \(publish v3\); another releaser approves it/,
    );
    const list = JSON.parse((await ctl(["approvals", "shop/prod", "--json"], opts())).out);
    assert.equal(list.items.length, 1);
    const self = await ctl(["approve", "shop/prod/a"], opts());
    assert.notEqual(self.code, 0);
    const approved = await ctl(["approve", "shop/prod/a"], opts({ env: { CASSEM_TOKEN: rel } }));
    assert.equal(approved.code, 0, approved.err);
    assert.equal(approved.out, "Approved the publish of v3 by admin on shop/prod/a: v3 live\n");
    const none = await ctl(["approve", "shop/prod/a"], opts({ env: { CASSEM_TOKEN: rel } }));
    assert.equal(none.code, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export and import --dry-run into another env, oplog filters, members and tokens", async () => {
  const { t, dir, opts } = await setup();
  try {
    await t.createTestApp("shop");
    await ctl(["envs", "create", "shop/staging"], opts());
    await ctl(["envs", "create", "shop/prod"], opts());
    await Deno.writeTextFile(`${dir}/x.properties`, "a=1\n");
    await ctl(
      ["elements", "create", "shop/staging/x", "-f", `${dir}/x.properties`, "--publish"],
      opts(),
    );
    const exp = await ctl(["export", "shop/staging", "-o", `${dir}/b.json`], opts());
    assert.equal(exp.out, `Exported 1 elements of shop/staging to ${dir}/b.json\n`);
    const dry = await ctl(["import", "shop/prod", `${dir}/b.json`, "--dry-run", "--json"], opts());
    assert.equal(dry.code, 0, dry.err);
    const plan = JSON.parse(dry.out);
    assert.equal(plan.dryRun, true);
    assert.deepEqual(plan.items.map((i: { key: string; action: string }) => [i.key, i.action]), [[
      "x",
      "create",
    ]]);
    assert.equal(
      (await ctl(["elements", "ls", "shop/prod", "--json"], opts())).out.includes('"x"'),
      false,
    );
    const done = await ctl(["import", "shop/prod", `${dir}/b.json`], opts());
    assert.match(done.out, /^Imported shop\/staging into shop\/prod:\nKEY +ACTION/);
    const real = JSON.parse(
      (await ctl(["import", "shop/prod", `${dir}/b.json`, "--dry-run", "--json"], opts())).out,
    );
    assert.deepEqual(real.items.map((i: { action: string }) => i.action), ["unchanged"]);

    const log = JSON.parse(
      (await ctl(["oplog", "--app", "shop", "--operation", "element.*", "--json"], opts())).out,
    );
    assert.deepEqual(log.items.map((e: { operation: string }) => e.operation), ["element.create"]);
    assert.ok(
      log.items.every((e: { app: string; env: string }) => e.app === "shop" && e.env === "staging"),
    );
    const imports = JSON.parse(
      (await ctl(["oplog", "--operation", "env.import", "--json"], opts())).out,
    );
    assert.deepEqual(imports.items.map((e: { env: string }) => e.env), ["prod"]);
    const limited = JSON.parse((await ctl(["oplog", "-n", "1", "--json"], opts())).out);
    assert.equal(limited.items.length, 1);

    await t.userWithRoles("dev");
    assert.equal(
      (await ctl(["members", "set", "shop", "dev", "developer,releaser"], opts())).code,
      0,
    );
    const members = await ctl(["members", "ls", "shop"], opts());
    assert.match(members.out, /^dev +developer,releaser /m);
    const tok = await ctl(
      ["tokens", "create", "shop", "ci", "--role", "releaser", "--json"],
      opts(),
    );
    const token = JSON.parse(tok.out);
    assert.match(token.token, /\S{20,}/);
    const asToken = await ctl(["whoami"], opts({ env: { CASSEM_TOKEN: token.token } }));
    assert.match(asToken.out, /^api token: +ci /m);
    assert.equal((await ctl(["tokens", "rm", "shop", token.id], opts())).code, 0);
    assert.equal((await ctl(["whoami"], opts({ env: { CASSEM_TOKEN: token.token } }))).code, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server out of reach is exit 6, naming the address", async () => {
  const r = await ctl(["login", "--password-stdin", "--server", "127.0.0.1:9"], {
    stdin: "x\n",
    env: { CASSEM_CONFIG: "/nonexistent/ctl.json" },
  });
  assert.equal(r.code, 6);
  assert.equal(
    r.err,
    "cassemctl: Cannot reach cassemadm at http://127.0.0.1:9 as Connection refused (os error 111): is it running? (deno task start; or pass --server)\n",
  );
});
