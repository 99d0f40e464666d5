import assert from "node:assert/strict";
import { defaultAgentId, FlagError, parseFlags } from "./flags.ts";

Deno.test("parseFlags: defaults, sizes with suffixes, grpc off", () => {
  const c = parseFlags([]);
  assert.ok(c !== "help");
  assert.deepEqual(c.listen, { hostname: "127.0.0.1", port: 7081 });
  assert.deepEqual(c.grpcListen, { hostname: "127.0.0.1", port: 7082 });
  assert.deepEqual(c.db, ["127.0.0.1:7021"]);
  assert.equal(c.cacheBytes, 256 * 1024 * 1024);
  assert.equal(c.cacheK, 2);
  assert.equal(c.cacheCompressMinBytes, 512);
  const d = parseFlags([
    "--cache-bytes",
    "64k",
    "--grpc-listen",
    "off",
    "--db",
    "a:1, b:2",
    "--id",
    "edge-1",
    "--cache-compress-min",
    "0",
  ]);
  assert.ok(d !== "help");
  assert.equal(d.cacheBytes, 65_536);
  assert.equal(d.grpcListen, null);
  assert.deepEqual(d.db, ["a:1", "b:2"]);
  assert.equal(d.id, "edge-1");
  assert.equal(d.cacheCompressMinBytes, 0);
  assert.equal(parseFlags(["--help"]), "help");
});

Deno.test("parseFlags names the flag at fault", () => {
  const cases: [string[], RegExp][] = [
    [
      ["--nope"],
      /^Cannot accept --nope as it is not a flag of deno task agent: see deno task agent --help$/,
    ],
    [["--listen"], /^Cannot accept --listen as it needs a value: see deno task agent --help$/],
    [["--help=1"], /^Cannot accept --help as it takes no value: see deno task agent --help$/],
    [["--listen", "127.0.0.1:99999"], /--listen must be HOST:PORT/],
    [["--db", ""], /--db must name at least one endpoint/],
    [["--cache-k", "9"], /--cache-k must be an integer in \[1, 8\]/],
    [
      ["--cache-compress-min", "1k"],
      /--cache-compress-min must be an integer in \[0, 1073741824\]/,
    ],
    [["--id", "has space"], /--id must be/],
    [["--stream-buffer", "10"], /--stream-buffer must be a byte count of at least 1024/],
  ];
  for (const [args, want] of cases) {
    assert.throws(
      () => parseFlags(args),
      (e: Error) => e instanceof FlagError && want.test(e.message),
      args.join(" "),
    );
  }
});

Deno.test("defaultAgentId makes a valid id of any host name", () => {
  assert.equal(defaultAgentId("web-1.example.com", 7081), "web-1.example.com:7081");
  assert.equal(defaultAgentId("_weird host!", 80), "weird-host-:80");
});
