/**
 * The KV gRPC service: validates each request, serves reads from the local
 * store (after a ReadIndex round unless serializable), turns writes into
 * store commands proposed through raft, and streams watches from the hub.
 *
 * @module
 */

import { grpc } from "../../shared/grpc.ts";
import type { ApplyOk, ApplyResult, Entity, Watcher } from "../../shared/store/mod.ts";
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
import { NodeStoppingError, ReadClockError } from "./errors.ts";
import { answerNotBefore, expiredBy, expiryCut, MAX_CLOCK_SKEW_MS } from "./expiry_read.ts";
import { notFound, type Req, type StatusError, storeError, unaryHandlers } from "./grpc_errors.ts";
import type { DbNode } from "./db_node.ts";

/**
 * Elections a node may go without a leader before its watches end: normally
 * one or two settle it, so this many means it is cut off (or was removed).
 */
const LEADERLESS_ELECTIONS = 10;

/** Builds the KV service implementation over `node`. */
export function kvService(node: DbNode): Record<string, unknown> {
  node.sm.setLeaderlessLimit(LEADERLESS_ELECTIONS * node.electionTimeoutMs, node.raft.leader);
  const unary = unaryHandlers((e) => node.statusOf(e));

  return {
    GetKV: unary(async (req) => {
      const key = checkKey("key", req.key);
      const r = await read(node, req, (cut) => {
        const e = node.store.get(key);
        const live = e && !expiredBy(e, cut) ? e : undefined;
        return { seen: e, live, revision: node.store.revision, returned: live ? [live] : [] };
      });
      node.noticeExpired(r.seen ? [r.seen] : []);
      if (!r.live) throw notFound(`Cannot get ${key} as it does not exist`, r.revision);
      return { entity: toProtoEntity(r.live), revision: r.revision };
    }),

    GetKVs: unary(async (req) => {
      const keys = checkKeys("keys", req.keys, LIMITS.getKVsKeys);
      const r = await read(node, req, (cut) => {
        const seen = node.store.getMany(keys);
        const returned = seen.filter((e) => !expiredBy(e, cut));
        return { seen, returned, revision: node.store.revision };
      });
      node.noticeExpired(r.seen);
      return { entities: r.returned.map((e) => toProtoEntity(e)), revision: r.revision };
    }),

    Range: unary(async (req) => {
      const prefix = checkPrefix("key", req.key);
      const seek = req.seek ? checkPrefix("seek", req.seek) : undefined;
      const limit = checkLimit("limit", req.limit);
      const r = await read(node, req, (cut) => {
        const page = node.store.range(prefix, { seek, limit, liveAt: cut });
        return { page, returned: page.entities, revision: node.store.revision };
      });
      node.noticeExpired(r.returned);
      return {
        entities: r.returned.map((e) => toProtoEntity(e)),
        hasMore: r.page.hasMore,
        nextSeekKey: r.page.nextSeekKey,
        revision: r.revision,
      };
    }),

    TTL: unary(async (req) => {
      const key = checkKey("key", req.key);
      const r = await read(node, req, (cut) => {
        const e = node.store.get(key);
        const live = e && !expiredBy(e, cut) ? e : undefined;
        // Seconds left by this node's clock (0 once due by it): a follower's
        // cut trails its clock, and would count a second too many.
        const left = live ? node.store.ttlLeft(key, Date.now()) : undefined;
        return { seen: e, left, revision: node.store.revision, returned: live ? [live] : [] };
      });
      node.noticeExpired(r.seen ? [r.seen] : []);
      if (r.left === undefined) {
        throw notFound(`Cannot read the ttl of ${key} as it does not exist`, r.revision);
      }
      return { ttl: r.left, revision: r.revision };
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
      let open = openWatches.get(node);
      if (!open) openWatches.set(node, open = new Set());
      const streaming = streamWatch(node, call);
      open.add(streaming);
      void streaming.finally(() => open.delete(streaming));
    },
  };
}

/** The watch streams each node serves now: each promise settles once its stream has ended. */
const openWatches = new WeakMap<DbNode, Set<Promise<void>>>();

/**
 * Ends every watch `node` serves with UNAVAILABLE ("this node is stopping")
 * and resolves once their statuses have been written, or after `timeoutMs`:
 * call it before a process exits, which would otherwise cut the streams
 * before their statuses leave.
 */
export async function endWatches(node: DbNode, timeoutMs = 500): Promise<void> {
  const open = [...openWatches.get(node) ?? []];
  node.hub.close();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(open),
    new Promise((r) => (timer = setTimeout(r, timeoutMs))),
  ]);
  clearTimeout(timer);
  // Socket writes leave a turn later (shared/coalesce_writes.ts): give them one.
  await new Promise((r) => setTimeout(r, 20));
}

/** Reads of one clock reading that still leave the read's cut uncertain, at most. */
const MAX_READ_WAITS = 4;

