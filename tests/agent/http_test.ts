/**
 * What only a real process shows: the command line (an unknown flag, a bad
 * value, a port in use: one line naming it), bad input that Deno's HTTP
 * server sees before the app (huge query strings and headers), a
 * secret-protected app over the wire, and gray release over real HTTP:
 * ids, labels and a percentage over 10,000 client ids, then promote and
 * abort.
 */

import assert from "node:assert/strict";
import { grayBucket } from "../../shared/config/mod.ts";
import { AGENT_DENO_FLAGS } from "../../shared/runtime_flags.ts";
import { scenario } from "../db/_scenario.ts";
import { runToEnd } from "../support/procs.ts";
import { AgentProc, withAgents } from "./_agents.ts";

const E = "/v1/apps/shop/envs/prod";
const MAIN = new URL("../../agent/main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

async function runAgent(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runToEnd(Deno.execPath(), [
    "run",
    "-A",
    ...AGENT_DENO_FLAGS,
    "--config",
    CONFIG,
    MAIN,
    ...args,
  ], {
    timeoutMs: 60_000,
  });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

Deno.test("the command line: --help, an unknown flag, a bad value and a port in use each get one line", async () => {
  const help = await runAgent(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /--cache-entries N/);
  const cases: [string[], RegExp][] = [
    [
      ["--bogus"],
      /^Cannot accept --bogus as it is not a flag of deno task agent: see deno task agent --help$/,
    ],
    [
      ["--cache-entries", "0"],
      /^Cannot start cassemagent as --cache-entries must be an integer in \[1, /,
    ],
    [["--listen", "nohost"], /^Cannot start cassemagent as --listen must be HOST:PORT/],
    [["--cache-bytes", "12q"], /^Cannot start cassemagent as --cache-bytes must be a byte count/],
    [
      ["--log-level", "loud"],
      /^Cannot start cassemagent as --log-level must be debug, info, warn or error/,
    ],
  ];
  for (const [args, want] of cases) {
    const r = await runAgent(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.err.trim(), want);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
  }
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    const http = await runAgent(["--listen", `127.0.0.1:${port}`, "--db", "127.0.0.1:1"]);
    assert.equal(http.code, 2);
    assert.equal(
      http.err.trim(),
      `Cannot start cassemagent as --listen 127.0.0.1:${port} is in use`,
    );
    const grpc = await runAgent([
      "--listen",
      "127.0.0.1:0",
      "--grpc-listen",
      `127.0.0.1:${port}`,
      "--db",
      "127.0.0.1:1",
    ]);
    assert.equal(grpc.code, 2);
    assert.match(
      grpc.err,
      new RegExp(`Cannot start cassemagent as --grpc-listen 127.0.0.1:${port} is in use`),
    );
  } finally {
    taken.close();
  }
});

scenario(
  import.meta.url,
  "over real HTTP: huge query strings and headers, a wrong secret, gray release to exactly the chosen clients",
  async () => {
    await withAgents("http", async (w) => {
      await w.pub.appEnv("shop", "prod");
      await w.pub.appEnv("vault", "prod", "the-secret");
      await w.pub.publish("vault", "prod", "k", { version: 1, raw: "hidden" });
      await w.pub.publish("shop", "prod", "k", { version: 1, raw: "v1" });
      const a: AgentProc = await w.agent();

      // Huge query strings and headers: refused, never a crash; the agent serves on.
      for (const size of [20_000, 100_000, 1_000_000]) {
        const r = await fetch(`${a.url}${E}/elements?keys=${"a".repeat(size)}`).catch((e) =>
          e as Error
        );
        if (r instanceof Response) {
          assert.ok(
            r.status === 400 || r.status === 414 || r.status === 431,
            `${size}: ${r.status}`,
          );
          await r.body?.cancel();
        }
      }
      const bigHeader = await fetch(`${a.url}${E}/elements?keys=k`, {
        headers: { "x-cassem-labels": "a=".padEnd(50_000, "b") },
      }).catch((e) => e as Error);
      if (bigHeader instanceof Response) {
        assert.ok([400, 431].includes(bigHeader.status), String(bigHeader.status));
        await bigHeader.body?.cancel();
      }
      const ok = await fetch(`${a.url}${E}/elements?keys=k`);
      assert.equal(ok.status, 200, "still serving");
      await ok.body?.cancel();

      // A body of 9 KiB is cached deflated (the only body cached so far) and answered byte for byte, raw and as JSON.
      const big = Array.from({ length: 400 }, (_, i) => `key.${i} = value ${i} ✓`).join("\n");
      await w.pub.publish("shop", "prod", "big", { version: 1, raw: big });
      for (let i = 0; i < 3; i++) {
        const raw = await fetch(`${a.url}${E}/elements/big/raw`);
        assert.equal(await raw.text(), big);
        const el = await fetch(`${a.url}${E}/elements?keys=big`);
        assert.equal((await el.json()).elements[0].raw, big);
      }
      const metrics = await (await fetch(`${a.url}/metrics`)).text();
      const gauge = (name: string) =>
        Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics)?.[1]);
      assert.equal(gauge("cassemagent_cache_text_bytes"), new TextEncoder().encode(big).length);
      assert.ok(
        gauge("cassemagent_cache_bytes") < 8_000,
        "the cached 9 KiB take less than 8,000 B",
      );

      // A secret-protected app refuses a missing or wrong secret and reveals nothing.
      for (
        const [secret, status] of [[undefined, 401], ["nope", 403], ["the-secret", 200]] as const
      ) {
        const r = await fetch(`http://${a.http}/v1/apps/vault/envs/prod/elements/k/raw`, {
          headers: secret ? { "x-cassem-secret": secret } : {},
        });
        const text = await r.text();
        assert.equal(r.status, status, text);
        assert.equal(text.includes("hidden"), status === 200);
      }

      // Gray: 10% of 10,000 client ids, exactly those whose bucket is below 1,000. Each read
      // names the revision of the last write (X-Cassem-Min-Revision): no sleeps.
      let rev = await w.pub.gray("shop", "prod", "k", { version: 2, raw: "v2" }, {
        kind: "percentage",
        percent: 10,
      });
      const ids = Array.from({ length: 10_000 }, (_, i) => `client-${i}`);
      const versionOf = async (id: string, labels?: string) => {
        const r = await fetch(`${a.url}${E}/elements?keys=k`, {
          headers: {
            "x-cassem-client-id": id,
            "x-cassem-min-revision": String(rev),
            ...(labels ? { "x-cassem-labels": labels } : {}),
          },
        });
        return (await r.json()).elements[0].version as number;
      };
      let gray = 0;
      for (let i = 0; i < ids.length; i += 32) {
        const batch = ids.slice(i, i + 32);
        const got = await Promise.all(batch.map((id) => versionOf(id)));
        got.forEach((v, j) => {
          const want =
            grayBucket({ app: "shop", env: "prod", key: "k", clientId: batch[j]! }) < 1_000;
          assert.equal(v === 2, want, batch[j]!);
          if (v === 2) gray++;
        });
      }
      // Binomial(10,000, 0.1): σ = 30; ±150 is 5σ.
      assert.ok(Math.abs(gray - 1_000) <= 150, `${gray} of 10,000`);

      rev = await w.pub.gray("shop", "prod", "k", { version: 3, raw: "v3" }, {
        kind: "clients",
        clientIds: ["client-1", "client-2"],
      });
      await w.pub.publish("shop", "prod", "other", { version: 1, raw: "x" }); // a later revision to wait on
      assert.deepEqual(
        await Promise.all(["client-1", "client-2", "client-3"].map((id) => versionOf(id))),
        [3, 3, 1],
      );
      rev = await w.pub.gray("shop", "prod", "k", { version: 4, raw: "v4" }, {
        kind: "labels",
        selector: { tier: "canary" },
      });
      assert.deepEqual(
        [
          await versionOf("client-1"),
          await versionOf("client-1", "tier=canary"),
          await versionOf("x", "tier=canary,zone=b"),
        ],
        [1, 4, 4],
      );
      rev = await w.pub.promote("shop", "prod", "k");
      assert.deepEqual([await versionOf("client-1"), await versionOf("client-1", "tier=canary")], [
        4,
        4,
      ]);
      rev = await w.pub.gray("shop", "prod", "k", { version: 5, raw: "v5" }, {
        kind: "clients",
        clientIds: ["client-9"],
      });
      assert.equal(await versionOf("client-9"), 5);
      rev = await w.pub.abort("shop", "prod", "k");
      assert.deepEqual([await versionOf("client-9"), await versionOf("client-8")], [4, 4]);
    });
  },
  { timeoutMs: 240_000 },
);
