import assert from "node:assert/strict";
import { ctl } from "./_test_io.ts";
import { COMMANDS } from "./commands/mod.ts";

Deno.test("--help: the overview names every command; every command has its own help with its flags", async () => {
  const top = await ctl(["--help"]);
  assert.equal(top.code, 0);
  for (const c of COMMANDS) {
    assert.match(
      top.out,
      new RegExp(`^ {2}${c.path.join(" ")} +${c.summary.replace(/[()$.*+?[\]]/g, "\\$&")}$`, "m"),
    );
    const own = await ctl([...c.path, "--help"]);
    assert.equal(own.code, 0, `${c.path.join(" ")} --help`);
    assert.ok(own.out.startsWith(`cassemctl ${c.path.join(" ")}: ${c.summary}\n`));
    for (const flag of Object.keys(c.flags)) assert.match(own.out, new RegExp(`--${flag}\\b`));
    assert.match(own.out, c.db ? /--endpoints HOST:PORT/ : /--server URL/);
    assert.match(own.out, /^exit codes:$/m);
  }
  assert.equal((await ctl([])).out, top.out);
  const group = await ctl(["db", "--help"]);
  assert.match(group.out, /^cassemctl db: 11 commands$/m);
});

Deno.test("a mistake on the command line is one line on stderr and exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["frob"],
      /^cassemctl: Cannot run "frob" as it is not a cassemctl command: see cassemctl --help$/,
    ],
    [
      ["apps", "frob"],
      /^cassemctl: Cannot run cassemctl apps "frob" as it is not a command of apps \(ls, get, create, update, rm\)/,
    ],
    [
      ["apps", "ls", "--frob"],
      /^cassemctl: Cannot accept --frob as it is not a flag of cassemctl apps ls/,
    ],
    [
      ["apps", "get"],
      /^cassemctl: Cannot run cassemctl apps get as it takes 1 argument \(APP\): current count is 0/,
    ],
    [
      ["apps", "get", "Shop"],
      /^cassemctl: Cannot use APP as an app id must be .*current value is "Shop"$/,
    ],
    [["envs", "get", "shop"], /^cassemctl: Cannot use "shop" as APP\/ENV as it has 1 part, not 2/],
    [["elements", "get", "a/b/c/d"], /as it has 4 parts, not 3/],
    [
      ["elements", "get", "a/b/c", "--version", "x"],
      /^cassemctl: Cannot accept --version as it must be an integer/,
    ],
    [
      ["db", "get", "k", "--endpoints", "nope"],
      /^cassemctl: Cannot accept --endpoints as each must be HOST:PORT/,
    ],
    [
      ["db", "remove-node", "x"],
      /^cassemctl: Cannot remove node "x" as ID must be a positive integer$/,
    ],
    [
      ["publish", "a/b/c", "--gray-labels", "bad"],
      /^cassemctl: Cannot accept --gray-labels as each item must be name=value/,
    ],
  ];
  for (const [args, want] of cases) {
    const r = await ctl(args, {
      env: { CASSEM_CONFIG: "/nonexistent/ctl.json", CASSEM_TOKEN: "t" },
    });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err.trimEnd(), want);
    assert.equal(r.err.split("\n").length, 2, r.err);
    assert.equal(r.out, "");
  }
});
