import assert from "node:assert/strict";
import { decodeCommand, encodeCommand } from "./command.ts";
import { MAX_REQUEST_ID_LENGTH, RequestTable } from "./request_table.ts";
import { Store } from "./store.ts";
import type { ApplyResult } from "./types.ts";
import { bytes, failed, ok, setOp, T0, txn } from "./_test_util.ts";

const okAt = (revision: number): ApplyResult => ({ ok: true, revision });

Deno.test("RequestTable.outcome() tells applied, certainly not applied and unknown apart", () => {
  const t = new RequestTable({ maxRecords: 3 });
  t.record("a", 2, okAt(1));
  t.record("b", 4, { ok: false, code: "ABORTED", field: "condition", message: "lost" });
  // Applied: the recorded result, wherever asked from.
  assert.deepEqual(t.outcome("a", 2, 10), { state: "applied", index: 2, result: okAt(1) });
  assert.equal(t.outcome("b", 4, 10).state, "applied");
  // Index 3 was applied (not by "c") and is covered: "c" cannot have applied elsewhere.
  assert.deepEqual(t.outcome("c", 3, 10), { state: "not-applied" });
  assert.deepEqual(t.outcome("c", 1, 10), { state: "not-applied" });
  // Not applied yet at this node: nobody can tell.
  assert.deepEqual(t.outcome("c", 11, 10), { state: "unknown" });
  // Two more records push "a" out: index 2 and below are no longer covered.
  t.record("c", 5, okAt(2));
  t.record("d", 9, okAt(3));
  assert.equal(t.coversFrom, 3);
  assert.equal(t.size, 3);
  assert.deepEqual(t.outcome("a", 2, 10), { state: "unknown" });
  assert.deepEqual(t.outcome("x", 1, 10), { state: "unknown" });
  assert.deepEqual(t.outcome("x", 3, 10), { state: "not-applied" });
  assert.equal(t.result("a"), undefined);
  assert.deepEqual(t.result("d"), okAt(3));
});

Deno.test("RequestTable is bounded by bytes, keeping the newest record", () => {
  const t = new RequestTable({ maxBytes: 1_000 });
  const big = (n: number): ApplyResult => ({
    ok: false,
    code: "INVALID_ARGUMENT",
    message: "m".repeat(n),
  });
  for (let i = 1; i <= 20; i++) t.record(`r${i}`, i, big(100));
  assert.ok(t.bytes <= 1_000, `${t.bytes} bytes`);
  assert.ok(t.size >= 2 && t.size < 20, `${t.size} records`);
  assert.equal(t.coversFrom, 20 - t.size + 1);
  // One record larger than the bound on its own still stays (it is the newest).
  t.record("huge", 21, big(5_000));
  assert.equal(t.size, 1);
  assert.equal(t.coversFrom, 21);
  assert.equal(t.outcome("huge", 21, 21).state, "applied");
});

Deno.test("RequestTable keeps an id recorded twice once, at its last index", () => {
  const t = new RequestTable({ maxRecords: 2 });
  t.record("a", 1, okAt(1));
  t.record("a", 2, okAt(2));
  assert.equal(t.size, 1);
  assert.deepEqual(t.outcome("a", 1, 2), { state: "applied", index: 2, result: okAt(2) });
  assert.deepEqual(t.toJson().records.map((r) => r[0]), ["a"]);
  t.record("b", 3, okAt(3));
  t.record("c", 4, okAt(4)); // pushes out the stale "a" and then "a" itself
  assert.deepEqual(t.toJson(), {
    coversFrom: 3,
    records: [["b", 3, { ok: true, revision: 3 }], ["c", 4, { ok: true, revision: 4 }]],
  });
  assert.equal(RequestTable.fromJson(t.toJson()).bytes, t.bytes);
});

Deno.test("RequestTable keeps results without values, frozen", () => {
  const s = new Store();
  const r = ok(s.applyCommand(txn([setOp("a/b", "a value")]), 1));
  const t = new RequestTable();
  t.record("id", 1, r);
  const kept = t.result("id");
  assert.ok(kept?.ok && kept.entities);
  assert.equal(kept.entities[0]!.val.byteLength, 0);
  assert.deepEqual({ ...kept.entities[0]!, val: null }, { ...r.entities![0]!, val: null });
  assert.ok(Object.isFrozen(kept) && Object.isFrozen(kept.entities[0]));
  // The store's own answer is untouched.
  assert.equal(r.entities![0]!.val.byteLength, 7);
});

