import assert from "node:assert/strict";
import { keyRuleBroken } from "../store/keys.ts";
import {
  agentKey,
  appKey,
  approvalKey,
  appsPrefix,
  appTrees,
  elementKey,
  elementsPrefix,
  elementTrees,
  envKey,
  envTrees,
  instanceKey,
  loginLimitKey,
  MAX_VERSION,
  oplogKey,
  oplogSeekAt,
  parseAgentKey,
  parseInstanceKey,
  parseOplogKey,
  parseServeKey,
  parseVersionKey,
  roleKey,
  serveAppKey,
  serveEnvKey,
  serveGrayKey,
  serveLiveKey,
  servePrefix,
  sessionKey,
  tokenKey,
  userKey,
  versionKey,
} from "./keys.ts";
import { InvalidNameError } from "./names.ts";

const ID = "0123456789abcdef0123456789abcdef";

Deno.test("every key is a valid cassemdb key, and no two kinds of record share one", () => {
  const keys = [
    appKey("a"),
    envKey("a", "prod"),
    elementKey("a", "prod", "k"),
    versionKey("a", "prod", "k", 1),
    approvalKey("a", "prod", "k"),
    serveAppKey("a"),
    serveEnvKey("a", "prod"),
    serveLiveKey("a", "prod", "k"),
    serveGrayKey("a", "prod", "k"),
    agentKey("agent-1"),
    instanceKey("client-1"),
    userKey("alice"),
    roleKey("a", "alice"),
    sessionKey("alice", ID),
    tokenKey("a", ID),
    loginLimitKey("alice"),
    oplogKey(1_700_000_000_000, ID),
  ];
  for (const k of keys) assert.equal(keyRuleBroken(k), undefined, k);
  assert.equal(new Set(keys).size, keys.length);
  // No record is an ancestor of another (cassemdb cannot hold an element below an element).
  for (const a of keys) for (const b of keys) assert.ok(!b.startsWith(a + "/"), `${a} above ${b}`);
});

Deno.test("key builders refuse invalid names instead of building a key elsewhere in the tree", () => {
  assert.throws(() => appKey("a/b"), InvalidNameError);
  assert.throws(() => envKey("a", "../x"), InvalidNameError);
  assert.throws(() => serveLiveKey("a", "prod", "_env"), InvalidNameError);
  assert.throws(() => sessionKey("alice", "XYZ"), TypeError);
  assert.throws(() => versionKey("a", "prod", "k", 0), RangeError);
  assert.throws(() => versionKey("a", "prod", "k", 1.5), RangeError);
  assert.throws(() => versionKey("a", "prod", "k", MAX_VERSION + 1), RangeError);
});

Deno.test("version keys sort in version order and parse back", () => {
  const vs = [1, 2, 9, 10, 11, 99, 100, 12345, MAX_VERSION];
  const ks = vs.map((v) => versionKey("a", "e", "k", v));
  assert.deepEqual([...ks].sort(), ks);
  assert.deepEqual(ks.map(parseVersionKey), vs);
  assert.equal(parseVersionKey(elementKey("a", "e", "k")), undefined);
});

Deno.test("parseServeKey tells the served records apart and skips everything else", () => {
  assert.deepEqual(parseServeKey(serveAppKey("a")), { kind: "app", app: "a" });
  assert.deepEqual(parseServeKey(serveEnvKey("a", "prod")), { kind: "env", app: "a", env: "prod" });
  assert.deepEqual(parseServeKey(serveLiveKey("a", "prod", "live")), {
    kind: "live",
    app: "a",
    env: "prod",
    key: "live",
  });
  assert.deepEqual(parseServeKey(serveGrayKey("a", "prod", "k")), {
    kind: "gray",
    app: "a",
    env: "prod",
    key: "k",
  });
  for (
    const k of [
      servePrefix().slice(0, -1),
      "cassem/serve/a",
      "cassem/serve/a/prod",
      "cassem/serve/a/prod/k",
      "cassem/serve/a/prod/k/other",
      "cassem/serve/A/prod/k/live",
      appKey("a"),
    ]
  ) {
    assert.equal(parseServeKey(k), undefined, k);
  }
});

Deno.test("oplog keys sort newest first and a seek starts at a time", () => {
  const times = [5, 1_000, 1_700_000_000_000, 1_700_000_000_001];
  const ks = times.map((t) => oplogKey(t, ID));
  assert.deepEqual([...ks].sort(), [...ks].reverse());
  assert.deepEqual(parseOplogKey(ks[2]!), { timeMs: 1_700_000_000_000, id: ID });
  // Range starts strictly after the seek key: entries at the time itself come after it,
  // newer entries before it.
  const seek = oplogSeekAt(1_700_000_000_000);
  assert.ok(oplogKey(1_700_000_000_000, ID) > seek);
  assert.ok(oplogKey(1_700_000_000_001, ID) < seek);
  assert.ok(oplogKey(1_699_999_999_999, ID) > seek);
});

Deno.test("prefixes end with '/' so that a sibling with a longer name is never caught", () => {
  assert.ok(!appKey("ab").startsWith(appsPrefix() + "a/"));
  assert.ok(elementKey("a", "prod", "k").startsWith(elementsPrefix("a", "prod")));
  assert.ok(!elementKey("a", "prod2", "k").startsWith(elementsPrefix("a", "prod")));
  assert.equal(parseAgentKey(agentKey("ag")), "ag");
  assert.equal(parseInstanceKey(instanceKey("c1")), "c1");
  assert.equal(parseInstanceKey(agentKey("ag")), undefined);
});

Deno.test("the trees of an app hold its envs, elements and served records, and of nothing else", () => {
  const trees = appTrees("a").map((t) => t.key);
  for (
    const k of [
      envKey("a", "prod"),
      elementKey("a", "prod", "k"),
      versionKey("a", "prod", "k", 3),
      serveLiveKey("a", "prod", "k"),
      serveAppKey("a"),
      roleKey("a", "bob"),
      tokenKey("a", ID),
      approvalKey("a", "prod", "k"),
    ]
  ) {
    assert.ok(trees.some((t) => k.startsWith(t + "/")), k);
  }
  for (const k of [appKey("a"), envKey("ab", "prod"), serveAppKey("ab"), userKey("a")]) {
    assert.ok(!trees.some((t) => k === t || k.startsWith(t + "/")), k);
  }
  const envs = envTrees("a", "prod").map((t) => t.key);
  assert.ok(envs.some((t) => serveEnvKey("a", "prod").startsWith(t + "/")));
  assert.ok(!envs.some((t) => serveEnvKey("a", "prod2").startsWith(t + "/")));
  assert.ok(!envs.some((t) => envKey("a", "prod") === t));
  const el = elementTrees("a", "prod", "k");
  assert.deepEqual(el.map((t) => t.isDir), [true, true, false]);
  assert.ok(serveGrayKey("a", "prod", "k").startsWith(el[1]!.key + "/"));
  assert.ok(!serveGrayKey("a", "prod", "k2").startsWith(el[1]!.key + "/"));
});
