import assert from "node:assert/strict";
import type { TxnRequest } from "./api.ts";
import { Txn } from "./txn.ts";

Deno.test("Txn collects compares and ops in call order and commits a copy", async () => {
  const sent: TxnRequest[] = [];
  const t = new Txn((req) => {
    sent.push(req);
    return Promise.resolve({ succeeded: true, revision: 1, entities: [] });
  });
  t.if("a", { modRevision: 3 })
    .set("a", "x", { ttl: 5 })
    .if("b", { mustNotExist: true })
    .unset("c", { isDir: true })
    .ops({ op: "set", key: "d", val: new Uint8Array([1]) });
  assert.deepEqual(t.request(), {
    compares: [{ key: "a", condition: { modRevision: 3 } }, {
      key: "b",
      condition: { mustNotExist: true },
    }],
    ops: [
      { ttl: 5, op: "set", key: "a", val: "x" },
      { isDir: true, op: "unset", key: "c" },
      { op: "set", key: "d", val: new Uint8Array([1]) },
    ],
  });
  await t.commit();
  await t.commit(); // a retry sends the same request again
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[0], sent[1]);
  assert.notEqual(sent[0], sent[1]);
  // Not a thenable: awaiting a builder must not call it as a promise.
  assert.equal("then" in t, false);
});
