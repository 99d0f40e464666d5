/**
 * The transaction builder every {@linkcode KvClient} hands out from `txn()`.
 *
 * @module
 */

import type {
  CallOptions,
  Condition,
  SetOptions,
  TxnBuilder,
  TxnCompare,
  TxnOp,
  TxnRequest,
  TxnResult,
  UnsetOptions,
  Value,
} from "./api.ts";

/** Sends a built transaction: `KvClient.commitTxn` of the client that made the builder. */
export type TxnCommitter = (request: TxnRequest, options?: CallOptions) => Promise<TxnResult>;

/**
 * A {@linkcode TxnBuilder} that collects compares and ops and sends them
 * with `commit`. Each call returns the same builder; the request is copied
 * when committed, so a builder can be committed again (a retry).
 */
export class Txn implements TxnBuilder {
  readonly #commit: TxnCommitter;
  readonly #compares: TxnCompare[] = [];
  readonly #ops: TxnOp[] = [];

  /** A builder whose `commit` calls `commit`. */
  constructor(commit: TxnCommitter) {
    this.#commit = commit;
  }

  /** Adds a compare: `condition` must hold on `key`. */
  if(key: string, condition: Condition): this {
    this.#compares.push({ key, condition });
    return this;
  }

  /** Adds a set op (see `KvClient.set`). */
  set(key: string, val: Value, options: SetOptions = {}): this {
    this.#ops.push({ ...options, op: "set", key, val });
    return this;
  }

  /** Adds an unset op (see `KvClient.unset`). */
  unset(key: string, options: UnsetOptions = {}): this {
    this.#ops.push({ ...options, op: "unset", key });
    return this;
  }

  /** Adds ops built elsewhere, in order. */
  ops(...ops: TxnOp[]): this {
    this.#ops.push(...ops);
    return this;
  }

  /** The request built so far (a copy). */
  request(): TxnRequest {
    return { compares: [...this.#compares], ops: [...this.#ops] };
  }

  /** Sends the transaction; a failed compare resolves with `succeeded: false`. */
  commit(options?: CallOptions): Promise<TxnResult> {
    return this.#commit(this.request(), options);
  }
}
