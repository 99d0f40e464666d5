/**
 * Helpers shared by the store's tests: command builders and a harness that
 * numbers log entries and records the changes each revision emitted.
 *
 * @module
 */

import type { Command, Compare, SetOp, TxnCommand, TxnOp, UnsetOp } from "./command.ts";
import { Store } from "./store.ts";
import type { ApplyResult, Change } from "./types.ts";

/** A leader time used by the tests (ms since the epoch). */
export const T0 = 1_700_000_000_000;

const encoder = new TextEncoder();

/** UTF-8 bytes of `s`. */
export function bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** A set op of an element (or, with `isDir`, a directory). */
export function setOp(key: string, val = "", opts: Partial<SetOp> = {}): SetOp {
  return { op: "set", key, isDir: false, ttl: 0, val: bytes(val), overwrite: true, ...opts };
}

/** A set op of a directory. */
export function dirOp(key: string, opts: Partial<SetOp> = {}): SetOp {
  return setOp(key, "", { isDir: true, ...opts });
}

/** An unset op. */
export function unsetOp(key: string, opts: Partial<UnsetOp> = {}): UnsetOp {
  return { op: "unset", key, isDir: false, ...opts };
}

/** A txn command at `time` (default {@linkcode T0}). */
export function txn(
  ops: TxnOp[],
  opts: { time?: number; compares?: Compare[] } = {},
): TxnCommand {
  return { kind: "txn", time: opts.time ?? T0, compares: opts.compares ?? [], ops };
}

/** A store that numbers entries itself and records every published revision. */
export class Harness {
  store: Store;
  index = 0;
  published: { revision: number; changes: readonly Change[] }[] = [];

  constructor(store?: Store) {
    this.store = store ??
      new Store({ onChanges: (revision, changes) => this.#record(revision, changes) });
  }

  #record(revision: number, changes: readonly Change[]): void {
    this.published.push({ revision, changes });
  }

  /** Applies `cmd` as the next entry. */
  apply(cmd: Command): ApplyResult {
    return this.store.applyCommand(cmd, ++this.index);
  }

  /** Applies one txn of `ops` at `time`. */
  run(ops: TxnOp[], time = T0): ApplyResult {
    return this.apply(txn(ops, { time }));
  }

  /** The changes of the last published revision, as "op key reason" lines. */
  lastChanges(): string[] {
    const last = this.published[this.published.length - 1];
    return last ? last.changes.map(describe) : [];
  }
}

/** "set a/b" or "unset a/b (parent)". */
export function describe(c: Change): string {
  return c.op === "set" ? `set ${c.key}` : `unset ${c.key} (${c.reason})`;
}

/** Asserts `r` is ok and returns it narrowed. */
export function ok(r: ApplyResult): Extract<ApplyResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected ok, got ${r.code} ${r.field}: ${r.message}`);
  return r;
}

/** Asserts `r` failed and returns it narrowed. */
export function failed(r: ApplyResult): Extract<ApplyResult, { ok: false }> {
  if (r.ok) throw new Error(`expected an error, got ok at revision ${r.revision}`);
  return r;
}
