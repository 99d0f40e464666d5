import assert from "node:assert/strict";
import { SeededPrng } from "../../shared/prng.ts";
import type { TxnOp } from "./command.ts";
import { fingerprint } from "./fingerprint.ts";
import { MAX_TXN_COMPARES, MAX_TXN_OPS, MAX_VALUE_BYTES } from "./keys.ts";
import { Store } from "./store.ts";
import {
  bytes,
  describe,
  dirOp,
  failed,
  Harness,
  ok,
  setOp,
  T0,
  txn,
  unsetOp,
} from "./_test_util.ts";

const dec = new TextDecoder();

function text(h: Harness, key: string): string | undefined {
  const e = h.store.get(key);
  return e ? dec.decode(e.val) : undefined;
}

/** Everything observable of a store but its applied index. */
function state(s: Store) {
  return {
    revision: s.revision,
    entities: s.range("").entities,
    due: s.expired(Infinity, 1e9),
    members: s.members(),
  };
}

function keys(h: Harness, prefix = ""): string[] {
  return h.store.range(prefix).entities.map((e) => e.key);
}

// ---- set element ------------------------------------------------------------------

Deno.test("Store.applyCommand() set creates missing ancestors as directories at the same revision", () => {
  const h = new Harness();
  const r = ok(h.run([setOp("a/b/c", "v")], T0));
  assert.equal(r.revision, 1);
  assert.equal(r.succeeded, true);
  assert.deepEqual(h.lastChanges(), ["set a", "set a/b", "set a/b/c"]);
  for (const k of ["a", "a/b"]) {
    assert.deepEqual(h.store.get(k), {
      key: k,
      type: "directory",
      val: new Uint8Array(),
      fingerprint: "",
      createdAt: T0,
      updatedAt: T0,
      ttl: 0,
      expireAt: 0,
      size: 0,
      createRevision: 1,
      modRevision: 1,
    });
  }
  assert.deepEqual(r.entities, [h.store.get("a/b/c")]);
  assert.equal(h.store.revision, 1);
  assert.equal(h.store.appliedIndex, 1);
  assert.equal(h.store.count(), 3);
});

Deno.test("Store.applyCommand() set fills every entity field; overwrite keeps createRevision and createdAt", () => {
  const h = new Harness();
  ok(h.run([setOp("a", "first", { ttl: 10 })], T0));
  const first = h.store.get("a")!;
  assert.deepEqual(first, {
    key: "a",
    type: "element",
    val: bytes("first"),
    fingerprint: fingerprint(bytes("first")),
    createdAt: T0,
    updatedAt: T0,
    ttl: 10,
    expireAt: T0 + 10_000,
    size: 5,
    createRevision: 1,
    modRevision: 1,
  });
  ok(h.run([setOp("other", "x")], T0 + 1));
  const r = ok(h.run([setOp("a", "second!")], T0 + 2));
  assert.equal(r.revision, 3);
  const second = h.store.get("a")!;
  assert.deepEqual(second, {
    ...first,
    val: bytes("second!"),
    fingerprint: fingerprint(bytes("second!")),
    updatedAt: T0 + 2,
    ttl: 0,
    expireAt: 0,
    size: 7,
    modRevision: 3,
  });
  const change = h.published[2]!.changes[0]!;
  assert.equal(change.last, first);
  assert.equal(change.current, second);
  assert.equal(change.revision, 3);
  assert.equal(change.reason, "");
});

Deno.test("Store.applyCommand() set refuses an element ancestor with FAILED_PRECONDITION", () => {
  const h = new Harness();
  ok(h.run([setOp("a/b", "v")]));
  const r = failed(h.run([setOp("a/b/c/d", "v")]));
  assert.deepEqual(r, {
    ok: false,
    code: "FAILED_PRECONDITION",
    field: "ops[0].set.key",
    message: 'Cannot set "a/b/c/d" as "a/b" is an element, not a directory',
  });
  assert.equal(h.store.revision, 1);
  assert.deepEqual(keys(h), ["a", "a/b"]);
});

Deno.test("Store.applyCommand() set refuses an element where a directory is", () => {
  const h = new Harness();
  ok(h.run([setOp("a/b", "v")]));
  const r = failed(h.run([setOp("a", "v")]));
  assert.equal(r.code, "FAILED_PRECONDITION");
  assert.equal(r.field, "ops[0].set.is_dir");
  assert.equal(
    r.message,
    'Cannot set "a" as an element as it is a directory: current mod_revision is 1',
  );
});

Deno.test("Store.applyCommand() set with overwrite=false fails with ALREADY_EXISTS", () => {
  const h = new Harness();
  ok(h.run([setOp("a", "v", { overwrite: false })]));
  const r = failed(h.run([setOp("a", "w", { overwrite: false })]));
  assert.deepEqual(r, {
    ok: false,
    code: "ALREADY_EXISTS",
    field: "ops[0].set.key",
    message:
      'Cannot set "a" as it already exists and overwrite is false: current mod_revision is 1',
  });
  assert.equal(text(h, "a"), "v");
});

