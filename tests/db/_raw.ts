/**
 * cassemdb over bare grpc-js, for tests that must see exactly what one node
 * answered: one attempt per call (no retry, no leader following, which
 * `DbClient` does and which would hide a "not applied" answer behind its
 * retry), and a watch stream whose every message and final status (code,
 * message, metadata) is recorded.
 *
 * @module
 */

import { toDbError } from "../../shared/db/client.ts";
import { CHANNEL_OPTIONS, grpc, loadProto, serviceOf } from "../../shared/grpc.ts";
import type { WireChange } from "../../shared/store/mod.ts";

/** A Watch request as grpc-js takes it (proto `WatchReq`). */
export interface WatchReq {
  keys: string[];
  prefix?: boolean;
  startRevision?: number;
}

/** A Watch message as grpc-js hands it out (proto `WatchResp`). */
export interface WatchResp {
  changes: WireChange[];
  revision: number;
}

/** The KV methods that change the store: their failures are judged as writes. */
const WRITES = new Set(["SetKV", "UnsetKV", "Expire", "Txn"]);

type UnaryFn = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, resp: unknown) => void,
) => void;

/** How a stream ended: its gRPC status. */
export interface StreamEnd {
  code: grpc.status;
  details: string;
  /** The trailing metadata, flattened to the first value of each key. */
  metadata: Record<string, string>;
  /** When the status arrived (ms since the epoch). */
  at: number;
}

/** A watch stream to one node, recording everything it receives. */
export interface RawWatch {
  /** Every message, in arrival order (the first carries no changes). */
  readonly messages: WatchResp[];
  /** The last revision received (the first message's, before any change). */
  readonly lastRevision: number;
  /** Resolves with the stream's status once it ended and every message was received (never rejects). */
  readonly ended: Promise<StreamEnd>;
  /** The status once the stream ended and every message was received, else undefined. */
  readonly end: StreamEnd | undefined;
  /** Stops reading (HTTP/2 flow control then holds the server back). */
  pause(): void;
  /** Reads again. */
  resume(): void;
  /** Cancels the call. */
  cancel(): void;
}

/** The KV service of one node, over a channel of its own. */
export class RawKv {
  readonly addr: string;
  readonly #kv: grpc.Client;

  constructor(addr: string) {
    this.addr = addr;
    const pkg = loadProto("cassemdb.proto", "cassemdb");
    this.#kv = new (serviceOf(pkg, "KV"))(addr, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  /**
   * Calls `method` once with a deadline of `timeoutMs`; rejects with the
   * `DbError` the shared client would have seen (its `toDbError`).
   */
  call<T>(method: string, req: unknown, timeoutMs = 30_000): Promise<T> {
    const fn = (this.#kv as unknown as Record<string, UnaryFn>)[method];
    if (!fn) throw new Error(`Cannot call ${method} as the KV service has no such method`);
    return new Promise<T>((resolve, reject) => {
      fn.call(
        this.#kv,
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, resp) => err ? reject(toDbError(err, WRITES.has(method))) : resolve(resp as T),
      );
    });
  }

  /** Starts a watch; see {@linkcode RawWatch}. */
  watch(req: WatchReq): RawWatch {
    const fn = (this.#kv as unknown as Record<
      string,
      (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<WatchResp>
    >).Watch!;
    const stream = fn.call(this.#kv, req, new grpc.Metadata());
    const messages: WatchResp[] = [];
    let lastRevision = -1;
    let end: StreamEnd | undefined;
    // grpc-js emits 'status' as soon as the trailers arrive, while messages
    // may still wait in the stream's buffer: the stream has ended only once
    // both the status and the end of its data were seen.
    let status: grpc.StatusObject | undefined;
    let drained = false;
    let resolveEnd!: (e: StreamEnd) => void;
    const ended = new Promise<StreamEnd>((r) => (resolveEnd = r));
    const settle = () => {
      if (!status || !drained || end) return;
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(status.metadata.getMap())) metadata[k] = String(v);
      end = { code: status.code, details: status.details, metadata, at: Date.now() };
      resolveEnd(end);
    };
    stream.on("status", (s: grpc.StatusObject) => {
      status = s;
      settle();
    });
    stream.on("end", () => {
      drained = true;
      settle();
    });
    stream.on("data", (m: WatchResp) => {
      messages.push(m);
      lastRevision = m.revision;
    });
    // The status event reports every end; without a listener an error would be thrown.
    stream.on("error", () => {});
    return {
      messages,
      get lastRevision() {
        return lastRevision;
      },
      ended,
      get end() {
        return end;
      },
      pause: () => stream.pause(),
      resume: () => stream.resume(),
      cancel: () => stream.cancel(),
    };
  }
}
