import assert from "node:assert/strict";

/** The repository root: its deno.json names the package and exports `./db`. */
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
  const dir = await Deno.makeTempDir({ prefix: "cassem_outside_" });
  try {
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({
        imports: { "@cassem/cassem": "jsr:@cassem/cassem@^0.1.0" },
        // A local package instead of the registry: its own deno.json resolves its dependencies.
        links: [ROOT.pathname],
      }),
    );
    await Deno.writeTextFile(`${dir}/main.ts`, PROGRAM);
    await Deno.writeTextFile(`${dir}/readme_example.ts`, readmeExample());
    for (
      const args of [["check", "main.ts", "readme_example.ts"], ["run", "-A", "main.ts"]]
    ) {
      const out = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `deno ${args.join(" ")} failed:\n${stdout}\n${stderr}`);
      if (args[0] === "run") assert.equal(stdout, "30s at 1\nunavailable\n");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
