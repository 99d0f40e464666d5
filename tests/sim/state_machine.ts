/**
 * The replicated state machine of the simulation: a map of registers written
 * by clients, with per-client deduplication so that retried writes apply once,
 * and a hash chain over every applied entry so histories and snapshots can be
 * compared cheaply.
 *
 * @module
 */

import { type Entry, EntryType } from "../../shared/raft/types.ts";

/**
 * A client write: set `key` to `value`; `(client, seq)` identifies it across
 * retries, and `attempt` each proposal of it (so that the driver's verdict on
 * one attempt can be checked against what applied).
 */
export interface WriteOp {
  client: number;
  seq: number;
  key: string;
  value: string;
  attempt: string;
}

/** A register's value and the log index of the write that set it. */
export interface Register {
  value: string;
  index: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** 32-bit FNV-1a over bytes. */
export function fnv1a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A short identity of an entry: term, type and a hash of its data. */
export function entryDigest(e: Entry): string {
  return `${e.term}/${e.type}/${fnv1a(e.data).toString(16)}/${e.data.byteLength}`;
}

/** The write an entry carries, if any. */
export function decodeWrite(e: Entry): WriteOp | undefined {
  if (e.type !== EntryType.Normal || e.data.byteLength === 0) return undefined;
  return JSON.parse(decoder.decode(e.data)) as WriteOp;
}

/** Encodes a client write as entry data. */
export function encodeWrite(op: WriteOp): Uint8Array {
  return encoder.encode(JSON.stringify(op));
}

/** The state machine. Invariant: `chain` is the hash of every entry up to `appliedIndex`. */
export class KvStateMachine {
  readonly data = new Map<string, Register>();
  /** Per client: the newest seq applied and the index where it first applied. */
  readonly lastSeq = new Map<number, { seq: number; index: number }>();
  appliedIndex = 0;
  chain = 0;

  /**
   * Applies one committed entry. Returns the write it carried (if any) and the
   * index where that write first applied (earlier for a retried duplicate).
   */
  apply(e: Entry): { op?: WriteOp; firstIndex: number } {
    if (e.index !== this.appliedIndex + 1) {
      throw new Error(`Cannot apply index ${e.index} after ${this.appliedIndex}`);
    }
    this.appliedIndex = e.index;
    this.chain = fnv1a(encoder.encode(`${e.index}:${entryDigest(e)}`), this.chain);
    if (e.type !== EntryType.Normal || e.data.byteLength === 0) return { firstIndex: e.index };
    const op = JSON.parse(decoder.decode(e.data)) as WriteOp;
    const last = this.lastSeq.get(op.client);
    if (last && last.seq >= op.seq) {
      return { op, firstIndex: last.seq === op.seq ? last.index : -1 };
    }
    this.lastSeq.set(op.client, { seq: op.seq, index: e.index });
    this.data.set(op.key, { value: op.value, index: e.index });
    return { op, firstIndex: e.index };
  }

  /** Serializes the whole state. */
  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify({
      appliedIndex: this.appliedIndex,
      chain: this.chain,
      data: [...this.data],
      lastSeq: [...this.lastSeq],
    }));
  }

  /** Rebuilds a state machine from {@linkcode snapshot} output (empty bytes = initial state). */
  static restore(bytes: Uint8Array): KvStateMachine {
    const sm = new KvStateMachine();
    if (bytes.byteLength === 0) return sm;
    const v = JSON.parse(decoder.decode(bytes));
    sm.appliedIndex = v.appliedIndex;
    sm.chain = v.chain;
    for (const [k, r] of v.data) sm.data.set(k, r);
    for (const [c, s] of v.lastSeq) sm.lastSeq.set(c, s);
    return sm;
  }

  /** A digest of the visible state, to compare nodes at the end of a run. */
  digest(): string {
    const keys = [...this.data.keys()].sort();
    return keys.map((k) => `${k}=${this.data.get(k)!.value}@${this.data.get(k)!.index}`).join(",");
  }
}
