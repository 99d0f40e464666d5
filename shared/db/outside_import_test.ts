import assert from "node:assert/strict";
import { inOutsideProject } from "../../tests/support/outside_project.ts";

/** The repository root. */
const ROOT = new URL("../../", import.meta.url);

const PROGRAM = `
import { DbClient, isUnavailable, MemoryDb, type KvClient } from "@cassem/cassem/db";

async function demo(db: KvClient): Promise<string> {
  const { revision } = await db.set("app/prod/timeout", "30s");
  const { entity } = await db.get("app/prod/timeout");
  return \`\${new TextDecoder().decode(entity!.val)} at \${revision}\`;
}

console.log(await demo(new MemoryDb()));
// The gRPC client loads its proto and talks gRPC from here too: a closed port is unavailable.
const client = new DbClient({ endpoints: ["127.0.0.1:1"], timeoutMs: 300 });
const err = await client.get("k").catch((e) => e);
console.log(isUnavailable(err) ? "unavailable" : \`unexpected: \${err}\`);
client.close();
`;

/** The example of db/README.md's "The client" section, which outside projects copy. */
function readmeExample(): string {
  const readme = Deno.readTextFileSync(new URL("db/README.md", ROOT));
  const section = readme.slice(readme.indexOf("## The client"));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code?.includes('from "@cassem/cassem/db"'), "db/README.md shows the import");
  return code!;
}

Deno.test("the client is importable from another Deno project through the package's ./db export", async () => {
  const runs = await inOutsideProject(
    { "main.ts": PROGRAM, "readme_example.ts": readmeExample() },
    [["check", "main.ts", "readme_example.ts"], ["run", "-A", "main.ts"]],
  );
  for (const r of runs) {
    assert.equal(r.code, 0, `deno ${r.args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  }
  assert.equal(runs[1]?.stdout, "30s at 1\nunavailable\n");
});
