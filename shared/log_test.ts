import assert from "node:assert/strict";
import {
  createLogger,
  formatLogRecord,
  logLineAsText,
  parseLogLine,
  resolveLogFormat,
} from "./log.ts";
import { currentRequestId, withRequestId } from "./request_context.ts";

function capture(format: "json" | "text", level: "debug" | "info" | "warn" | "error" = "debug") {
  const lines: string[] = [];
  const log = createLogger("cassemdb[2]", level, { format, write: (l) => lines.push(l) });
  return { log, lines };
}

Deno.test("createLogger json: one object per line with time, level, component, msg and fields", () => {
  const { log, lines } = capture("json");
  log.warn("leader changed", { leader: 3, term: 7, peers: ["a", "b"], gone: undefined });
  log.info("no fields");
  assert.equal(lines.length, 2);
  const r = JSON.parse(lines[0]!);
  assert.deepEqual(Object.keys(r), ["time", "level", "component", "msg", "fields"]);
  assert.ok(!Number.isNaN(Date.parse(r.time)) && r.time.endsWith("Z"), r.time);
  assert.deepEqual(
    [r.level, r.component, r.msg, r.fields],
    ["warn", "cassemdb[2]", "leader changed", { leader: 3, term: 7, peers: ["a", "b"] }],
  );
  assert.deepEqual(Object.keys(JSON.parse(lines[1]!)), ["time", "level", "component", "msg"]);
  assert.ok(lines.every((l) => !l.includes("\n")));
});

Deno.test("createLogger: the requestId field, else the current request id, is the record's own", async () => {
  const { log, lines } = capture("json");
  log.info("outside");
  await withRequestId("req-ctx", async () => {
    await Promise.resolve();
    assert.equal(currentRequestId(), "req-ctx");
    log.info("inside");
    log.info("given", { requestId: "req-field", path: "/x" });
  });
  assert.equal(currentRequestId(), undefined);
  const [outside, inside, given] = lines.map((l) => parseLogLine(l)!);
  assert.equal(outside!.requestId, undefined);
  assert.equal(inside!.requestId, "req-ctx");
  assert.equal(given!.requestId, "req-field");
  assert.deepEqual(given!.fields, { path: "/x" });
});

Deno.test("createLogger: levels below the logger's are dropped", () => {
  const { log, lines } = capture("json", "warn");
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  assert.deepEqual(lines.map((l) => parseLogLine(l)!.level), ["warn", "error"]);
});

Deno.test("createLogger json: errors, bigints and cycles do not break a line", () => {
  const { log, lines } = capture("json");
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  log.error("boom", { error: new RangeError("bad"), big: 12n });
  log.error("cycle", { cycle });
  assert.deepEqual(parseLogLine(lines[0]!)!.fields, { error: "RangeError: bad", big: "12" });
  assert.equal(parseLogLine(lines[1]!)!.msg, "cycle");
});

Deno.test("createLogger text: `time LEVEL component msg k=v`, request id last", () => {
  const { log, lines } = capture("text");
  withRequestId("r1", () => log.warn("is ignored", { flag: "--join", n: 2, o: { a: 1 } }));
  assert.match(
    lines[0]!,
    /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN {2}cassemdb\[2\] is ignored flag=--join n=2 o=\{"a":1\} requestId=r1$/,
  );
});

Deno.test("logLineAsText renders a JSON line as the text logger writes it; other lines stay", () => {
  const json = capture("json");
  const text = capture("text");
  for (const c of [json, text]) {
    withRequestId("abc", () => c.log.error("Cannot start", { dir: "/d" }));
  }
  const rendered = logLineAsText(json.lines[0]!);
  // Same but for the clock reading.
  assert.equal(rendered.slice(24), text.lines[0]!.slice(24));
  assert.equal(logLineAsText("[cluster] node 1 pid 42"), "[cluster] node 1 pid 42");
  assert.equal(logLineAsText('{"not":"a log line"}'), '{"not":"a log line"}');
  assert.equal(parseLogLine("{broken"), undefined);
});

Deno.test("formatLogRecord and parseLogLine round-trip", () => {
  const r = {
    time: "2026-01-02T03:04:05.678Z",
    level: "info" as const,
    component: "adm",
    msg: "request",
    requestId: "x",
    fields: { status: 200 },
  };
  assert.deepEqual(parseLogLine(formatLogRecord(r, "json")), r);
});

Deno.test("resolveLogFormat: auto is text on a terminal, JSON otherwise", () => {
  assert.equal(resolveLogFormat("auto", () => true), "text");
  assert.equal(resolveLogFormat("auto", () => false), "json");
  assert.equal(resolveLogFormat("json", () => true), "json");
  assert.equal(resolveLogFormat("text", () => false), "text");
});
