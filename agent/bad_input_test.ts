import assert from "node:assert/strict";
import { instancesPrefix } from "../shared/config/mod.ts";
import { TestEnv } from "./_test_env.ts";

const E = "/v1/apps/shop/envs/prod";
const many = Array.from({ length: 101 }, (_, i) => `k${i}`).join(",");
const json = { "content-type": "application/json" };

/** [name, path, init, status, code, field, message part]. */
const CASES: [string, string, RequestInit, number, string, string, RegExp][] = [
  [
    "unknown app",
    "/v1/apps/nope/envs/prod/elements?keys=a",
    {},
    404,
    "NOT_FOUND",
    "app",
    /app "nope"/,
  ],
  [
    "unknown env",
    "/v1/apps/shop/envs/nope/elements?keys=a",
    {},
    404,
    "NOT_FOUND",
    "env",
    /env of app "shop" "nope"/,
  ],
  ["unknown key (raw)", `${E}/elements/nope/raw`, {}, 404, "NOT_FOUND", "key", /"nope"/],
  [
    "bad app name",
    "/v1/apps/Shop!/envs/prod/elements?keys=a",
    {},
    400,
    "INVALID_ARGUMENT",
    "app",
    /an app id must be/,
  ],
  [
    "bad env name",
    "/v1/apps/shop/envs/_env/elements?keys=a",
    {},
    400,
    "INVALID_ARGUMENT",
    "env",
    /an env name must be/,
  ],
  ["no keys", `${E}/elements`, {}, 400, "INVALID_ARGUMENT", "keys", /at least one key/],
  ["empty keys", `${E}/elements?keys=,,`, {}, 400, "INVALID_ARGUMENT", "keys", /at least one key/],
  [
    "101 keys",
    `${E}/elements?keys=${many}`,
    {},
    400,
    "INVALID_ARGUMENT",
    "keys",
    /at most 100 keys: current count is 101/,
  ],
  [
    "bad key",
    `${E}/elements?keys=a,b/c`,
    {},
    400,
    "INVALID_ARGUMENT",
    "keys[1]",
    /an element key must be/,
  ],
  ["bad raw key", `${E}/elements/..%2Fx/raw`, {}, 400, "INVALID_ARGUMENT", "key", /an element key/],
  [
    "bad labels",
    `${E}/elements?keys=a`,
    { headers: { "x-cassem-labels": "region" } },
    400,
    "INVALID_ARGUMENT",
    "X-Cassem-Labels",
    /name=value/,
  ],
  [
    "repeated label",
    `${E}/elements?keys=a`,
    { headers: { "x-cassem-labels": "a=1,a=2" } },
    400,
    "INVALID_ARGUMENT",
    "X-Cassem-Labels",
    /must appear once/,
  ],
  [
    "21 labels",
    `${E}/elements?keys=a`,
    {
      headers: { "x-cassem-labels": Array.from({ length: 21 }, (_, i) => `l${i}=v`).join(",") },
    },
    400,
    "INVALID_ARGUMENT",
    "X-Cassem-Labels",
    /at most 20/,
  ],
  [
    "bad client id",
    `${E}/elements?keys=a`,
    { headers: { "x-cassem-client-id": "-x" } },
    400,
    "INVALID_ARGUMENT",
    "X-Cassem-Client-Id",
    /a client id must be/,
  ],
  [
    "huge header",
    `${E}/elements?keys=a`,
    { headers: { "x-cassem-labels": "a=".padEnd(5_000, "b") } },
    400,
    "INVALID_ARGUMENT",
    "X-Cassem-Labels",
    /at most 4096 characters/,
  ],
  [
    "bad min revision",
    `${E}/elements?keys=a`,
    { headers: { "x-cassem-min-revision": "-1" } },
    400,
    "INVALID_ARGUMENT",
    "X-Cassem-Min-Revision",
    /non-negative integer/,
  ],
  [
    "huge query string",
    `${E}/elements?keys=${"a".repeat(20_000)}`,
    {},
    400,
    "INVALID_ARGUMENT",
    "url",
    /at most 16384 characters/,
  ],
  [
    "bad Last-Event-ID",
    `${E}/watch?keys=a`,
    { headers: { "last-event-id": "abc" } },
    400,
    "INVALID_ARGUMENT",
    "Last-Event-ID",
    /revision/,
  ],
  [
    "watch without SSE",
    `${E}/watch?keys=a`,
    { headers: { accept: "application/json" } },
    400,
    "INVALID_ARGUMENT",
    "Accept",
    /text\/event-stream/,
  ],
  [
    "poll not JSON",
    `${E}/poll`,
    { method: "POST", headers: json, body: "{" },
    400,
    "INVALID_ARGUMENT",
    "body",
    /must be JSON/,
  ],
  [
    "poll no held",
    `${E}/poll`,
    { method: "POST", headers: json, body: "{}" },
    400,
    "INVALID_ARGUMENT",
    "held",
    /held/,
  ],
  [
    "poll empty held",
    `${E}/poll`,
    { method: "POST", headers: json, body: '{"held":{}}' },
    400,
    "INVALID_ARGUMENT",
    "held",
    /1 to 100 keys: current count is 0/,
  ],
  [
    "poll bad key",
    `${E}/poll`,
    { method: "POST", headers: json, body: '{"held":{"a b":null}}' },
    400,
    "INVALID_ARGUMENT",
    "held.a b",
    /an element key/,
  ],
  [
    "poll long timeout",
    `${E}/poll`,
    { method: "POST", headers: json, body: '{"held":{"a":null},"timeoutMs":600000}' },
    400,
    "INVALID_ARGUMENT",
    "timeoutMs",
    /at most 60000/,
  ],
  [
    "poll extra field",
    `${E}/poll`,
    { method: "POST", headers: json, body: '{"held":{"a":null},"x":1}' },
    400,
    "INVALID_ARGUMENT",
    "body",
    /Unrecognized key/,
  ],
  [
    "register without id",
    "/v1/instances",
    { method: "POST", headers: json, body: "{}" },
    400,
    "INVALID_ARGUMENT",
    "X-Cassem-Client-Id",
    /must name the client/,
  ],
  [
    "register bad body",
    "/v1/instances",
    {
      method: "POST",
      headers: { ...json, "x-cassem-client-id": "c1" },
      body: '{"watching":[{"app":"shop"}]}',
    },
    400,
    "INVALID_ARGUMENT",
    "watching.0.env",
    /watching\.0\.env/,
  ],
  [
    "register unknown app",
    "/v1/instances",
    {
      method: "POST",
      headers: { ...json, "x-cassem-client-id": "c1" },
      body: '{"watching":[{"app":"nope","env":"prod","keys":["a"]}]}',
    },
    404,
    "NOT_FOUND",
    "app",
    /app "nope"/,
  ],
  [
    "renew other client",
    "/v1/instances/c2",
    { method: "PUT", headers: { "x-cassem-client-id": "c1" } },
    400,
    "INVALID_ARGUMENT",
    "X-Cassem-Client-Id",
    /names another client/,
  ],
  ["unknown route", "/v2/anything", {}, 404, "NOT_FOUND", "path", /no such route/],
];

Deno.test("bad input: each bad request gets its status, code and field, and changes nothing", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 1, raw: "A" });
    const a = await t.agent();
    const before = t.db.revision;
    for (const [name, path, init, status, code, field, message] of CASES) {
      const r = await a.request(path, init);
      const text = await r.text();
      assert.equal(r.status, status, `${name}: ${text}`);
      const body = JSON.parse(text);
      assert.equal(body.error.code, code, name);
      assert.equal(body.error.field, field, `${name}: ${text}`);
      assert.match(body.error.message, message, name);
      assert.match(body.error.message, /^Cannot /, name);
    }
    assert.equal(t.db.revision, before, "no bad request wrote anything");
    assert.equal((await t.db.list(instancesPrefix())).entities.length, 0);
    assert.equal(a.core.subscribers.size, 0, "no bad watch left a subscriber");
  } finally {
    await t.close();
  }
});
