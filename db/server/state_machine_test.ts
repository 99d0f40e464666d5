import assert from "node:assert/strict";
import { ConfChangeType, EntryType } from "../../shared/raft/types.ts";
import { encodeCommand } from "../../shared/store/mod.ts";
import { NodeRemovedError, WatchLeaderlessError } from "./errors.ts";
import { DbStateMachine } from "./state_machine.ts";

const T0 = 1_700_000_000_000;
const set = (key: string, id?: string) =>
  encodeCommand({
    kind: "txn",
    time: T0,
    compares: [],
    ops: [{ op: "set", key, isDir: false, ttl: 0, val: new Uint8Array([1, 2]), overwrite: true }],
    ...(id ? { id } : {}),
  });
/** The watcher's error, read afresh (an assertion on it would narrow the property). */
const errorOf = (w: { error: Error | undefined }): Error | undefined => w.error;
const entry = (index: number, data: Uint8Array) => ({
  index,
  term: 1,
  type: EntryType.Normal,
  data,
});

Deno.test("DbStateMachine request ids are unique, carry the node id, and find each result", () => {
  const sm = new DbStateMachine();
  sm.setId(7);
  const other = new DbStateMachine();
  other.setId(7);
  const ids = [sm.nextRequestId(), sm.nextRequestId(), other.nextRequestId()];
  assert.equal(new Set(ids).size, 3, "a restarted node (new process) never repeats an id");
  for (const id of ids) assert.match(id, /^7\.[0-9a-f]{16}\.\d+$/);
  sm.apply([entry(1, set("a", ids[0])), entry(2, new Uint8Array()), entry(3, set("b"))]);
  const r = sm.store.requestResult(ids[0]!);
  assert.ok(r?.ok);
  assert.equal(r.revision, 1);
  assert.equal(r.entities![0]!.val.byteLength, 0, "results keep no values");
  assert.equal(sm.store.requestOutcome(ids[1]!, 3).state, "not-applied");
  assert.equal(sm.store.requestOutcome(ids[1]!, 4).state, "unknown");
});

Deno.test("DbStateMachine ends its watches when this node's removal applies", () => {
  const sm = new DbStateMachine();
  sm.setId(2);
  const w = sm.hub.watch({ keys: ["a"] });
  assert.equal(sm.watchRefusal(), undefined);
  sm.onConfChange({ type: ConfChangeType.RemoveNode, nodeId: 3, context: "" }, {}, 1);
  assert.equal(w.error, undefined, "another node's removal changes nothing");
  sm.onConfChange({ type: ConfChangeType.RemoveNode, nodeId: 2, context: "" }, {}, 2);
  assert.ok(errorOf(w) instanceof NodeRemovedError, String(w.error));
  assert.ok(sm.watchRefusal() instanceof NodeRemovedError);
  sm.onConfChange({ type: ConfChangeType.AddLearner, nodeId: 2, context: "" }, {}, 3);
  assert.equal(sm.watchRefusal(), undefined, "added again: it serves watches again");
});

Deno.test("DbStateMachine ends its watches after going without a leader for the limit", async () => {
  const sm = new DbStateMachine();
  sm.setId(1);
  sm.setLeaderlessLimit(30, 2);
  const w = sm.hub.watch({ keys: ["a"] });
  sm.onLeaderChange(0, 3);
  sm.onLeaderChange(3, 3); // a leader within the limit: nothing happens
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(w.error, undefined);
  assert.equal(sm.watchRefusal(), undefined);
  sm.onLeaderChange(0, 4);
  await new Promise((r) => setTimeout(r, 60));
  assert.ok(errorOf(w) instanceof WatchLeaderlessError, String(w.error));
  assert.match(errorOf(w)!.message, /no leader for 30 ms/);
  assert.ok(sm.watchRefusal() instanceof WatchLeaderlessError);
  sm.onLeaderChange(3, 5);
  assert.equal(sm.watchRefusal(), undefined, "a leader again: it serves watches again");
  sm.setLeaderlessLimit(0, 0); // and stops its timer
});
