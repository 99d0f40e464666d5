/**
 * Bad input against a real cassemdb process, over every RPC of the KV and
 * Cluster services: each row names the status code and, for INVALID_ARGUMENT
 * and store refusals, the field (`DbError.field`, from `x-cassem-field`).
 * After every row the node's revision and member table must be unchanged:
 * nothing a refused request carried was applied, not even in part.
 */

import assert from "node:assert/strict";
import {
  type Condition,
  type DbClient,
  DbError,
  statusName,
  type TxnOp,
  type WatchRequest,
} from "../../shared/db/mod.ts";
import { grpc } from "../../shared/grpc.ts";
import { GrpcTransport } from "../../db/peer/mod.ts";
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
function watchError(db: DbClient, req: WatchRequest): Promise<never> {
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
      onError: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
  });
}

const set = (key: string, extra: Record<string, unknown> = {}): TxnOp => ({
  op: "set",
  key,
  val: val("t"),
  overwrite: true,
  ...extra,
});
const cond = (c: Record<string, unknown>) => c as Condition;

function rows(): Row[] {
  const longKey = "k/" + "x".repeat(2048);
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `many/k${i}`);
  const IA = S.INVALID_ARGUMENT;
  const FP = S.FAILED_PRECONDITION;
  const AB = S.ABORTED;
  return [
    // ---- GetKV
    { rpc: "GetKV", what: "empty key", call: (d) => d.get(""), code: IA, field: "key" },
    { rpc: "GetKV", what: '"//" in key', call: (d) => d.get("a//b"), code: IA, field: "key" },
    { rpc: "GetKV", what: 'leading "/"', call: (d) => d.get("/a"), code: IA, field: "key" },
    { rpc: "GetKV", what: 'trailing "/"', call: (d) => d.get("a/"), code: IA, field: "key" },
    { rpc: "GetKV", what: '".." segment', call: (d) => d.get("a/../b"), code: IA, field: "key" },
    { rpc: "GetKV", what: "2 KiB key", call: (d) => d.get(longKey), code: IA, field: "key" },
    { rpc: "GetKV", what: "control char", call: (d) => d.get("a\u0001"), code: IA, field: "key" },
    // ---- GetKVs
    { rpc: "GetKVs", what: "no keys", call: (d) => d.getMany([]), code: IA, field: "keys" },
    { rpc: "GetKVs", what: "101 keys", call: (d) => d.getMany(keys(101)), code: IA, field: "keys" },
    {
      rpc: "GetKVs",
      what: "duplicate keys",
      call: (d) => d.getMany(["el", "el"]),
      code: IA,
      field: "keys[1]",
    },
    {
      rpc: "GetKVs",
      what: "one bad key",
      call: (d) => d.getMany(["el", "/x"]),
      code: IA,
      field: "keys[1]",
    },
    // ---- SetKV
    { rpc: "SetKV", what: "empty key", call: (d) => d.set("", ""), code: IA, field: "key" },
    {
      rpc: "SetKV",
      what: '"//" in key',
      call: (d) => d.set("a//b", val("x")),
      code: IA,
      field: "key",
    },
    {
      rpc: "SetKV",
      what: 'leading "/"',
      call: (d) => d.set("/a", val("x")),
      code: IA,
      field: "key",
    },
    {
      rpc: "SetKV",
      what: "2 KiB key",
      call: (d) => d.set(longKey, val("x")),
      code: IA,
      field: "key",
    },
    {
      rpc: "SetKV",
      what: "value of 256 KiB + 1",
      call: (d) => d.set("big", new Uint8Array(256 * 1024 + 1)),
      code: IA,
      field: "val",
    },
    {
      rpc: "SetKV",
      what: "ttl -1",
      call: (d) => d.set("t", val("x"), { ttl: -1 }),
      code: IA,
      field: "ttl",
    },
    {
      rpc: "SetKV",
      what: "ttl over ten years",
      call: (d) => d.set("t", val("x"), { ttl: 11 * 365 * 24 * 3600 }),
      code: IA,
      field: "ttl",
    },
    {
      rpc: "SetKV",
      what: "directory with a value",
      call: (d) => d.set("d2", val("x"), { isDir: true }),
      code: IA,
      field: "val",
    },
    {
      rpc: "SetKV",
      what: "directory with a ttl",
      call: (d) => d.set("d2", "", { isDir: true, ttl: 5 }),
      code: IA,
      field: "ttl",
    },
    {
      rpc: "SetKV",
      what: "mod_revision 0",
      call: (d) => d.set("el", val("y"), { condition: cond({ modRevision: 0 }) }),
      code: IA,
      field: "condition.mod_revision",
    },
    {
      rpc: "SetKV",
      what: "mod_revision -3",
      call: (d) => d.set("el", val("y"), { condition: cond({ modRevision: -3 }) }),
      code: IA,
      field: "condition.mod_revision",
    },
    {
      rpc: "SetKV",
      what: "existing element without overwrite",
      call: (d) => d.set("el", val("y")),
      code: S.ALREADY_EXISTS,
      field: "key",
    },
    {
      rpc: "SetKV",
      what: "element under an element",
      call: (d) => d.set("el/child", val("y")),
      code: FP,
      field: "key",
    },
    {
      rpc: "SetKV",
      what: "element over a directory",
      call: (d) => d.set("dir", val("y"), { overwrite: true }),
      code: FP,
      field: "is_dir",
    },
    {
      rpc: "SetKV",
      what: "directory over an element",
      call: (d) => d.set("el", "", { isDir: true }),
      code: FP,
      field: "is_dir",
    },
    {
      rpc: "SetKV",
      what: "stale mod_revision",
      call: (d) => d.set("el", val("y"), { overwrite: true, condition: { modRevision: 999 } }),
      code: AB,
      field: "condition",
    },
    {
      rpc: "SetKV",
      what: "must_not_exist on an existing key",
      call: (d) => d.set("el", val("y"), { overwrite: true, condition: { mustNotExist: true } }),
      code: AB,
      field: "condition",
    },
    {
      rpc: "SetKV",
      what: "must_exist on a missing key",
      call: (d) => d.set("nope", val("y"), { condition: { mustExist: true } }),
      code: AB,
      field: "condition",
    },
    // ---- UnsetKV
    {
      rpc: "UnsetKV",
      what: "empty key",
      call: (d) => d.unset(""),
      code: IA,
      field: "key",
    },
    {
      rpc: "UnsetKV",
      what: 'leading "/"',
      call: (d) => d.unset("/el"),
      code: IA,
      field: "key",
    },
    {
      rpc: "UnsetKV",
      what: "missing key",
      call: (d) => d.unset("nope"),
      code: S.NOT_FOUND,
      field: "key",
    },
    {
      rpc: "UnsetKV",
      what: "directory without is_dir",
      call: (d) => d.unset("dir"),
      code: FP,
      field: "is_dir",
    },
    {
      rpc: "UnsetKV",
      what: "stale mod_revision",
      call: (d) => d.unset("el", { condition: { modRevision: 999 } }),
      code: AB,
      field: "condition",
    },
    // ---- Range
    {
      rpc: "Range",
      what: "limit -1",
      call: (d) => d.range("", { limit: -1 }),
      code: IA,
      field: "limit",
    },
    {
      rpc: "Range",
      what: "limit 101",
      call: (d) => d.range("", { limit: 101 }),
      code: IA,
      field: "limit",
    },
    {
      rpc: "Range",
      what: 'leading "/"',
      call: (d) => d.range("/dir", { limit: 10 }),
      code: IA,
      field: "key",
    },
    {
      rpc: "Range",
      what: 'seek with leading "/"',
      call: (d) => d.range("dir", { seek: "/dir/a", limit: 10 }),
      code: IA,
      field: "seek",
    },
    {
      rpc: "Range",
      what: "2 KiB prefix",
      call: (d) => d.range(longKey, { limit: 10 }),
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
    // (TTL of a missing key answers NOT_FOUND, which the client reports as
    // `ttl: undefined` with the revision: checked after the table)
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
      call: (d) => d.commitTxn({ compares: [], ops: [] }),
      code: IA,
      field: "ops",
    },
    {
      rpc: "Txn",
      what: "65 ops",
      call: (d) => d.commitTxn({ compares: [], ops: keys(65).map((k) => set(k)) }),
      code: IA,
      field: "ops",
    },
    {
      rpc: "Txn",
      what: "65 compares",
      call: (d) =>
        d.commitTxn({
          compares: keys(65).map((k) => ({ key: k, condition: { mustNotExist: true } })),
          ops: [set("txn/new")],
        }),
      code: IA,
      field: "compares",
    },
    {
      rpc: "Txn",
      what: "duplicate op keys",
      call: (d) =>
        d.commitTxn({ compares: [], ops: [set("txn/new"), { op: "unset", key: "txn/new" }] }),
      code: IA,
      field: "ops[1]",
    },
    {
      rpc: "Txn",
      what: "an op that is neither set nor unset",
      call: (d) => d.commitTxn({ compares: [], ops: [{} as TxnOp] }),
      code: IA,
      field: "ops[0]",
    },
    {
      rpc: "Txn",
      what: "a bad key in an op",
      call: (d) => d.commitTxn({ compares: [], ops: [set("txn/new"), set("a//b")] }),
      code: IA,
      field: "ops[1].set.key",
    },
    {
      rpc: "Txn",
      what: "a bad ttl in an op",
      call: (d) => d.commitTxn({ compares: [], ops: [set("txn/new", { ttl: -1 })] }),
      code: IA,
      field: "ops[0].set.ttl",
    },
    {
      rpc: "Txn",
      what: "a bad compare key",
      call: (d) =>
        d.commitTxn({
          compares: [{ key: "/x", condition: { mustExist: true } }],
          ops: [set("txn/new")],
        }),
      code: IA,
      field: "compares[0].key",
    },
    {
      rpc: "Txn",
      what: "a compare with mod_revision 0",
      call: (d) =>
        d.commitTxn({
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
        d.commitTxn({
          compares: [],
          ops: keys(9).map((k) => set(k, { val: new Uint8Array(256 * 1024) })),
        }),
      code: IA,
      field: "ops",
    },
    {
      rpc: "Txn",
      what: "a later op unsets a missing key (the set before it must not apply)",
      call: (d) =>
        d.commitTxn({ compares: [], ops: [set("txn/new"), { op: "unset", key: "nope" }] }),
      code: S.NOT_FOUND,
      field: "ops[1].unset.key",
    },
    {
      rpc: "Txn",
      what: "a later op sets under an element",
      call: (d) => d.commitTxn({ compares: [], ops: [set("txn/new"), set("el/child")] }),
      code: FP,
      field: "ops[1].set.key",
    },
    {
      rpc: "Txn",
      what: "a later op has a stale condition",
      call: (d) =>
        d.commitTxn({
          compares: [],
          ops: [set("txn/new"), { op: "unset", key: "el", condition: { modRevision: 999 } }],
        }),
      code: AB,
      field: "ops[1].unset.condition",
    },
    {
      rpc: "Txn",
      what: "a later op removes a directory without is_dir",
      call: (d) =>
        d.commitTxn({ compares: [], ops: [set("txn/new"), { op: "unset", key: "dir" }] }),
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
    let peer: GrpcTransport | undefined;
    try {
      await withCluster({ name: "bad-input", snapshotEvery: 5 }, async (c) => {
        const [node] = await c.startFounders(1) as [DbProc];
        const db = c.client();
        // The state the rows run against.
        await db.set("el", val("x"));
        await db.set("dir/a", val("x"));
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
            call: (d: DbClient) =>
              d.addNode({ peerAddr: node.peerAddr, clientAddr: "127.0.0.1:3" }),
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
            if (e.grpcCode !== row.code) {
              problems.push(
                `${label}: ${e.code} instead of ${statusName(row.code)} (${e.message})`,
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
        // NOT_FOUND of GetKV is the client's `undefined`, with the revision the
        // answer carried; GetKVs leaves missing keys out.
        assert.deepEqual(await db.get("nope"), { entity: undefined, revision: base.revision });
        assert.deepEqual((await db.getMany(["nope", "el"])).entities.map((e) => e.key), ["el"]);
        // A Txn whose compare fails is no error: it applies nothing.
        const t = await db.commitTxn({
          compares: [{ key: "el", condition: { mustNotExist: true } }],
          ops: [set("txn/new")],
        });
        assert.equal(t.succeeded, false);
        assert.equal(t.revision, base.revision);
        const el = (await db.get("el")).entity!;
        assert.deepEqual(t.failed, { index: 0, key: "el", modRevision: el.modRevision });
        const second = await db.txn()
          .if("el", { modRevision: el.modRevision })
          .if("absent", { mustExist: true })
          .ops(set("txn/new"))
          .commit();
        assert.deepEqual(
          [second.succeeded, second.failed],
          [false, { index: 1, key: "absent", modRevision: 0 }],
          "the second compare failed, on a key that does not exist",
        );
        assert.equal((await db.get("txn/new")).entity, undefined, "a refused Txn left a trace");
        // TTL's NOT_FOUND carries the revision the read was served at.
        const nf = await db.ttl("nope");
        assert.deepEqual(nf, { ttl: undefined, revision: base.revision });
        // Range limit 0 is the default page (100), as etcd users expect a default.
        const page = await db.range("", { limit: 0 });
        assert.ok(page.entities.length > 0 && page.entities.length <= 100);
        assert.deepEqual(page, await db.range("", { limit: 100 }));
        assert.deepEqual(await fingerprint(c, node, db), base);
        // A write after all the refused ones: once the watcher has it, anything
        // a refused request had changed would have reached it first.
        const sentinel = await db.set("sentinel", val("x"));
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
        console.log(
          `${table.length} bad requests over ${ALL_RPCS.length} RPCs refused as expected`,
        );

        // Announce (RaftPeer, node to node) with a bad address: INVALID_ARGUMENT
        // naming the field, through the real peer gRPC path, and nothing recorded.
        const before = await fingerprint(c, node, db);
        const announcer = await GrpcTransport.listen({ id: 99, address: "127.0.0.1:0" });
        peer = announcer;
        // One channel kept open for every call, closed once the node is gone: the
        // node's runtime can abort on a client's GOAWAY (denoland/deno#36788).
        announcer.setPeer(node.id, node.peerAddr);
        {
          announcer.setClusterId((await announcer.identify(node.peerAddr)).clusterId);
          for (
            const [field, req] of [
              ["peer_addr", { id: node.id, peerAddr: "no-port", clientAddr: node.clientAddr }],
              ["client_addr", { id: node.id, peerAddr: node.peerAddr, clientAddr: "" }],
            ] as const
          ) {
            const e: Error = await announcer.announce(node.peerAddr, req).then(
              (r): never =>
                assert.fail(`Announce with a bad ${field} answered ${JSON.stringify(r)}`),
              (e: Error) => e,
            );
            const cause = e.cause as grpc.ServiceError;
            assert.equal(
              statusName(cause.code),
              statusName(S.INVALID_ARGUMENT),
              `Announce with a bad ${field}: ${e.message}`,
            );
            assert.match(e.message, new RegExp(field), e.message);
            assert.equal(cause.metadata.get("x-cassem-field")[0], field, e.message);
          }
        }
        assert.deepEqual(
          await fingerprint(c, node, db),
          before,
          "a refused Announce changed the store",
        );

        // OUT_OF_RANGE: after a restart from its snapshot (--snapshot-every 5) the
        // node's watch history starts at the snapshot, so revision 1 is compacted.
        for (let i = 0; i < 10; i++) await db.set(`more/k${i}`, val("x"));
        await c.kill(node);
        await c.restart(node);
        const err = await waitFor(
          "a watch from revision 1",
          () =>
            watchError(c.client({ endpoints: [node.clientAddr] }), {
              keys: ["el"],
              startRevision: 1,
            })
              // Anything else (the node still starting) is retried.
              .catch((e) => e instanceof DbError && e.code === "OUT_OF_RANGE" ? e : undefined),
          { timeoutMs: 15_000 },
        );
        assert.ok(err instanceof DbError, String(err));
        assert.equal(err.code, "OUT_OF_RANGE", err.message);
        // The oldest revision a watch can start from is in Status, so no failing
        // Watch is needed to find it; a watch from there is accepted.
        const st = await c.client({ endpoints: [node.clientAddr] }).status({
          endpoint: node.clientAddr,
        });
        assert.ok(st.watchOldestRevision > 1, `watch_oldest_revision ${st.watchOldestRevision}`);
        const from = await new Promise<number>((resolve, reject) => {
          const w = c.client({ endpoints: [node.clientAddr] }).watch(
            { keys: ["el"], startRevision: st.watchOldestRevision },
            { onChanges: () => {}, onError: reject, onRetry: reject },
          );
          setTimeout(() => {
            w.close();
            resolve(w.revision);
          }, 500);
        });
        assert.equal(
          from,
          st.watchOldestRevision - 1,
          "the watch starts after watch_oldest_revision - 1",
        );
        console.log(`watch from revision 1 after the restart: ${err.message}`);
      });
    } finally {
      await peer?.close();
    }
  },
);
