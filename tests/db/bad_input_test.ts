/**
 * Bad input against a real cassemdb process, over every RPC of the KV and
 * Cluster services: each row names the status code and, for INVALID_ARGUMENT
 * and store refusals, the field (`DbError.field`, from `x-cassem-field`).
 * After every row the node's revision and member table must be unchanged:
 * nothing a refused request carried was applied, not even in part.
 */

import assert from "node:assert/strict";
import type { DbClient } from "../../shared/db/client.ts";
import { DbError } from "../../shared/db/errors.ts";
import type { Condition, TxnOp, WatchReq } from "../../shared/db/types.ts";
import { grpc } from "../../shared/grpc.ts";
import { recordWatch } from "./_checks.ts";
import { waitFor } from "../support/procs.ts";
import { type DbProc, type TestCluster, withCluster } from "./_cluster.ts";
import { scenario } from "./_scenario.ts";

const S = grpc.status;
const enc = new TextEncoder();
const val = (s: string) => enc.encode(s);

/** One bad request: what to call, and the status (and field) it must fail with. */
interface Row {
  rpc: string;
  what: string;
  call: (db: DbClient) => Promise<unknown>;
  code: number;
  /** The field the error must name; undefined: it must name none. */
  field?: string;
}

/** The first error a watch reports (it stops by itself on INVALID_ARGUMENT and OUT_OF_RANGE). */
function watchError(db: DbClient, req: WatchReq): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(() => {
      w.close();
      reject(new Error("Cannot see the watch fail within 5 s"));
    }, 5_000);
    const w = db.watch(req, {
      onChanges: () => {},
      onRetry: (e) => {
        clearTimeout(timer);
        w.close();
        reject(e);
      },
      onCompacted: (e) => {
        clearTimeout(timer);
        w.close();
        reject(new DbError(S.OUT_OF_RANGE, e.message, {}));
      },
    });
  });
}

const set = (key: string, extra: Record<string, unknown> = {}): TxnOp => ({
  set: { key, val: val("t"), overwrite: true, ...extra },
});
const cond = (c: Record<string, unknown>) => c as Condition;

