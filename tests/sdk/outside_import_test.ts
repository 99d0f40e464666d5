import assert from "node:assert/strict";
import { inOutsideProject } from "../support/outside_project.ts";

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
  const runs = await inOutsideProject({ "main.ts": PROGRAM }, [
    ["check", "main.ts"],
    ["run", "-A", "main.ts"],
  ]);
  for (const r of runs) {
    assert.equal(r.code, 0, `deno ${r.args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  }
  assert.equal(runs[1]?.stdout, "unavailable\n0\n");
});