Deno.test("Store.applyCommand() set checks its condition on the key", async (t) => {
  const h = new Harness();
  ok(h.run([setOp("a", "v")]));
  ok(h.run([setOp("a", "v2")]));
  await t.step("mustNotExist on an existing key", () => {
    const r = failed(h.run([setOp("a", "x", { condition: { mustNotExist: true } })]));
    assert.equal(r.code, "ABORTED");
    assert.equal(r.field, "ops[0].set.condition");
    assert.equal(r.message, 'Cannot set "a" as it must not exist: current mod_revision is 2');
  });
  await t.step("mustExist on an absent key", () => {
    const r = failed(h.run([setOp("b", "x", { condition: { mustExist: true } })]));
    assert.equal(r.code, "ABORTED");
    assert.equal(r.message, 'Cannot set "b" as it must exist: current value is absent');
  });
  await t.step("modRevision mismatch names the current mod_revision", () => {
    const r = failed(h.run([setOp("a", "x", { condition: { modRevision: 1 } })]));
    assert.equal(r.code, "ABORTED");
    assert.equal(
      r.message,
      'Cannot set "a" as its mod_revision must be 1: current mod_revision is 2',
    );
    const absent = failed(h.run([setOp("b", "x", { condition: { modRevision: 1 } })]));
    assert.equal(
      absent.message,
      'Cannot set "b" as its mod_revision must be 1: current mod_revision is 0 (absent)',
    );
  });
  await t.step("conditions that hold", () => {
    ok(h.run([setOp("a", "x", { condition: { modRevision: 2 } })]));
    ok(h.run([setOp("a", "y", { condition: { mustExist: true } })]));
    ok(h.run([setOp("b", "z", { condition: { mustNotExist: true } })]));
    assert.equal(text(h, "a"), "y");
    assert.equal(h.store.revision, 5);
  });
});

Deno.test("Store.applyCommand() set: a condition that the key exists implies overwrite", () => {
  const h = new Harness();
  ok(h.run([setOp("a", "v")]));
  const plain = failed(h.run([setOp("a", "x", { overwrite: false })]));
  assert.equal(plain.code, "ALREADY_EXISTS");
  ok(h.run([setOp("a", "x", { overwrite: false, condition: { modRevision: 1 } })]));
  ok(h.run([setOp("a", "y", { overwrite: false, condition: { mustExist: true } })]));
  assert.equal(text(h, "a"), "y");
  // A lost compare is ABORTED even without overwrite, never ALREADY_EXISTS.
  const lost = failed(
    h.run([setOp("a", "z", { overwrite: false, condition: { modRevision: 1 } })]),
  );
  assert.equal(lost.code, "ABORTED");
});

Deno.test("Store.applyCommand() set copies the value; entities handed out never change", () => {
  const h = new Harness();
  const val = bytes("abc");
  const r = ok(h.run([{ ...setOp("a"), val }]));
  val[0] = 0x7a;
  const e = r.entities![0]!;
  assert.equal(dec.decode(e.val), "abc");
  assert.ok(Object.isFrozen(e));
  assert.ok(Object.isFrozen(h.published[0]!.changes));
  assert.ok(Object.isFrozen(h.published[0]!.changes[0]));
  ok(h.run([setOp("a", "new")]));
  assert.equal(dec.decode(e.val), "abc");
  assert.equal(e.modRevision, 1);
  assert.throws(() => {
    (e as { modRevision: number }).modRevision = 9;
  }, TypeError);
});

