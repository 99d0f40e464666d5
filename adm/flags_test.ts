import assert from "node:assert/strict";
import { FlagError, parseAdmFlags } from "./flags.ts";

Deno.test("parseAdmFlags: the documented defaults, and every flag read", () => {
  const d = parseAdmFlags([]);
  assert.deepEqual(d.listen, { hostname: "127.0.0.1", port: 7061, text: "127.0.0.1:7061" });
  assert.deepEqual(d.db, ["127.0.0.1:7021"]);
  assert.equal(d.secretKeyFile, undefined);
  assert.equal(d.logLevel, "info");
  assert.equal(d.logFormat, "auto");
  assert.equal(d.metricsListen, undefined);
  assert.equal(d.help, false);
  const f = parseAdmFlags([
    "--listen",
    "[::1]:8000",
    "--db",
    "a:1, b:2 ,",
    "--secret-key-file",
    "/k",
    "--log-level",
    "debug",
    "--log-format",
    "json",
    "--metrics-listen",
    "127.0.0.2:9100",
  ]);
  assert.deepEqual(f.listen, { hostname: "::1", port: 8000, text: "[::1]:8000" });
  assert.deepEqual(f.db, ["a:1", "b:2"]);
  assert.equal(f.secretKeyFile, "/k");
  assert.equal(f.logLevel, "debug");
  assert.equal(f.logFormat, "json");
  assert.equal(f.metricsListen?.port, 9100);
  assert.equal(parseAdmFlags(["--help"]).help, true);
});

Deno.test("parseAdmFlags: each mistake is one FlagError naming the flag and the value", () => {
  const cases: [string[], RegExp][] = [
    [
      ["--nope"],
      /^Cannot accept --nope as it is not a flag of deno task adm: see deno task adm --help$/,
    ],
    [
      ["extra"],
      /^Cannot accept extra as deno task adm takes no such argument: see deno task adm --help$/,
    ],
    [["--listen"], /^Cannot accept --listen as it needs a value: see deno task adm --help$/],
    [["--listen", "7061"], /^Cannot use --listen as it must be HOST:PORT .*"7061"$/],
    [["--listen", "h:70000"], /^Cannot use --listen as .*port in 0\.\.65535/],
    [["--db", " , "], /^Cannot use --db as it needs at least one HOST:PORT/],
    [["--db", "a:1,b"], /^Cannot use --db as it must be HOST:PORT .*"b"$/],
    [["--log-level", "loud"], /^Cannot use --log-level as it must be one of .*"loud"$/],
    [["--log-format", "xml"], /^Cannot use --log-format as it must be one of .*"xml"$/],
    [["--metrics-listen", "x"], /^Cannot use --metrics-listen as it must be HOST:PORT/],
  ];
  for (const [args, want] of cases) {
    assert.throws(() => parseAdmFlags(args), (e: unknown) => {
      assert.ok(e instanceof FlagError, args.join(" "));
      assert.match(e.message, want, args.join(" "));
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});
