import assert from "node:assert/strict";
import { MIN_REVISION_HEADER, REVISION_HEADER } from "../shared/config/mod.ts";
import { fastReader, MAX_ROUTE_CHARS, MAX_ROUTES, RouteTable } from "./http_fast.ts";
import { TestEnv } from "./_test_env.ts";

const E = "/v1/apps/shop/envs/prod";

const base = `http://127.0.0.1:7081${E}/elements`;

Deno.test("RouteTable parses a read URL once and leaves other URLs to the routes", () => {
  const t = new RouteTable();
  const r = t.of(`${base}?keys=a,b,a`);
  assert.ok(r);
  assert.deepEqual([r.app, r.env, r.keys, r.rawKey], ["shop", "prod", ["a", "b"], undefined]);
  assert.equal(t.of(`${base}?keys=a,b,a`), r, "the same object the second time");
  assert.deepEqual(t.of(`${base}/cfg/raw`)?.rawKey, "cfg");
  assert.equal(t.of(`${base}?keys=a&x=1`), null, "an unusual query goes to the routes");
  assert.equal(t.of("http://127.0.0.1:7081/v1/status"), null);
  assert.equal(t.size, 4, "four distinct URLs");
});

Deno.test("RouteTable stays within its URL count and character bounds", () => {
  const t = new RouteTable();
  for (let i = 0; i < 3 * MAX_ROUTES; i++) t.of(`${base}?keys=k${i}`);
  assert.ok(t.size <= MAX_ROUTES, `${t.size} routes`);
  // Long URLs: 100 keys of 40 characters each, about 4 KiB a URL.
  const long = (i: number) =>
    `${base}?keys=${Array.from({ length: 100 }, (_, j) => `k${i}-${j}`.padEnd(40, "x")).join(",")}`;
  let most = 0;
  for (let i = 0; i < 1_000; i++) {
    t.of(long(i));
    most = Math.max(most, t.chars);
  }
  assert.ok(most <= MAX_ROUTE_CHARS, `${most} chars held`);
  assert.ok(t.size < 1_000 && t.size > 10, `${t.size} long URLs held`);
});

Deno.test("RouteTable keeps an answer only while it fits", () => {
  const t = new RouteTable();
  const route = t.of(`${base}?keys=a`)!;
  const answer = (chars: number) => ({
    found: [],
    missing: 0,
    revision: 1,
    stale: false,
    text: "x".repeat(chars),
  });
  t.keepAnswer(route, answer(1_000));
  assert.equal(route.last?.text.length, 1_000);
  const before = t.chars;
  t.keepAnswer(route, answer(2_000));
  assert.equal(t.chars, before + 1_000, "a replaced answer counts only its growth");
  t.keepAnswer(route, answer(20 * 1024));
  assert.equal(route.last?.text.length, 2_000, "an answer over 16 KiB is not kept");
  // Fill the character budget with other routes' answers: the last ones are refused.
  let kept = 0;
  for (let i = 0; i < 200; i++) {
    const r = t.of(`${base}?keys=b${i}`)!;
    t.keepAnswer(r, answer(16 * 1024));
    if (r.last) kept++;
  }
  assert.ok(t.chars <= MAX_ROUTE_CHARS);
  assert.ok(kept > 0 && kept < 200, `${kept} answers kept`);
});

Deno.test("the fast path answers a read whose X-Cassem-Min-Revision the agent has reached, and leaves the others to the route", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "a", { version: 1, raw: "A1" });
    const a = await t.agent();
    const url = `http://agent${E}/elements?keys=a`;
    // Two reads through the app: the body is then cached and its answer prepared.
    for (let i = 0; i < 2; i++) assert.equal((await a.request(`${E}/elements?keys=a`)).status, 200);
    const fast = fastReader(a.core);
    const at = a.core.state.revision;
    const ask = (floor?: string) =>
      fast(
        new Request(url, { headers: floor === undefined ? {} : { [MIN_REVISION_HEADER]: floor } }),
      );
    assert.ok(ask(), "no floor");
    for (const floor of ["0", "1", String(at), ` ${at} `]) {
      const r = ask(floor);
      assert.ok(r, `floor ${JSON.stringify(floor)} reached`);
      assert.equal(r.headers.get(REVISION_HEADER), String(at));
      assert.equal(JSON.parse(await r.text()).elements[0].raw, "A1");
    }
    for (const floor of [String(at + 1), "-1", "1e3", "x", "9".repeat(17)]) {
      assert.equal(ask(floor), undefined, `floor ${JSON.stringify(floor)} goes to the route`);
    }
    // The route answers those: a malformed floor is a 400 naming the header.
    const bad = await a.request(`${E}/elements?keys=a`, {
      headers: { [MIN_REVISION_HEADER]: "x" },
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /X-Cassem-Min-Revision/);
  } finally {
    await t.close();
  }
});