Deno.test("Store.applyCommand() set refuses malformed ops with INVALID_ARGUMENT and the field", () => {
  const h = new Harness();
  const cases: [TxnOp, string, RegExp][] = [
    [setOp(""), "ops[0].set.key", /must be a non-empty string/],
    [setOp("/a"), "ops[0].set.key", /must not start or end with "\/"/],
    [setOp("a/"), "ops[0].set.key", /must not start or end/],
    [setOp("a//b"), "ops[0].set.key", /must not contain "\/\/"/],
    [setOp("a/../b"), "ops[0].set.key", /"\." or "\.\." segments/],
    [setOp("a", "", { ttl: -1 }), "ops[0].set.ttl", /ttl must be a non-negative integer/],
    [setOp("a", "", { ttl: 1.5 }), "ops[0].set.ttl", /current value is 1.5/],
    [dirOp("a", { ttl: 5 }), "ops[0].set.ttl", /only elements expire: current value is 5/],
    [setOp("a", "", { ttl: 2 ** 50 }), "ops[0].set.ttl", /expiry time must be a safe integer/],
    [dirOp("a", { val: bytes("x") }), "ops[0].set.val", /directories hold none/],
    [
      { ...setOp("a"), val: new Uint8Array(MAX_VALUE_BYTES + 1) },
      "ops[0].set.val",
      /must be at most 262144 bytes: current size is 262145/,
    ],
    [
      setOp("a", "", { condition: { modRevision: -1 } }),
      "ops[0].set.condition.mod_revision",
      /non-negative integer/,
    ],
    [
      setOp("a", "", { condition: { modRevision: 1, mustExist: true } as never }),
      "ops[0].set.condition",
      /exactly one of/,
    ],
    [unsetOp("a//"), "ops[0].unset.key", /must not start or end/],
  ];
  for (const [op, field, re] of cases) {
    const r = failed(h.run([op]));
    assert.equal(r.code, "INVALID_ARGUMENT", field);
    assert.equal(r.field, field);
    assert.match(r.message, re);
  }
  ok(h.run([{ ...setOp("big"), val: new Uint8Array(MAX_VALUE_BYTES) }]));
  assert.equal(h.store.revision, 1);
});

Deno.test("Store.applyCommand() txn refuses more than 64 ops or compares", () => {
  const h = new Harness();
  const ops = Array.from({ length: MAX_TXN_OPS + 1 }, (_, i) => setOp(`k${i}`));
  const r = failed(h.apply(txn(ops)));
  assert.equal(r.code, "INVALID_ARGUMENT");
  assert.equal(r.field, "ops");
  const compares = Array.from({ length: MAX_TXN_COMPARES + 1 }, (_, i) => ({ key: `k${i}` }));
  assert.equal(failed(h.apply(txn([], { compares }))).field, "compares");
  assert.equal(
    failed(h.apply(txn([], { compares: [{ key: "" }] }))).field,
    "compares[0].key",
  );
  ok(h.apply(txn(ops.slice(1))));
});

// ---- set directory -------------------------------------------------------------------

Deno.test("Store.applyCommand() set isDir creates a directory and its ancestors", () => {
  const h = new Harness();
  const r = ok(h.run([dirOp("a/b")]));
  assert.equal(r.revision, 1);
  assert.equal(r.entities![0]!.type, "directory");
  assert.deepEqual(h.lastChanges(), ["set a", "set a/b"]);
});

Deno.test("Store.applyCommand() set isDir on an existing directory is a no-op without a revision", () => {
  const h = new Harness();
  ok(h.run([setOp("a/b/c")]));
  const before = h.store.get("a/b")!;
  for (const overwrite of [true, false]) {
    const r = ok(h.run([dirOp("a/b", { overwrite })], T0 + 5));
    assert.equal(r.revision, 1);
    assert.deepEqual(r.entities, [before]);
  }
  assert.equal(h.store.get("a/b"), before);
  assert.equal(h.published.length, 1);
  const cond = failed(h.run([dirOp("a/b", { condition: { mustNotExist: true } })]));
  assert.equal(cond.code, "ABORTED");
});

Deno.test("Store.applyCommand() set isDir refuses an existing element or an element ancestor", () => {
  const h = new Harness();
  ok(h.run([setOp("a/b", "v")]));
  const r = failed(h.run([dirOp("a/b")]));
  assert.equal(r.code, "FAILED_PRECONDITION");
  assert.equal(r.field, "ops[0].set.is_dir");
  assert.equal(
    r.message,
    'Cannot set "a/b" as a directory as it is an element: current mod_revision is 1',
  );
  const below = failed(h.run([dirOp("a/b/c")]));
  assert.equal(below.code, "FAILED_PRECONDITION");
  assert.equal(below.message, 'Cannot set "a/b/c" as "a/b" is an element, not a directory');
});

// ---- unset ---------------------------------------------------------------------------

Deno.test("Store.applyCommand() unset of an absent key fails with NOT_FOUND", () => {
  const h = new Harness();
  assert.deepEqual(failed(h.run([unsetOp("a")])), {
    ok: false,
    code: "NOT_FOUND",
    field: "ops[0].unset.key",
    message: 'Cannot unset "a" as it does not exist',
  });
});

Deno.test("Store.applyCommand() unset of a directory without isDir fails with FAILED_PRECONDITION", () => {
  const h = new Harness();
  ok(h.run([setOp("a/b")]));
  assert.deepEqual(failed(h.run([unsetOp("a")])), {
    ok: false,
    code: "FAILED_PRECONDITION",
    field: "ops[0].unset.is_dir",
    message: 'Cannot unset "a" as it is a directory: set is_dir to remove it and everything below',
  });
});

