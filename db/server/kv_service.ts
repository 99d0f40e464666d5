/**
 * The KV gRPC service: validates each request, serves reads from the local
 * store (after a ReadIndex round unless serializable), turns writes into
 * store commands proposed through raft, and streams watches from the hub.
 *
 * @module
 */

import { grpc } from "../../shared/grpc.ts";
import { CompactedError, WatcherFellBehindError } from "../../shared/store/mod.ts";
import type { ApplyOk, ApplyResult } from "../../shared/store/mod.ts";
import {
  checkKey,
  checkKeys,
  checkLimit,
  checkPrefix,
  checkRevision,
  LIMITS,
  refusalOf,
  setAnswer,
  setOp,
  toProtoChange,
  toProtoEntity,
  txnAnswer,
  txnCommand,
  unsetAnswer,
  unsetOp,
} from "../../shared/store/mod.ts";
import {
  compactedError,
  notFound,
  type Req,
  StatusError,
  storeError,
  unaryHandlers,
} from "./grpc_errors.ts";
import type { DbNode } from "./db_node.ts";

/** Builds the KV service implementation over `node`. */
export function kvService(node: DbNode): Record<string, unknown> {
  const read = async (req: Req) => {
    if (!req.read?.serializable) await node.linearizableRead();
  };
  const unary = unaryHandlers((e) => node.statusOf(e));

  return {
    GetKV: unary(async (req) => {
      const key = checkKey("key", req.key);
      await read(req);
      const e = node.store.get(key);
      node.noticeExpired(e ? [e] : []);
      if (!e) throw notFound(`Cannot get ${key} as it does not exist`, node.store.revision);
      return { entity: toProtoEntity(e), revision: node.store.revision };
    }),

    GetKVs: unary(async (req) => {
      const keys = checkKeys("keys", req.keys, LIMITS.getKVsKeys);
      await read(req);
      const entities = node.store.getMany(keys);
      node.noticeExpired(entities);
      return { entities: entities.map((e) => toProtoEntity(e)), revision: node.store.revision };
    }),

    Range: unary(async (req) => {
      const prefix = checkPrefix("key", req.key);
      const seek = req.seek ? checkPrefix("seek", req.seek) : undefined;
      const limit = checkLimit("limit", req.limit);
      await read(req);
      const r = node.store.range(prefix, { seek, limit });
      node.noticeExpired(r.entities);
      return {
        entities: r.entities.map((e) => toProtoEntity(e)),
        hasMore: r.hasMore,
        nextSeekKey: r.nextSeekKey,
        revision: node.store.revision,
      };
    }),

    TTL: unary(async (req) => {
      const key = checkKey("key", req.key);
      await read(req);
      const left = node.store.ttlLeft(key, Date.now());
      if (left === undefined) {
        throw notFound(`Cannot read the ttl of ${key} as it does not exist`, node.store.revision);
      }
      const e = node.store.get(key);
      if (e) node.noticeExpired([e]);
      return { ttl: left, revision: node.store.revision };
    }),

    SetKV: unary(async (req) => {
      const op = setOp("", req);
      const r = await node.propose({ kind: "txn", time: Date.now(), compares: [], ops: [op] });
      return setAnswer(ensureOk(r, "ops[0].set."));
    }),

    UnsetKV: unary(async (req) => {
      const op = unsetOp("", req);
      const r = await node.propose({ kind: "txn", time: Date.now(), compares: [], ops: [op] });
      return unsetAnswer(ensureOk(r, "ops[0].unset."));
    }),

    Expire: unary(async (req) => {
      const key = checkKey("key", req.key);
      const r = await node.propose({
        kind: "expire",
        time: Date.now(),
        keys: [{ key, force: true }],
      });
      return { revision: ensureOk(r, "keys[0].").revision };
    }),

    Txn: unary(async (req) => {
      const r = await node.propose(txnCommand(req, Date.now()));
      return txnAnswer(ensureOk(r, ""));
    }),

    Watch: (call: grpc.ServerWritableStream<Req, unknown>) => {
      streamWatch(node, call).catch(() => {});
    },
  };
}

/** The successful result, or the store's refusal as a status (shaped by `refusalOf`). */
function ensureOk(r: ApplyResult, stripPrefix: string): ApplyOk {
  const refusal = refusalOf(r, stripPrefix);
  if (refusal) throw storeError(refusal);
  return r as ApplyOk;
}

/** Streams one watch until the client cancels, the watcher falls behind, or the node stops. */
async function streamWatch(
  node: DbNode,
  call: grpc.ServerWritableStream<Req, unknown>,
): Promise<void> {
  const req = call.request;
  let watcher;
  try {
    const prefix = Boolean(req.prefix);
    const keys = checkKeys(
      "keys",
      req.keys,
      LIMITS.watchKeys,
      (
        f,
        k,
      ) => (prefix || (typeof k === "string" && k.endsWith("/"))
        ? checkPrefix(f, k)
        : checkKey(f, k)),
    );
    const startRevision = checkRevision("start_revision", req.startRevision);
    watcher = node.hub.watch({ keys, prefix, startRevision });
  } catch (e) {
    fail(call, e instanceof CompactedError ? compactedError(e.compactRevision) : node.statusOf(e));
    return;
  }
  const w = watcher;
  call.on("cancelled", () => w.close());
  call.on("close", () => w.close());
  try {
    if (!call.write({ changes: [], revision: w.startAfter })) await drained(call);
    for await (const ev of w) {
      const ok = call.write({ changes: ev.changes.map(toProtoChange), revision: ev.revision });
      if (!ok) await drained(call);
      if (call.cancelled) break;
    }
    if (w.error instanceof WatcherFellBehindError) {
      fail(
        call,
        new StatusError(
          grpc.status.RESOURCE_EXHAUSTED,
          `Cannot keep up with this watcher as it fell behind after revision ${w.error.lastRevision}: resume with start_revision ${
            w.error.lastRevision + 1
          }`,
        ),
      );
      return;
    }
    if (w.error instanceof CompactedError) {
      fail(call, compactedError(w.error.compactRevision));
      return;
    }
    call.end();
  } finally {
    w.close();
  }
}

function drained(call: grpc.ServerWritableStream<Req, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      call.off("close", done);
      resolve();
    };
    call.on("drain", done);
    call.on("close", done);
  });
}

/**
 * Ends a server stream with `s` as its status. grpc-js sends the status of a
 * server stream from its 'error' listener (which ends the stream); `destroy`
 * would skip that and leave the client waiting for a status forever.
 */
function fail(call: grpc.ServerWritableStream<Req, unknown>, s: StatusError): void {
  call.emit("error", s);
}