/**
 * Serves a read with `serve`, which reads the store and reports the
 * elements it would return under a cut (hiding those with
 * `0 < expireAt ≤ cut`; `undefined`: hide nothing).
 *
 * A serializable read is served at once from this node's state, as it
 * stands: by the leader's clock it may return an element for as long as its
 * expiry takes to reach this node (db/README.md, "Reads"). A linearizable
 * read first confirms the commit index (ReadIndex) and waits to apply it,
 * then serves with the cut of `expiry_read.ts`, waiting first (at most 2 ×
 * the clock skew, on a follower) when an element is too close to its
 * expiry to tell.
 */
async function read<T extends { returned: readonly Entity[] }>(
  node: DbNode,
  req: Req,
  serve: (cut: number | undefined) => T,
): Promise<T> {
  if (req.read?.serializable) return serve(undefined);
  const start = Date.now();
  await node.linearizableRead();
  for (let i = 0; i < MAX_READ_WAITS; i++) {
    const clock = { start, now: Date.now(), skew: node.raft.isLeader ? 0 : MAX_CLOCK_SKEW_MS };
    const r = serve(expiryCut(clock));
    const notBefore = answerNotBefore(clock, r.returned);
    if (notBefore === undefined) return r;
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, notBefore - clock.now)));
  }
  throw new ReadClockError(start);
}

/** The successful result, or the store's refusal as a status (shaped by `refusalOf`). */
function ensureOk(r: ApplyResult, stripPrefix: string): ApplyOk {
  const refusal = refusalOf(r, stripPrefix);
  if (refusal) throw storeError(refusal);
  return r as ApplyOk;
}

/**
 * Streams one watch. Every way it can end reaches the client as a status
 * (proto `WatchResp`): OUT_OF_RANGE when this node's history moved past the
 * watcher (a snapshot was installed), RESOURCE_EXHAUSTED when the watcher
 * fell behind, UNAVAILABLE when the node was removed or is stopping, and the
 * status of any other error; only a client that went away is told nothing.
 * Never throws.
 */
async function streamWatch(
  node: DbNode,
  call: grpc.ServerWritableStream<Req, unknown>,
): Promise<void> {
  let w: Watcher;
  try {
    w = await startWatch(node, call.request);
  } catch (e) {
    await fail(call, node.statusOf(e));
    return;
  }
  if (call.cancelled) {
    w.close();
    return;
  }
  let clientGone = false;
  const gone = () => {
    clientGone = true;
    w.close();
  };
  call.on("cancelled", gone);
  call.on("close", gone);
  try {
    if (!call.write({ changes: [], revision: w.startAfter })) await drained(call);
    // `next()` rejects with the reason the hub cancelled the watcher: a
    // `for await` would throw it past the code that tells the client.
    for (let r = await w.next(); !r.done && !clientGone; r = await w.next()) {
      const ev = r.value;
      if (!call.write({ changes: ev.changes.map(toProtoChange), revision: ev.revision })) {
        await drained(call);
      }
    }
    if (clientGone) return;
    // Only the node closes a watcher without a reason: it is stopping.
    await fail(call, node.statusOf(new NodeStoppingError()));
  } catch (e) {
    if (!clientGone) await fail(call, node.statusOf(e));
  } finally {
    w.close();
  }
}

/**
 * Checks a Watch request and starts its watcher (throws the error to answer
 * with). A watch of new changes (start_revision 0) starts after a linearizable
 * read point, as a read would: on a follower that has not applied a write the
 * caller already saw acknowledged, it must not deliver that write as new.
 */
async function startWatch(node: DbNode, req: Req): Promise<Watcher> {
  const refusal = node.sm.watchRefusal();
  if (refusal) throw refusal;
  const prefix = Boolean(req.prefix);
  const keys = checkKeys(
    "keys",
    req.keys,
    LIMITS.watchKeys,
    (f, k) =>
      prefix || (typeof k === "string" && k.endsWith("/")) ? checkPrefix(f, k) : checkKey(f, k),
  );
  const startRevision = checkRevision("start_revision", req.startRevision);
  if (startRevision === 0) await node.linearizableRead();
  return node.hub.watch({ keys, prefix, startRevision });
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

/** How long {@linkcode fail} waits for a status to be handed to HTTP/2, at most. */
const STATUS_WAIT_MS = 1_000;

/**
 * Ends a server stream with `s` as its status. grpc-js sends the status of a
 * server stream from its 'error' listener (which ends the stream); `destroy`
 * would skip that and leave the client waiting for a status forever.
 * Resolves once grpc-js has handed the status to HTTP/2 (it then reports the
 * call 'cancelled', its end), or after {@linkcode STATUS_WAIT_MS}: a stopping
 * node (`endWatches`) exits only after its watches' statuses are on their way.
 */
function fail(call: grpc.ServerWritableStream<Req, unknown>, s: StatusError): Promise<void> {
  const sent = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, STATUS_WAIT_MS);
    call.once("cancelled", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  call.emit("error", s);
  return sent;
}
