import assert from "node:assert/strict";

/** The repository root: its deno.json names the package and exports `./sdk`. */
const ROOT = new URL("../../", import.meta.url);

const PROGRAM = `
import { createClient, memoryCache, UnavailableError, type WatchUpdate } from "@cassem/cassem/sdk";

const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const dead = \`http://127.0.0.1:\${(l.addr as Deno.NetAddr).port}\`;
l.close();
const client = createClient({ agents: [dead], app: "shop", env: "prod", cache: memoryCache() });
const err = await client.get<{ ms: number }>("timeout").catch((e) => e);
console.log(err instanceof UnavailableError ? "unavailable" : \`unexpected: \${err}\`);
const seen: WatchUpdate<{ ms: number }>[] = [];
const w = client.watch<{ ms: number }>(["timeout"], (u) => seen.push(u), { onError: () => {} });
w.close();
await client.close();
console.log(seen.length);
`;

Deno.test("the SDK is importable from another Deno project through the package's ./sdk export", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cassem_outside_sdk_" });
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
    for (const args of [["check", "main.ts"], ["run", "-A", "main.ts"]]) {
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
      if (args[0] === "run") assert.equal(stdout, "unavailable\n0\n");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