Deno.test("RequestTable.record() refuses bad ids and records out of log order", () => {
  const t = new RequestTable();
  t.record("a", 5, okAt(1));
  assert.throws(() => t.record("b", 5, okAt(1)), /must follow the log: last index is 5/);
  assert.throws(() => t.record("", 6, okAt(1)), /request id must be a string of 1 to 128/);
  assert.throws(() => t.record("x".repeat(MAX_REQUEST_ID_LENGTH + 1), 6, okAt(1)), RangeError);
  assert.throws(() => new RequestTable({}, 0), /coversFrom must be a positive integer/);
  assert.throws(() => new RequestTable({ maxRecords: 0 }), /maxRecords/);
  const late = new RequestTable({}, 10);
  assert.throws(() => late.record("a", 9, okAt(1)), /must follow the log: last index is 9/);
});

Deno.test("RequestTable.toJson() and fromJson() round-trip, and fromJson() checks everything", () => {
  const s = new Store();
  const t = new RequestTable({ maxRecords: 4 });
  t.record("set", 1, ok(s.applyCommand(txn([setOp("k", "v", { ttl: 5 })]), 1)));
  t.record("lost", 2, failed(s.applyCommand(txn([setOp("k/x", "")]), 2)));
  t.record("cas", 3, {
    ok: true,
    revision: 1,
    succeeded: false,
    entities: [],
    removed: 0,
    failedCompare: 2,
    failedModRevision: 1,
  });
  for (let i = 4; i <= 6; i++) t.record(`r${i}`, i, { ok: true, revision: 1, removed: i });
  const json = JSON.parse(JSON.stringify(t.toJson()));
  const back = RequestTable.fromJson(json, { maxRecords: 4 });
  assert.deepEqual(back.toJson(), t.toJson());
  assert.equal(back.coversFrom, 3);
  assert.equal(back.bytes, t.bytes);
  for (const id of ["set", "lost", "cas", "r4", "r6", "nobody"]) {
    assert.deepEqual(back.outcome(id, 3, 6), t.outcome(id, 3, 6), id);
  }

  const cases: [unknown, RegExp][] = [
    [null, /it must be an object/],
    [{ coversFrom: 0, records: [] }, /coversFrom must be a positive integer/],
    [{ coversFrom: 1, records: {} }, /records must be an array/],
    [{ coversFrom: 1, records: [["a", 1]] }, /must be \[id, index, result\]/],
    [{ coversFrom: 1, records: [[7, 1, { ok: true, revision: 1 }]] }, /request id must be/],
    [{ coversFrom: 5, records: [["a", 4, { ok: true, revision: 1 }]] }, /indexes must increase/],
    [
      { coversFrom: 1, records: [["a", 2, okAt(1)], ["b", 2, okAt(1)]] },
      /indexes must increase/,
    ],
    [{ coversFrom: 1, records: [["a", 1, okAt(1)], ["a", 2, okAt(1)]] }, /a repeats/],
    [{ coversFrom: 1, records: [["a", 1, { ok: true, revision: -1 }]] }, /revision must be/],
    [{ coversFrom: 1, records: [["a", 1, { ok: false, code: "NOPE", message: "" }]] }, /NOPE/],
    [{ coversFrom: 1, records: [["a", 1, { ok: false, code: "ABORTED" }]] }, /message/],
    [
      { coversFrom: 1, records: [["a", 1, { ok: true, revision: 1, entities: [["k"]] }]] },
      /10 fields/,
    ],
    [
      { coversFrom: 1, records: [["a", 1, { ok: true, revision: 1, succeeded: "yes" }]] },
      /succeeded must be a boolean/,
    ],
  ];
  for (const [json, re] of cases) {
    assert.throws(() => RequestTable.fromJson(json), (e: Error) => {
      assert.ok(e instanceof TypeError, e.message);
      assert.match(e.message, /^Cannot restore the request table as /);
      assert.match(e.message, re);
      return true;
    }, String(re));
  }
});