function rows(): Row[] {
  const longKey = "k/" + "x".repeat(2048);
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `many/k${i}`);
  const IA = S.INVALID_ARGUMENT;
  const FP = S.FAILED_PRECONDITION;
  return [
    // ---- GetKV
    { rpc: "GetKV", what: "empty key", call: (d) => d.getKV(""), code: IA, field: "key" },
    { rpc: "GetKV", what: '"//" in key', call: (d) => d.getKV("a//b"), code: IA, field: "key" },
    { rpc: "GetKV", what: 'leading "/"', call: (d) => d.getKV("/a"), code: IA, field: "key" },
    { rpc: "GetKV", what: 'trailing "/"', call: (d) => d.getKV("a/"), code: IA, field: "key" },
    { rpc: "GetKV", what: '".." segment', call: (d) => d.getKV("a/../b"), code: IA, field: "key" },
    { rpc: "GetKV", what: "2 KiB key", call: (d) => d.getKV(longKey), code: IA, field: "key" },
    { rpc: "GetKV", what: "control char", call: (d) => d.getKV("a\u0001"), code: IA, field: "key" },
    // ---- GetKVs
    { rpc: "GetKVs", what: "no keys", call: (d) => d.getKVs([]), code: IA, field: "keys" },
    { rpc: "GetKVs", what: "101 keys", call: (d) => d.getKVs(keys(101)), code: IA, field: "keys" },
    {
      rpc: "GetKVs",
      what: "duplicate keys",
      call: (d) => d.getKVs(["el", "el"]),
      code: IA,
      field: "keys[1]",
    },
    {
      rpc: "GetKVs",
      what: "one bad key",
      call: (d) => d.getKVs(["el", "/x"]),
      code: IA,
      field: "keys[1]",
    },
    // ---- SetKV
    { rpc: "SetKV", what: "empty key", call: (d) => d.setKV({ key: "" }), code: IA, field: "key" },
    {
      rpc: "SetKV",
      what: '"//" in key',
      call: (d) => d.setKV({ key: "a//b", val: val("x") }),
      code: IA,
      field: "key",
    },
    {
      rpc: "SetKV",
      what: 'leading "/"',
      call: (d) => d.setKV({ key: "/a", val: val("x") }),
      code: IA,
      field: "key",
    },
    {
      rpc: "SetKV",
      what: "2 KiB key",
      call: (d) => d.setKV({ key: longKey, val: val("x") }),
      code: IA,
      field: "key",
    },
    {
      rpc: "SetKV",
      what: "value of 256 KiB + 1",
      call: (d) => d.setKV({ key: "big", val: new Uint8Array(256 * 1024 + 1) }),
      code: IA,
      field: "val",
    },
    {
      rpc: "SetKV",
      what: "ttl -1",
      call: (d) => d.setKV({ key: "t", val: val("x"), ttl: -1 }),
      code: IA,
      field: "ttl",
    },
    {
      rpc: "SetKV",
      what: "ttl over ten years",
      call: (d) => d.setKV({ key: "t", val: val("x"), ttl: 11 * 365 * 24 * 3600 }),
      code: IA,
      field: "ttl",
    },
    {
      rpc: "SetKV",
      what: "directory with a value",
      call: (d) => d.setKV({ key: "d2", isDir: true, val: val("x") }),
      code: IA,
      field: "val",
    },
    {
      rpc: "SetKV",
      what: "directory with a ttl",
      call: (d) => d.setKV({ key: "d2", isDir: true, ttl: 5 }),
      code: IA,
      field: "ttl",
    },
    {
      rpc: "SetKV",
      what: "mod_revision 0",
      call: (d) => d.setKV({ key: "el", val: val("y"), condition: cond({ modRevision: 0 }) }),
      code: IA,
      field: "condition.mod_revision",
    },
    {
      rpc: "SetKV",
      what: "mod_revision -3",
      call: (d) => d.setKV({ key: "el", val: val("y"), condition: cond({ modRevision: -3 }) }),
      code: IA,
      field: "condition.mod_revision",
    },
    {
      rpc: "SetKV",
      what: "existing element without overwrite",
      call: (d) => d.setKV({ key: "el", val: val("y") }),
      code: S.ALREADY_EXISTS,
      field: "key",
    },
    {
      rpc: "SetKV",
      what: "element under an element",
      call: (d) => d.setKV({ key: "el/child", val: val("y") }),
      code: FP,
      field: "key",
    },
    {
      rpc: "SetKV",
      what: "element over a directory",
      call: (d) => d.setKV({ key: "dir", val: val("y"), overwrite: true }),
      code: FP,
      field: "is_dir",
    },
    {
      rpc: "SetKV",
      what: "directory over an element",
      call: (d) => d.setKV({ key: "el", isDir: true }),
      code: FP,
      field: "is_dir",
    },
    {
      rpc: "SetKV",
      what: "stale mod_revision",
      call: (d) =>
        d.setKV({ key: "el", val: val("y"), overwrite: true, condition: { modRevision: 999 } }),
      code: FP,
      field: "condition",
    },
    {
      rpc: "SetKV",
      what: "must_not_exist on an existing key",
      call: (d) =>
        d.setKV({ key: "el", val: val("y"), overwrite: true, condition: { mustNotExist: true } }),
      code: FP,
      field: "condition",
    },
    {
      rpc: "SetKV",
      what: "must_exist on a missing key",
      call: (d) => d.setKV({ key: "nope", val: val("y"), condition: { mustExist: true } }),
      code: FP,
      field: "condition",
    },
    // ---- UnsetKV
    {
      rpc: "UnsetKV",
      what: "empty key",
      call: (d) => d.unsetKV({ key: "" }),
      code: IA,
      field: "key",
    },
    {
      rpc: "UnsetKV",
      what: 'leading "/"',
      call: (d) => d.unsetKV({ key: "/el" }),
      code: IA,
      field: "key",
    },
    {
      rpc: "UnsetKV",
      what: "missing key",
      call: (d) => d.unsetKV({ key: "nope" }),
      code: S.NOT_FOUND,
      field: "key",
    },
    {
      rpc: "UnsetKV",
      what: "directory without is_dir",
      call: (d) => d.unsetKV({ key: "dir" }),
      code: FP,
      field: "is_dir",
    },
    {
      rpc: "UnsetKV",
      what: "stale mod_revision",
      call: (d) => d.unsetKV({ key: "el", condition: { modRevision: 999 } }),
      code: FP,
      field: "condition",
    },
    // ---- Range
    {
      rpc: "Range",
      what: "limit 0",
      call: (d) => d.range({ key: "", limit: 0 }),
      code: IA,
      field: "limit",
    },
    {
      rpc: "Range",
      what: "limit 101",
      call: (d) => d.range({ key: "", limit: 101 }),
      code: IA,
      field: "limit",
    },
    {
      rpc: "Range",
      what: 'leading "/"',
      call: (d) => d.range({ key: "/dir", limit: 10 }),
      code: IA,
      field: "key",
    },
    {
      rpc: "Range",
      what: 'seek with leading "/"',
      call: (d) => d.range({ key: "dir", seek: "/dir/a", limit: 10 }),
      code: IA,
      field: "seek",
    },
    {
      rpc: "Range",
      what: "2 KiB prefix",
      call: (d) => d.range({ key: longKey, limit: 10 }),
      code: IA,
      field: "key",
    },
    // ---- Watch
    {
      rpc: "Watch",
      what: "no keys",
      call: (d) => watchError(d, { keys: [] }),
      code: IA,
      field: "keys",
    },
    {
      rpc: "Watch",
      what: "21 keys",
      call: (d) => watchError(d, { keys: keys(21) }),
      code: IA,
      field: "keys",
    },
    {
      rpc: "Watch",
      what: '"//" in a key',
      call: (d) => watchError(d, { keys: ["a//b"] }),
      code: IA,
      field: "keys[0]",
    },
    {
      rpc: "Watch",
      what: "duplicate keys",
      call: (d) => watchError(d, { keys: ["el", "el"] }),
      code: IA,
      field: "keys[1]",
    },
    // ---- TTL
    { rpc: "TTL", what: "empty key", call: (d) => d.ttl(""), code: IA, field: "key" },
    { rpc: "TTL", what: "missing key", call: (d) => d.ttl("nope"), code: S.NOT_FOUND },
    // ---- Expire
    { rpc: "Expire", what: "empty key", call: (d) => d.expire(""), code: IA, field: "key" },
    {
      rpc: "Expire",
      what: "missing key",
      call: (d) => d.expire("nope"),
      code: S.NOT_FOUND,
      field: "key",
    },
    { rpc: "Expire", what: "a directory", call: (d) => d.expire("dir"), code: FP, field: "key" },
    // ---- Txn
    {
      rpc: "Txn",
      what: "no ops",
      call: (d) => d.txn({ compares: [], ops: [] }),
      code: IA,
      field: "ops",
    },
    {
      rpc: "Txn",
      what: "65 ops",
      call: (d) => d.txn({ compares: [], ops: keys(65).map((k) => set(k)) }),
      code: IA,
      field: "ops",
    },
    {
      rpc: "Txn",
      what: "65 compares",
      call: (d) =>
        d.txn({
          compares: keys(65).map((k) => ({ key: k, condition: { mustNotExist: true } })),
          ops: [set("txn/new")],
        }),
      code: IA,
      field: "compares",
    },
    {
      rpc: "Txn",
      what: "duplicate op keys",
      call: (d) => d.txn({ compares: [], ops: [set("txn/new"), { unset: { key: "txn/new" } }] }),
      code: IA,
      field: "ops[1]",
    },
    {
      rpc: "Txn",
      what: "an op that is neither set nor unset",
      call: (d) => d.txn({ compares: [], ops: [{}] }),
      code: IA,
      field: "ops[0]",
    },
    {
      rpc: "Txn",
      what: "a bad key in an op",
      call: (d) => d.txn({ compares: [], ops: [set("txn/new"), set("a//b")] }),
      code: IA,
      field: "ops[1].set.key",
    },
    {
      rpc: "Txn",
      what: "a bad ttl in an op",
      call: (d) => d.txn({ compares: [], ops: [set("txn/new", { ttl: -1 })] }),
      code: IA,
      field: "ops[0].set.ttl",
    },
    {
      rpc: "Txn",
      what: "a bad compare key",
      call: (d) =>
        d.txn({ compares: [{ key: "/x", condition: { mustExist: true } }], ops: [set("txn/new")] }),
      code: IA,
      field: "compares[0].key",
    },
    {
      rpc: "Txn",
      what: "a compare with mod_revision 0",
      call: (d) =>
        d.txn({
          compares: [{ key: "el", condition: cond({ modRevision: 0 }) }],
          ops: [set("txn/new")],
        }),
      code: IA,
      field: "compares[0].condition.mod_revision",
    },
    {
      rpc: "Txn",
      what: "values over 2 MiB in all",
      call: (d) =>
        d.txn({
          compares: [],
          ops: keys(9).map((k) => set(k, { val: new Uint8Array(256 * 1024) })),
        }),
      code: IA,
      field: "ops",
    },
    {
      rpc: "Txn",
      what: "a later op unsets a missing key (the set before it must not apply)",
      call: (d) => d.txn({ compares: [], ops: [set("txn/new"), { unset: { key: "nope" } }] }),
      code: S.NOT_FOUND,
      field: "ops[1].unset.key",
    },
    {
      rpc: "Txn",
      what: "a later op sets under an element",
      call: (d) => d.txn({ compares: [], ops: [set("txn/new"), set("el/child")] }),
      code: FP,
      field: "ops[1].set.key",
    },
    {
      rpc: "Txn",
      what: "a later op has a stale condition",
      call: (d) =>
        d.txn({
          compares: [],
          ops: [set("txn/new"), { unset: { key: "el", condition: { modRevision: 999 } } }],
        }),
      code: FP,
      field: "ops[1].unset.condition",
    },
    {
      rpc: "Txn",
      what: "a later op removes a directory without is_dir",
      call: (d) => d.txn({ compares: [], ops: [set("txn/new"), { unset: { key: "dir" } }] }),
      code: FP,
      field: "ops[1].unset.is_dir",
    },
    // ---- AddNode
    {
      rpc: "AddNode",
      what: "peer_addr without a port",
      call: (d) => d.addNode({ peerAddr: "nope", clientAddr: "127.0.0.1:1" }),
      code: IA,
      field: "peer_addr",
    },
    {
      rpc: "AddNode",
      what: "client_addr without a port",
      call: (d) => d.addNode({ peerAddr: "127.0.0.1:1", clientAddr: "1.2.3.4" }),
      code: IA,
      field: "client_addr",
    },
    {
      rpc: "AddNode",
      what: "port 0",
      call: (d) => d.addNode({ peerAddr: "127.0.0.1:0", clientAddr: "127.0.0.1:1" }),
      code: IA,
      field: "peer_addr",
    },
    {
      rpc: "AddNode",
      what: "port 70000",
      call: (d) => d.addNode({ peerAddr: "127.0.0.1:70000", clientAddr: "127.0.0.1:1" }),
      code: IA,
      field: "peer_addr",
    },
    {
      rpc: "AddNode",
      what: "spaces in the address",
      call: (d) => d.addNode({ peerAddr: "127.0.0.1 :1", clientAddr: "127.0.0.1:1" }),
      code: IA,
      field: "peer_addr",
    },
    {
      rpc: "AddNode",
      what: "the id of a member",
      call: (d) => d.addNode({ peerAddr: "127.0.0.1:2", clientAddr: "127.0.0.1:3", id: 1 }),
      code: S.ALREADY_EXISTS,
    },
    // (the peer address of a member is added in the test, once it is known)
    // ---- RemoveNode
    { rpc: "RemoveNode", what: "unknown id", call: (d) => d.removeNode(42), code: S.NOT_FOUND },
    { rpc: "RemoveNode", what: "id 0", call: (d) => d.removeNode(0), code: S.NOT_FOUND },
    { rpc: "RemoveNode", what: "the last voter", call: (d) => d.removeNode(1), code: FP },
    // ---- TransferLeader
    {
      rpc: "TransferLeader",
      what: "a node that is not a voter",
      call: (d) => d.transferLeader(42),
      code: FP,
    },
    { rpc: "TransferLeader", what: "id 0", call: (d) => d.transferLeader(0), code: FP },
  ];
}

