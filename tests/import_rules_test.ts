import assert from "node:assert/strict";
import { importRuleProblems, importsOf } from "./_import_rules.ts";

const SELF = { "@cassem/cassem/db": "./shared/db/mod.ts", "@cassem/cassem/sdk": "./sdk/mod.ts" };

Deno.test("import rules: shared/ importing from any app folder is reported, with file and line", () => {
  const cases: [file: string, source: string][] = [
    ["shared/a.ts", `import { x } from "../db/server/db_node.ts";`],
    ["shared/raft/a.ts", `import type { Y } from "../../adm/mod.ts";`],
    ["shared/db/a.ts", `export * from "../../agent/cache.ts";`],
    ["shared/x/y/a.ts", `const m = await import("../../../stack/main.ts");`],
    ["shared/a.ts", `import "../ctl/main.ts";`],
    ["shared/db/a_test.ts", `import { Sdk } from "@cassem/cassem/sdk";`],
    ["shared/a.ts", `import {\n  x,\n} from "../sdk/mod.ts";`],
  ];
  for (const [file, source] of cases) {
    const problems = importRuleProblems(file, source, SELF);
    assert.equal(problems.length, 1, `${file}: ${source} -> ${JSON.stringify(problems)}`);
    assert.match(problems[0]!, new RegExp(`^${file}:\\d+: imports (db|adm|agent|stack|ctl|sdk)/`));
  }
  assert.match(
    importRuleProblems("shared/a.ts", `import {\n  x,\n} from "../sdk/mod.ts";`)[0]!,
    /:3:/,
  );
});

Deno.test("import rules: shared/ importing shared/ (by relative path or the package name) passes", () => {
  const fine: [string, string][] = [
    ["shared/metrics/kv_client.ts", `import { DbError } from "../db/mod.ts";`],
    ["shared/db/client.ts", `import { grpc } from "../grpc.ts";`],
    ["shared/db/outside_import_test.ts", `import { DbClient } from "@cassem/cassem/db";`],
    ["shared/a.ts", `import { parseArgs } from "node:util";`],
    ["shared/a.ts", `// import { x } from "../db/server/db_node.ts";`],
    ["shared/a.ts", ` * import { x } from "../adm/mod.ts";`],
    ["db/server/a.ts", `import { DbNode } from "./db_node.ts";`],
  ];
  for (const [file, source] of fine) {
    assert.deepEqual(importRuleProblems(file, source, SELF), [], `${file}: ${source}`);
  }
});

Deno.test("import rules: db/ reaches the peer layer only through db/peer/mod.ts (tests may go deeper)", () => {
  assert.equal(
    importRuleProblems(
      "db/server/db_node.ts",
      `import { GrpcTransport } from "../peer/grpc_transport.ts";`,
    )
      .length,
    1,
  );
  assert.deepEqual(
    importRuleProblems("db/server/db_node.ts", `import { G } from "../peer/mod.ts";`),
    [],
  );
  assert.deepEqual(importRuleProblems("db/peer/mod.ts", `export * from "./codec.ts";`), []);
  assert.deepEqual(
    importRuleProblems("db/server/x_test.ts", `import { P } from "../peer/peer_health.ts";`),
    [],
  );
});

Deno.test("import rules: importsOf finds static, re-export, side-effect and dynamic imports", () => {
  const src = [
    `import a from "./a.ts";`,
    `import type { B } from "./b.ts";`,
    `export { c } from "./c.ts";`,
    `import "./d.ts";`,
    `const e = await import("./e.ts");`,
    `// import f from "./f.ts";`,
  ].join("\n");
  assert.deepEqual(importsOf(src).map((i) => [i.spec, i.line]), [
    ["./a.ts", 1],
    ["./b.ts", 2],
    ["./c.ts", 3],
    ["./d.ts", 4],
    ["./e.ts", 5],
  ]);
});

Deno.test("import rules: services import shared modules through their mod.ts (tests and browser code may go deeper)", () => {
  const bad: [string, string][] = [
    ["adm/routes/a.ts", `import { appKey } from "../../shared/config/keys.ts";`],
    ["agent/a.ts", `import { parseContent } from "../shared/content/parse_content.ts";`],
    ["db/server/a.ts", `import { Store } from "../../shared/store/store.ts";`],
    ["bench/a.ts", `export { x } from "../shared/metrics/registry.ts";`],
    ["stack/a.ts", `import { x } from "../shared/config/keys.ts";`],
    ["ctl/commands/a.ts", `import { x } from "../../shared/db/client.ts";`],
  ];
  for (const [file, source] of bad) {
    const problems = importRuleProblems(file, source, SELF);
    assert.equal(problems.length, 1, `${file}: ${source}`);
    assert.match(problems[0]!, /^\S+:1: imports shared\/\w+\/\S+ past shared\/\w+\/mod\.ts/);
  }
  const fine: [string, string][] = [
    ["adm/routes/a.ts", `import { appKey } from "../../shared/config/mod.ts";`],
    ["adm/routes/a_test.ts", `import { appKey } from "../../shared/config/keys.ts";`],
    [
      "adm/ui/client/v.ts",
      `import { parseContent } from "../../../shared/content/parse_content.ts";`,
    ],
    ["agent/a.ts", `import { splitHostPort } from "../shared/host_port.ts";`],
    ["sdk/element.ts", `import { x } from "../shared/content/parse_content.ts";`],
    ["shared/db/a.ts", `import { x } from "../config/keys.ts";`],
  ];
  for (const [file, source] of fine) {
    assert.deepEqual(importRuleProblems(file, source, SELF), [], `${file}: ${source}`);
  }
});