Deno.test("Store.applyCommand() unset removes an element and reports it", () => {
  const h = new Harness();
  ok(h.run([setOp("a/b", "v")]));
  const e = h.store.get("a/b")!;
  const r = ok(h.run([unsetOp("a/b")]));
  assert.equal(r.removed, 1);
  assert.equal(r.revision, 2);
  assert.deepEqual(h.published[1]!.changes, [
    { op: "unset", key: "a/b", last: e, revision: 2, reason: "unset" },
  ]);
  assert.deepEqual(keys(h), ["a"]);
  // isDir=true also removes a plain element.
  ok(h.run([setOp("a/c")]));
  assert.equal(ok(h.run([unsetOp("a/c", { isDir: true })])).removed, 1);
});

Deno.test("Store.applyCommand() unset isDir removes the subtree at one revision, key first", () => {
  const h = new Harness();
  ok(h.run([setOp("a/b/c"), setOp("a/d"), setOp("a.b"), setOp("ab"), setOp("a0"), setOp("b")]));
  const r = ok(h.run([unsetOp("a", { isDir: true })]));
  assert.equal(r.removed, 4);
  assert.equal(r.revision, 2);
  assert.deepEqual(h.lastChanges(), [
    "unset a (unset)",
    "unset a/b (parent)",
    "unset a/b/c (parent)",
    "unset a/d (parent)",
  ]);
  assert.ok(h.published[1]!.changes.every((c) => c.revision === 2 && c.last && !c.current));
  assert.deepEqual(keys(h), ["a.b", "a0", "ab", "b"]);
});

Deno.test("Store.applyCommand() unset checks its condition", () => {
  const h = new Harness();
  ok(h.run([setOp("a")]));
  const r = failed(h.run([unsetOp("a", { condition: { modRevision: 7 } })]));
  assert.equal(r.code, "ABORTED");
  assert.equal(r.field, "ops[0].unset.condition");
  assert.equal(
    r.message,
    'Cannot unset "a" as its mod_revision must be 7: current mod_revision is 1',
  );
  ok(h.run([unsetOp("a", { condition: { modRevision: 1 } })]));
});

// ---- txn ------------------------------------------------------------------------------

Deno.test("Store.applyCommand() txn applies nothing and consumes no revision when a compare fails", () => {
  const h = new Harness();
  ok(h.run([setOp("a", "1")]));
  const r = ok(h.apply(txn([setOp("b"), unsetOp("a")], {
    compares: [{ key: "a", condition: { modRevision: 1 } }, {
      key: "a",
      condition: { mustNotExist: true },
    }],
  })));
  assert.deepEqual(r, {
    ok: true,
    revision: 1,
    succeeded: false,
    entities: [],
    removed: 0,
    failedCompare: 1,
    failedModRevision: 1,
  });
  assert.equal(h.published.length, 1);
  assert.deepEqual(keys(h), ["a"]);
  assert.equal(h.store.appliedIndex, 2);
});

Deno.test("Store.applyCommand() txn applies all ops at one revision when every compare holds", () => {
  const h = new Harness();
  ok(h.run([setOp("a", "1"), setOp("d/x")]));
  const r = ok(h.apply(txn([setOp("b", "2"), unsetOp("d", { isDir: true }), setOp("c", "3")], {
    compares: [{ key: "a", condition: { modRevision: 1 } }, {
      key: "z",
      condition: { mustNotExist: true },
    }, {
      key: "a",
    }],
  })));
  assert.equal(r.succeeded, true);
  assert.equal(r.revision, 2);
  assert.equal(r.removed, 2);
  assert.deepEqual(r.entities!.map((e) => e.key), ["b", "c"]);
  assert.deepEqual(h.lastChanges(), ["set b", "unset d (unset)", "unset d/x (parent)", "set c"]);
  assert.ok(h.published[1]!.changes.every((c) => c.revision === 2));
});

Deno.test("Store.applyCommand() txn ops see the effects of earlier ops of the same txn", () => {
  const h = new Harness();
  const r = ok(h.run([
    setOp("a", "1"),
    setOp("a", "2", { condition: { modRevision: 1 } }),
    setOp("x/y"),
    unsetOp("x", { isDir: true }),
  ]));
  assert.equal(r.revision, 1);
  assert.equal(text(h, "a"), "2");
  assert.deepEqual(keys(h), ["a"]);
  assert.equal(h.published[0]!.changes[1]!.last?.val.length, 1);
});

Deno.test("Store.applyCommand() txn is atomic: a failing op undoes the ops before it", () => {
  const h = new Harness();
  ok(h.run([setOp("dir/x", "1", { ttl: 100 }), setOp("keep", "k"), setOp("dir/y", "2")]));
  const before = state(h.store);
  const r = failed(h.run([
    setOp("new/deep/key", "v", { ttl: 5 }),
    unsetOp("dir", { isDir: true }),
    setOp("keep", "changed"),
    setOp("keep/below", "v"), // "keep" is an element: fails
  ], T0 + 1));
  assert.equal(r.code, "FAILED_PRECONDITION");
  assert.equal(r.field, "ops[3].set.key");
  assert.deepEqual(state(h.store), before);
  assert.equal(h.store.revision, 1);
  assert.equal(h.published.length, 1);
  assert.equal(text(h, "keep"), "k");
});