const ALL_RPCS = [
  "GetKV",
  "GetKVs",
  "SetKV",
  "UnsetKV",
  "Range",
  "Watch",
  "TTL",
  "Expire",
  "Txn",
  "AddNode",
  "RemoveNode",
  "TransferLeader",
];

/** What must not change when a request is refused. */
async function fingerprint(c: TestCluster, node: DbProc, db: DbClient) {
  const st = await c.status(node);
  assert.ok(st, "the node answers Status");
  const members = (await db.members()).members;
  return { revision: st.revision, keys: st.keys, members: JSON.stringify(members) };
}

scenario(
  import.meta.url,
  "cassemdb refuses bad input on every RPC with the right status and field",
  async () => {
    await withCluster({ name: "bad-input", snapshotEvery: 5 }, async (c) => {
      const [node] = await c.startFounders(1) as [DbProc];
      const db = c.client();
      // The state the rows run against.
      await db.setKV({ key: "el", val: val("x") });
      await db.setKV({ key: "dir/a", val: val("x") });
      const base = await fingerprint(c, node, db);
      const everything = recordWatch(db, {
        keys: [""],
        prefix: true,
        startRevision: base.revision + 1,
      });

      const table = [
        ...rows(),
        {
          rpc: "AddNode",
          what: "the peer address of a member",
          call: (d: DbClient) => d.addNode({ peerAddr: node.peerAddr, clientAddr: "127.0.0.1:3" }),
          code: S.ALREADY_EXISTS,
        },
      ];
      assert.deepEqual([...new Set(table.map((r) => r.rpc))].sort(), [...ALL_RPCS].sort());
      const problems: string[] = [];
      for (const row of table) {
        const label = `${row.rpc} ${row.what}`;
        try {
          await row.call(db);
          problems.push(`${label}: succeeded`);
          continue;
        } catch (e) {
          if (!(e instanceof DbError)) {
            problems.push(`${label}: threw ${e}`);
            continue;
          }
          if (e.code !== row.code) {
            problems.push(
              `${label}: ${S[e.code]} instead of ${S[row.code]} (${e.message})`,
            );
          } else if (e.field !== row.field) {
            problems.push(`${label}: field ${e.field} instead of ${row.field} (${e.message})`);
          }
        }
        const now = await fingerprint(c, node, db);
        if (JSON.stringify(now) !== JSON.stringify(base)) {
          problems.push(`${label}: changed the store: ${JSON.stringify(now)}`);
        }
      }
      assert.deepEqual(problems, [], `\n${problems.join("\n")}`);

      // A negative start revision never leaves the client (the server would
      // refuse it too, naming start_revision).
      assert.throws(
        () => db.watch({ keys: ["el"], startRevision: -1 }, { onChanges: () => {} }),
        RangeError,
      );
      // NOT_FOUND of GetKV is the client's `undefined`; GetKVs leaves missing keys out.
      assert.equal(await db.getKV("nope"), undefined);
      assert.deepEqual((await db.getKVs(["nope", "el"])).entities.map((e) => e.key), ["el"]);
      // A Txn whose compare fails is no error: it applies nothing.
      const t = await db.txn({
        compares: [{ key: "el", condition: { mustNotExist: true } }],
        ops: [set("txn/new")],
      });
      assert.equal(t.succeeded, false);
      assert.equal(t.revision, base.revision);
      assert.equal(await db.getKV("txn/new"), undefined, "a refused Txn left a trace");
      assert.deepEqual(await fingerprint(c, node, db), base);
      // A write after all the refused ones: once the watcher has it, anything
      // a refused request had changed would have reached it first.
      const sentinel = await db.setKV({ key: "sentinel", val: val("x") });
      await waitFor(
        "the watcher at the sentinel write",
        () => everything.revision() >= sentinel.revision || undefined,
      );
      assert.deepEqual(
        everything.log.events.filter((e) => e.revision !== sentinel.revision),
        [],
        "a watcher saw changes from refused requests",
      );
      assert.deepEqual(everything.log.retries, [], "the watcher had to resume");
      everything.close();
      console.log(`${table.length} bad requests over ${ALL_RPCS.length} RPCs refused as expected`);

      // OUT_OF_RANGE: after a restart from its snapshot (--snapshot-every 5) the
      // node's watch history starts at the snapshot, so revision 1 is compacted.
      for (let i = 0; i < 10; i++) await db.setKV({ key: `more/k${i}`, val: val("x") });
      await c.kill(node);
      await c.restart(node);
      const err = await waitFor(
        "a watch from revision 1",
        () =>
          watchError(c.client({ endpoints: [node.clientAddr] }), { keys: ["el"], startRevision: 1 })
            // Anything else (the node still starting) is retried.
            .catch((e) => e instanceof DbError && e.code === S.OUT_OF_RANGE ? e : undefined),
        { timeoutMs: 15_000 },
      );
      assert.ok(err instanceof DbError, String(err));
      assert.equal(err.code, S.OUT_OF_RANGE, err.message);
      console.log(`watch from revision 1 after the restart: ${err.message}`);
    });
  },
);
