/**
 * The on-disk layout of {@linkcode KvStorage} in Deno KV: the record keys,
 * the record types, the size limits of one commit, and the checks of what
 * is read back. Shared by the storage, its write batches and its recovery.
 *
 * @module
 */

import type { ConfState, HardState } from "./types.ts";

/** Log blocks and snapshot data are stored in parts of at most this many bytes. */
export const CHUNK_BYTES = 60 * 1024;
/**
 * Entries of one save are cut into blocks of at most this many bytes, so that a
 * block fits one commit; a larger entry gets a block of its own.
 */
export const BLOCK_BYTES = 600 * 1024;

/** Mutations per commit (Deno KV allows 1,000), records included. */
export const COMMIT_MUTATIONS = 900;
/** Estimated bytes per commit (Deno KV allows 800 KiB of keys and values). */
export const COMMIT_BYTES = 700 * 1024;
/** Room kept in every commit for the `hs`, `log` and `snap` records. */
export const RECORD_MUTATIONS = 3;
export const RECORD_BYTES = 16 * 1024;
/** A generous estimate of an encoded key. */
export const KEY_BYTES = 40;

export const HS_KEY: Deno.KvKey = ["hs"];
export const LOG_KEY: Deno.KvKey = ["log"];
export const SNAP_KEY: Deno.KvKey = ["snap"];
export const RECOVERING_KEY: Deno.KvKey = ["recovering"];

/** The `["log"]` record. Invariant: entries `[first, last]` are on disk; `prevTerm` is the term at `first - 1`. */
export interface LogBounds {
  first: number;
  last: number;
  prevTerm: number;
}

/** The `["snap"]` record: the current snapshot's metadata and where its data lives. */
export interface SnapMeta {
  id: number;
  index: number;
  term: number;
  confState: ConfState;
  size: number;
  chunks: number;
}

/** The entries `[first, last]` a block holds. */
export interface BlockRange {
  first: number;
  last: number;
}

/** A complete block on disk: entries `[first, last]` in `parts` keys `["b", gen, k]`. */
export interface BlockRef extends BlockRange {
  gen: number;
  parts: number;
}

/** The part of the log a block provides when blocks are replayed. */
export interface Span {
  lo: number;
  hi: number;
}

export function blockKeys(gen: number, ks: number | readonly number[]): Deno.KvKey[] {
  const list = typeof ks === "number" ? Array.from({ length: ks }, (_, k) => k) : [...ks];
  return list.sort(byNumber).reverse().map((k) => ["b", gen, k]);
}

/** Concatenates chunks `0..n-1` when all are there and add up to `size` bytes. */
export function assemble(
  chunks: Map<number, Uint8Array> | undefined,
  n: number,
  size: number,
): Uint8Array | undefined {
  const out = new Uint8Array(size);
  let at = 0;
  for (let k = 0; k < n; k++) {
    const piece = chunks?.get(k);
    if (!piece || at + piece.byteLength > size) return undefined;
    out.set(piece, at);
    at += piece.byteLength;
  }
  return at === size ? out : undefined;
}

export function mapOf<K, V>(outer: Map<K, Map<number, V>>, key: K): Map<number, V> {
  let inner = outer.get(key);
  if (!inner) outer.set(key, inner = new Map());
  return inner;
}

export function byNumber(a: number, b: number): number {
  return a - b;
}

export function isZero(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0 && hs.commit === 0;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

export function areNumbers(v: Record<string, unknown>, fields: readonly string[]): boolean {
  return fields.every((f) => typeof v[f] === "number");
}

export function isHardState(v: unknown): v is HardState {
  return isObject(v) && areNumbers(v, ["term", "vote", "commit"]);
}

export function isLogBounds(v: unknown): v is LogBounds {
  return isObject(v) && areNumbers(v, ["first", "last", "prevTerm"]);
}

export function isSnapMeta(v: unknown): v is SnapMeta {
  return isObject(v) && areNumbers(v, ["id", "index", "term", "size", "chunks"]) &&
    isObject(v.confState) && Array.isArray(v.confState.voters) &&
    Array.isArray(v.confState.learners);
}

/** Whether `mutations` totalling `bytes` fit one commit beside the records. */
export function fitsEmpty(mutations: number, bytes: number): boolean {
  return mutations <= COMMIT_MUTATIONS - RECORD_MUTATIONS && bytes <= COMMIT_BYTES - RECORD_BYTES;
}