Deno.test("Store.applyCommand() txn that changes nothing consumes no revision", () => {
  const h = new Harness();
  ok(h.run([dirOp("d")]));
  const r = ok(
    h.apply(txn([dirOp("d")], { compares: [{ key: "d", condition: { mustExist: true } }] })),
  );
  assert.equal(r.revision, 1);
  assert.equal(r.succeeded, true);
  assert.equal(ok(h.apply(txn([]))).revision, 1);
  assert.equal(h.published.length, 1);
});

Deno.test("Store.applyCommand() txn atomicity holds for random failing txns", () => {
  const prng = new SeededPrng(42);
  const h = new Harness();
  const pick = (arr: string[]) => arr[prng.intn(arr.length)]!;
  const names = ["a", "a/b", "a/b/c", "a/d", "e", "e/f", "g"];
  let time = T0;
  const outcomes = { ok: 0, failed: 0 };
  for (let round = 0; round < 300; round++) {
    time += prng.intn(3000);
    const ops: TxnOp[] = [];
    for (let i = 0; i < 1 + prng.intn(5); i++) {
      const k = pick(names);
      ops.push(
        prng.chance(0.6)
          ? setOp(k, String(round), { ttl: prng.intn(3), isDir: prng.chance(0.2) })
          : unsetOp(k, { isDir: prng.chance(0.5) }),
      );
    }
    const before = state(h.store);
    const published = h.published.length;
    const r = h.run(ops, time);
    outcomes[r.ok ? "ok" : "failed"]++;
    if (!r.ok) {
      assert.deepEqual(state(h.store), before, `round ${round}`);
      assert.equal(h.published.length, published);
    } else if (r.revision !== h.published.length) {
      assert.fail("a revision without published changes");
    }
  }
  assert.ok(outcomes.ok > 50 && outcomes.failed > 50, JSON.stringify(outcomes));
});

// ---- TTL ------------------------------------------------------------------------------

Deno.test("Store.ttlLeft() rounds up, -1 without ttl, 0 when due, undefined when absent", () => {
  const h = new Harness();
  ok(h.run([setOp("t", "v", { ttl: 10 }), setOp("n", "v"), dirOp("d")], T0));
  assert.equal(h.store.ttlLeft("t", T0), 10);
  assert.equal(h.store.ttlLeft("t", T0 + 1), 10);
  assert.equal(h.store.ttlLeft("t", T0 + 9_000), 1);
  assert.equal(h.store.ttlLeft("t", T0 + 9_999), 1);
  assert.equal(h.store.ttlLeft("t", T0 + 10_000), 0);
  assert.equal(h.store.ttlLeft("t", T0 + 99_000), 0);
  assert.equal(h.store.ttlLeft("n", T0), -1);
  assert.equal(h.store.ttlLeft("d", T0), -1);
  assert.equal(h.store.ttlLeft("zz", T0), undefined);
});

Deno.test("Store.applyCommand() treats a due element as absent and emits its expiry first", () => {
  const h = new Harness();
  ok(h.run([setOp("a", "old", { ttl: 1 })], T0));
  const old = h.store.get("a")!;
  // Reads still see it until it is expired or touched.
  assert.equal(h.store.get("a"), old);
  const r = ok(
    h.run([setOp("a", "new", { overwrite: false, condition: { mustNotExist: true } })], T0 + 1000),
  );
  assert.equal(r.revision, 2);
  const [expired, set] = h.published[1]!.changes;
  assert.deepEqual(expired, { op: "unset", key: "a", last: old, revision: 2, reason: "expired" });
  assert.equal(set!.op, "set");
  assert.equal(set!.last, undefined);
  assert.equal(set!.current!.createRevision, 2);
  assert.equal(set!.current!.createdAt, T0 + 1000);
  assert.deepEqual(h.store.expired(Infinity, 10), []);
});

Deno.test("Store.applyCommand() due elements fail mustExist, pass mustNotExist, and cannot be unset", () => {
  const h = new Harness();
  ok(h.run([setOp("a", "v", { ttl: 1 })], T0));
  const at = T0 + 1000;
  const r = failed(h.run([unsetOp("a")], at));
  assert.equal(r.code, "NOT_FOUND");
  assert.equal(
    failed(h.run([setOp("a", "x", { condition: { mustExist: true } })], at)).code,
    "ABORTED",
  );
  assert.equal(
    ok(h.apply(txn([], { time: at, compares: [{ key: "a", condition: { mustExist: true } }] })))
      .succeeded,
    false,
  );
  assert.equal(
    ok(h.apply(txn([], { time: at, compares: [{ key: "a", condition: { mustNotExist: true } }] })))
      .succeeded,
    true,
  );
  // A failed txn or a compare-only txn expires nothing.
  assert.equal(h.store.revision, 1);
  assert.ok(h.store.get("a"));
  // One millisecond earlier it is still alive.
  ok(h.run([unsetOp("a")], at - 1));
});