Deno.test("Store records the result of every command that carries a request id", () => {
  const s = new Store({ requests: { maxRecords: 2 } });
  const set = ok(s.applyCommand({ ...txn([setOp("a", "1")]), id: "n1.e.1" }, 1));
  s.applyCommand(txn([setOp("b", "2")]), 2); // no id: nothing recorded
  const refused = s.applyCommand({ ...txn([setOp("a/x", "")]), id: "n1.e.2" }, 3);
  assert.equal(refused.ok, false);
  assert.deepEqual(s.requestOutcome("n1.e.1", 1), {
    state: "applied",
    index: 1,
    result: s.requestResult("n1.e.1"),
  });
  assert.equal(ok(s.requestResult("n1.e.1")!).revision, set.revision);
  assert.deepEqual(s.requestResult("n1.e.2"), refused);
  assert.equal(s.requestOutcome("other", 2).state, "not-applied");
  assert.equal(s.requestOutcome("other", 4).state, "unknown");
  // Expire and members commands are recorded too.
  s.applyCommand({ kind: "expire", time: T0, keys: [], id: "n1.e.3" }, 4);
  assert.deepEqual(s.requestResult("n1.e.3"), { ok: true, revision: 2, removed: 0 });
  assert.equal(s.requestOutcome("n1.e.1", 1).state, "unknown", "pushed out by maxRecords 2");
  assert.deepEqual(s.requestStats().coversFrom, 2);
  // A malformed id applies nothing.
  const bad = s.applyCommand({ ...txn([setOp("c", "3")]), id: "" }, 5);
  assert.equal(bad.ok, false);
  assert.equal((bad as { field?: string }).field, "id");
  assert.equal(s.get("c"), undefined);
});

Deno.test("Store snapshots carry the request table; a version 1 snapshot covers only later entries", () => {
  const s = new Store();
  for (let i = 1; i <= 5; i++) s.applyCommand({ ...txn([setOp(`k${i}`, "v")]), id: `r${i}` }, i);
  const restored = Store.restore(s.snapshot());
  assert.deepEqual(restored.requestStats(), s.requestStats());
  assert.equal(restored.requestOutcome("r3", 3).state, "applied");
  assert.equal(restored.requestOutcome("gone", 3).state, "not-applied");

  // The same state as a version 1 snapshot (written before request ids existed).
  const snap = s.snapshot();
  const headerLength = new DataView(snap.buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(snap.subarray(8, 8 + headerLength)));
  delete header.requests;
  header.version = 1;
  const json = bytes(JSON.stringify(header));
  const v1 = new Uint8Array(8 + json.byteLength + snap.byteLength - 8 - headerLength);
  v1.set(snap.subarray(0, 4));
  new DataView(v1.buffer).setUint32(4, json.byteLength, true);
  v1.set(json, 8);
  v1.set(snap.subarray(8 + headerLength), 8 + json.byteLength);
  const old = Store.restore(v1);
  assert.equal(old.count(), s.count());
  assert.equal(old.requestOutcome("r3", 3).state, "unknown");
  assert.equal(old.requestOutcome("gone", 5).state, "unknown");
  old.applyCommand({ ...txn([setOp("k6", "v")]), id: "r6" }, 6);
  assert.equal(old.requestOutcome("r6", 6).state, "applied");
  assert.equal(old.requestOutcome("gone", 6).state, "not-applied");
  assert.equal(old.requestStats().coversFrom, 6);
});

Deno.test("encodeCommand() and decodeCommand() carry a request id and refuse a malformed one", () => {
  const cmd = { ...txn([setOp("a", "1")]), id: "3.00ff00ff00ff00ff.42" };
  assert.deepEqual(decodeCommand(encodeCommand(cmd)), cmd);
  assert.throws(() => encodeCommand({ ...cmd, id: "" }), /request id must be a string/);
  assert.throws(
    () => encodeCommand({ ...cmd, id: 7 as unknown as string }),
    /request id must be a string/,
  );
});
