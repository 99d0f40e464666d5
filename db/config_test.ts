import assert from "node:assert/strict";
import { formatPeers, parseConfig } from "./config.ts";
import { FlagError } from "../shared/flags.ts";
import { InvalidArgumentError } from "../shared/store/mod.ts";

Deno.test("parseConfig refuses flags that name one node together with --cluster", () => {
  for (
    const flag of [
      "--id=2",
      "--dir=/tmp/x",
      "--listen=127.0.0.1:9",
      "--peers=1=a:1",
      "--http=127.0.0.1:9",
    ]
  ) {
    assert.throws(
      () => parseConfig(["--cluster", "3", flag]),
      (e) => e instanceof InvalidArgumentError && e.message.includes(flag.split("=")[0]!),
      flag,
    );
  }
});

Deno.test("parseConfig passes shared flags through --cluster and keeps them for one node", () => {
  const c = parseConfig(["--cluster", "3", "--cluster-port", "17021", "--log-level", "warn"]);
  assert.ok(c !== "help");
  assert.equal(c.cluster, 3);
  assert.equal(c.clusterPort, 17021);
  assert.equal(c.logLevel, "warn");
  const one = parseConfig(["--id", "2", "--dir", "/tmp/x"]);
  assert.ok(one !== "help");
  assert.equal(one.cluster, 0);
  assert.equal(one.dir, "/tmp/x");
});

Deno.test("parseConfig names an unknown flag or a missing value in one line that points to --help", () => {
  for (
    const [args, flag, why] of [
      [["--frobnicate"], "--frobnicate", "it is not a flag of deno task db"],
      [["--id"], "--id", "it needs a value"],
      [["--help=yes"], "--help", "it takes no value"],
      [["stray"], "stray", "takes no such argument"],
    ] as const
  ) {
    assert.throws(
      () => parseConfig([...args]),
      (e) =>
        e instanceof FlagError && e.flag === flag && e.message.includes(why) &&
        e.message.endsWith("see deno task db --help") && !e.message.includes("\n"),
      args.join(" "),
    );
  }
});

Deno.test("parseConfig takes --data-root only with --cluster, and --cluster-token only without", () => {
  const c = parseConfig(["--cluster", "3", "--data-root", "/tmp/root"]);
  assert.ok(c !== "help");
  assert.equal(c.dataRoot, "/tmp/root");
  assert.throws(
    () => parseConfig(["--data-root", "/tmp/root"]),
    (e) => e instanceof InvalidArgumentError && e.field === "--data-root",
  );
  assert.throws(
    () => parseConfig(["--cluster", "3", "--cluster-token", "t"]),
    (e) => e instanceof InvalidArgumentError && e.field === "--cluster-token",
  );
});

Deno.test("parseConfig records which membership flags were given", () => {
  const plain = parseConfig(["--peer-listen", "127.0.0.1:9"]);
  assert.ok(plain !== "help");
  assert.equal(plain.peersGiven, false);
  assert.equal(plain.clusterTokenGiven, false);
  assert.equal(plain.clusterToken, "");
  assert.equal(formatPeers(plain.peers), "1=127.0.0.1:9");
  assert.equal(plain.stopWithStdin, false);
  const given = parseConfig([
    "--id",
    "2",
    "--peers",
    "2=b:2,1=a:1",
    "--cluster-token",
    "blue",
    "--stop-with-stdin",
  ]);
  assert.ok(given !== "help");
  assert.equal(given.peersGiven, true);
  assert.equal(given.clusterToken, "blue");
  assert.equal(given.clusterTokenGiven, true);
  assert.equal(formatPeers(given.peers), "1=a:1,2=b:2");
  assert.equal(given.stopWithStdin, true);
});