Deno.test("Store.applyCommand() replaces a due element ancestor by a directory", () => {
  const h = new Harness();
  ok(h.run([setOp("a/b", "v", { ttl: 2 })], T0));
  ok(h.run([setOp("a/b/c", "w")], T0 + 2000));
  assert.deepEqual(h.lastChanges(), ["unset a/b (expired)", "set a/b", "set a/b/c"]);
  assert.equal(h.store.get("a/b")!.type, "directory");
});

Deno.test("Store.applyCommand() unset of a directory reports due elements below as expired, uncounted", () => {
  const h = new Harness();
  ok(h.run([setOp("d/live"), setOp("d/due", "v", { ttl: 1 })], T0));
  const r = ok(h.run([unsetOp("d", { isDir: true })], T0 + 5000));
  assert.equal(r.removed, 2);
  assert.deepEqual(h.lastChanges(), [
    "unset d (unset)",
    "unset d/due (expired)",
    "unset d/live (parent)",
  ]);
});

Deno.test("Store.applyCommand() an overwrite without ttl leaves the expiry index", () => {
  const h = new Harness();
  ok(h.run([setOp("a", "v", { ttl: 1 })], T0));
  assert.deepEqual(h.store.expired(T0 + 1000, 10), [{ key: "a", modRevision: 1 }]);
  ok(h.run([setOp("a", "v")], T0 + 10));
  assert.deepEqual(h.store.expired(Infinity, 10), []);
  assert.equal(h.store.nextExpiry(), undefined);
});

// ---- expire ---------------------------------------------------------------------------

Deno.test("Store.expired() lists due keys earliest first, bounded by max", () => {
  const h = new Harness();
  const ops: TxnOp[] = [];
  for (let i = 0; i < 60; i++) {
    ops.push(setOp(`k/${String(i).padStart(2, "0")}`, "v", { ttl: 1 + (i % 6) }));
  }
  ok(h.run(ops, T0));
  ok(h.run([setOp("forever", "v")], T0));
  assert.deepEqual(h.store.expired(T0 + 999, 10), []);
  const due = h.store.expired(T0 + 2000, 100);
  assert.equal(due.length, 20);
  assert.deepEqual(due.slice(0, 3), [
    { key: "k/00", modRevision: 1 },
    { key: "k/06", modRevision: 1 },
    { key: "k/12", modRevision: 1 },
  ]);
  assert.equal(due[10]!.key, "k/01");
  assert.equal(h.store.expired(T0 + 6000, 7).length, 7);
  assert.equal(h.store.expired(T0 + 6000, 0).length, 0);
  assert.equal(h.store.nextExpiry(), T0 + 1000);
});

Deno.test("Store.applyCommand() expire batch removes due keys whose modRevision still matches", () => {
  const h = new Harness();
  ok(
    h.run(
      [setOp("a", "v", { ttl: 1 }), setOp("b", "v", { ttl: 1 }), setOp("c", "v", { ttl: 60 })],
      T0,
    ),
  );
  const due = h.store.expired(T0 + 1000, 10);
  assert.deepEqual(due.map((d) => d.key), ["a", "b"]);
  ok(h.run([setOp("b", "again", { ttl: 1 })], T0 + 500)); // b changed since the scan
  const r = ok(h.apply({
    kind: "expire",
    time: T0 + 1000,
    keys: [...due, { key: "c" }, { key: "missing" }, { key: "a" }],
  }));
  assert.deepEqual(r, { ok: true, revision: 3, removed: 1 });
  assert.deepEqual(h.lastChanges(), ["unset a (expired)"]);
  assert.deepEqual(keys(h), ["b", "c"]);
  // Nothing due: no revision.
  assert.deepEqual(ok(h.apply({ kind: "expire", time: T0 + 1000, keys: [{ key: "c" }] })), {
    ok: true,
    revision: 3,
    removed: 0,
  });
});

