import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";
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