Deno.test("Store.applyCommand() forced expire removes one key now, or fails", () => {
  const h = new Harness();
  ok(h.run([setOp("a", "v"), setOp("d/x")], T0));
  const r = ok(h.apply({ kind: "expire", time: T0, keys: [{ key: "a", force: true }] }));
  assert.deepEqual(r, { ok: true, revision: 2, removed: 1 });
  assert.deepEqual(h.lastChanges(), ["unset a (expired)"]);
  const missing = failed(h.apply({ kind: "expire", time: T0, keys: [{ key: "a", force: true }] }));
  assert.equal(missing.code, "NOT_FOUND");
  assert.equal(missing.message, 'Cannot expire "a" as it does not exist');
  assert.equal(
    failed(h.apply({ kind: "expire", time: T0, keys: [{ key: "d", force: true }] })).code,
    "FAILED_PRECONDITION",
  );
  const two = failed(h.apply({
    kind: "expire",
    time: T0,
    keys: [{ key: "d/x", force: true }, { key: "b" }],
  }));
  assert.equal(two.code, "INVALID_ARGUMENT");
  assert.equal(two.field, "keys");
  assert.equal(
    failed(
      h.apply({ kind: "expire", time: T0, keys: [{ key: "d/x", force: true, modRevision: 9 }] }),
    )
      .code,
    "ABORTED",
  );
  assert.equal(h.store.revision, 2);
});

// ---- reads ------------------------------------------------------------------------------

Deno.test("Store.getMany() returns the entities found in the order asked", () => {
  const h = new Harness();
  ok(h.run([setOp("a"), setOp("b"), setOp("c")]));
  assert.deepEqual(h.store.getMany(["c", "zz", "a"]).map((e) => e.key), ["c", "a"]);
});

Deno.test("Store.range() pages over thousands of keys with seek, limit, hasMore and nextSeekKey", () => {
  const h = new Harness();
  const all: string[] = [];
  for (let batch = 0; batch < 50; batch++) {
    const ops: TxnOp[] = [];
    for (let i = 0; i < 60; i++) {
      const n = batch * 60 + i;
      const k = `app${n % 13}/k${n}`;
      ops.push(setOp(k, String(n)));
    }
    ok(h.run(ops));
  }
  for (const e of h.store.range("").entities) all.push(e.key);
  assert.equal(all.length, 3000 + 13);
  assert.deepEqual(all, [...all].sort());
  for (const [prefix, limit] of [["", 100], ["app1", 37], ["app1/", 1], ["app12/k1", 7]] as const) {
    const expected = all.filter((k) => k.startsWith(prefix));
    const got: string[] = [];
    let seek = "";
    for (let pages = 0;; pages++) {
      assert.ok(pages < 5000);
      const page = h.store.range(prefix, { seek, limit });
      assert.ok(page.entities.length <= limit);
      got.push(...page.entities.map((e) => e.key));
      if (!page.hasMore) {
        assert.equal(page.nextSeekKey, "");
        break;
      }
      assert.equal(page.entities.length, limit);
      assert.equal(page.nextSeekKey, page.entities[limit - 1]!.key);
      seek = page.nextSeekKey;
    }
    assert.deepEqual(got, expected, prefix);
  }
  // The raw prefix "app1" also matches "app10", "app11", "app12".
  assert.ok(h.store.range("app1").entities.some((e) => e.key.startsWith("app12/")));
  // A page that ends exactly at the last key says there is no more.
  const n = all.filter((k) => k.startsWith("app3/")).length;
  assert.equal(h.store.range("app3/", { limit: n }).hasMore, false);
  assert.equal(h.store.range("app3/", { limit: n - 1 }).hasMore, true);
  // A seek before the prefix starts at the prefix; after it, nothing.
  assert.equal(
    h.store.range("app3/", { seek: "a", limit: 1 }).entities[0]!.key,
    all.find((k) => k.startsWith("app3/")),
  );
  assert.deepEqual(h.store.range("app3/", { seek: "app4" }).entities, []);
  assert.deepEqual(h.store.range("nothing").entities, []);
  assert.throws(() => h.store.range("", { limit: 0 }), RangeError);
});

Deno.test("Store.range() with liveAt leaves out due elements and pages over them", () => {
  const h = new Harness();
  // a/k0..a/k9; the odd ones expire at T0 + 1 s, k4 at T0 + 5 s.
  for (let i = 0; i < 10; i++) {
    const ttl = i === 4 ? 5 : i % 2 === 1 ? 1 : 0;
    ok(h.run([setOp(`a/k${i}`, "v", { ttl })]));
  }
  const keys = (r: { entities: { key: string }[] }) => r.entities.map((e) => e.key);
  // Before anything is due, liveAt changes nothing.
  assert.deepEqual(h.store.range("a/", { liveAt: T0 + 999 }), h.store.range("a/"));
  const at = T0 + 1_000; // expireAt ≤ liveAt is due: the odd keys, not k4
  assert.deepEqual(keys(h.store.range("a/", { liveAt: at })), [
    "a/k0",
    "a/k2",
    "a/k4",
    "a/k6",
    "a/k8",
  ]);
  // Pages of 2 by seek: a due key at a page's end does not make an empty page.
  const pages: string[][] = [];
  let seek = "";
  for (let n = 0; n < 10; n++) {
    const r = h.store.range("a/", { seek, limit: 2, liveAt: at });
    pages.push(keys(r));
    if (!r.hasMore) break;
    seek = r.nextSeekKey;
  }
  assert.deepEqual(pages, [["a/k0", "a/k2"], ["a/k4", "a/k6"], ["a/k8"]]);
  // hasMore is false when only due keys follow.
  const tail = h.store.range("a/", { seek: "a/k7", limit: 1, liveAt: at });
  assert.deepEqual(keys(tail), ["a/k8"]);
  assert.equal(tail.hasMore, false);
  assert.equal(h.store.range("a/", { seek: "a/k8", limit: 1, liveAt: at }).hasMore, false);
  // Later, k4 is due too; the directory "a" never expires.
  assert.deepEqual(keys(h.store.range("", { liveAt: T0 + 5_000 })), [
    "a",
    "a/k0",
    "a/k2",
    "a/k6",
    "a/k8",
  ]);
});

// ---- members, indexes, listener ---------------------------------------------------------------

Deno.test("Store members: setMember, removeMember and the members command", () => {
  const h = new Harness();
  h.store.setMember({ id: 3, peerAddr: "p3", clientAddr: "c3", learner: true });
  h.store.setMember({ id: 1, peerAddr: "p1", clientAddr: "c1", learner: false });
  const r = ok(h.apply({
    kind: "members",
    members: [{ id: 3, peerAddr: "p3b", clientAddr: "c3b" }, {
      id: 2,
      peerAddr: "p2",
      clientAddr: "c2",
    }],
  }));
  assert.equal(r.revision, 0);
  assert.deepEqual(h.store.members(), [
    { id: 1, peerAddr: "p1", clientAddr: "c1", learner: false },
    { id: 2, peerAddr: "p2", clientAddr: "c2", learner: false },
    { id: 3, peerAddr: "p3b", clientAddr: "c3b", learner: true },
  ]);
  assert.equal(h.store.removeMember(2), true);
  assert.equal(h.store.removeMember(2), false);
  assert.deepEqual(h.store.members().map((m) => m.id), [1, 3]);
  const bad = failed(
    h.apply({ kind: "members", members: [{ id: 0, peerAddr: "", clientAddr: "" }] }),
  );
  assert.equal(bad.code, "INVALID_ARGUMENT");
  assert.equal(bad.field, "members[0].id");
  assert.throws(
    () => h.store.setMember({ id: -1, peerAddr: "", clientAddr: "", learner: false }),
    RangeError,
  );
});

Deno.test("Store.applyCommand() requires increasing indexes; markApplied() records skipped entries", () => {
  const s = new Store();
  ok(s.applyCommand(txn([setOp("a")]), 5));
  assert.equal(s.appliedIndex, 5);
  assert.throws(() => s.applyCommand(txn([setOp("b")]), 5), RangeError);
  assert.throws(() => s.markApplied(4), RangeError);
  s.markApplied(6);
  assert.equal(s.appliedIndex, 6);
  assert.equal(s.get("b"), undefined);
  const unknown = failed(s.applyCommand({ kind: "what" } as never, 7));
  assert.equal(unknown.code, "INVALID_ARGUMENT");
  assert.equal(s.appliedIndex, 7);
});

Deno.test("Store options.onChanges gets every revision once, in order, with frozen changes", () => {
  const h = new Harness();
  ok(h.run([setOp("a/b")]));
  failed(h.run([unsetOp("zz")]));
  ok(h.apply({ kind: "expire", time: T0, keys: [{ key: "a/b", force: true }] }));
  ok(h.run([unsetOp("a", { isDir: true })]));
  assert.deepEqual(h.published.map((p) => p.revision), [1, 2, 3]);
  assert.deepEqual(h.published.map((p) => p.changes.map(describe)), [
    ["set a", "set a/b"],
    ["unset a/b (expired)"],
    ["unset a (unset)"],
  ]);
  for (const p of h.published) {
    assert.ok(Object.isFrozen(p.changes));
    assert.ok(p.changes.every((c) => c.revision === p.revision));
  }
});

Deno.test("Store applies the same commands to the same state on every node", () => {
  const a = new Harness();
  const b = new Harness();
  const prng = new SeededPrng(3);
  for (let i = 0; i < 400; i++) {
    const k = `k${prng.intn(20)}/${prng.intn(5)}`;
    const cmd = prng.chance(0.7)
      ? txn([setOp(k, String(i), { ttl: prng.intn(3) })], { time: T0 + i * 300 })
      : txn([unsetOp(k.split("/")[0]!, { isDir: true })], { time: T0 + i * 300 });
    assert.deepEqual(a.apply(cmd), b.apply(cmd));
  }
  assert.deepEqual(a.store.snapshot(), b.store.snapshot());
  assert.deepEqual(a.published, b.published);
});
