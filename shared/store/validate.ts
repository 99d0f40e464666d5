/**
 * Input validation for the cassemdb gRPC API. Every check throws
 * {@linkcode InvalidArgumentError} naming the field, before anything is
 * proposed, so bad input never half-writes.
 *
 * @module
 */

import {
  keyCharsRuleBroken,
  keyRuleBroken,
  MAX_KEY_LENGTH,
  MAX_TXN_COMPARES,
  MAX_TXN_OPS,
  MAX_VALUE_BYTES,
} from "./keys.ts";
import { MAX_WATCH_KEYS } from "./watch.ts";

/**
 * Limits of the API: the store's own where it has one, so the two cannot
 * drift.
 */
export const LIMITS = {
  keyBytes: MAX_KEY_LENGTH,
  valueBytes: MAX_VALUE_BYTES,
  getKVsKeys: 100,
  watchKeys: MAX_WATCH_KEYS,
  rangeLimit: 100,
  txnCompares: MAX_TXN_COMPARES,
  txnOps: MAX_TXN_OPS,
  /** Total value bytes in one Txn (it becomes one raft entry). */
  txnValueBytes: 2 * 1024 * 1024,
  /** Ten years. */
  ttlSeconds: 10 * 365 * 24 * 3600,
} as const;

/** Bad input: names the offending field (dotted path, with indexes). */
export class InvalidArgumentError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`Cannot accept ${field} as ${message}`);
    this.name = "InvalidArgumentError";
    this.field = field;
  }
}

/**
 * Checks a key against the store's one key rule ({@linkcode keyRuleBroken}):
 * a slash-separated path of non-empty segments, no leading or trailing slash,
 * no `.`/`..` segment, no control characters, at most 1 KiB.
 */
export function checkKey(field: string, key: unknown): string {
  const broken = keyRuleBroken(key);
  if (broken) throw new InvalidArgumentError(field, broken);
  return key as string;
}

/** Checks a key prefix for Range and prefix watches: may be empty and may end with "/". */
export function checkPrefix(field: string, prefix: unknown): string {
  if (typeof prefix !== "string") {
    throw new InvalidArgumentError(field, "a prefix must be a string");
  }
  if (prefix === "") return prefix;
  const broken = keyCharsRuleBroken(prefix);
  if (broken) throw new InvalidArgumentError(field, broken);
  if (prefix.startsWith("/")) {
    throw new InvalidArgumentError(
      field,
      `a prefix must not start with "/": current value is "${prefix}"`,
    );
  }
  return prefix;
}

/** Checks a value size. */
export function checkValue(field: string, val: Uint8Array | undefined): Uint8Array {
  const v = val ?? new Uint8Array(0);
  if (v.byteLength > LIMITS.valueBytes) {
    throw new InvalidArgumentError(
      field,
      `a value must be at most ${LIMITS.valueBytes} bytes (256 KiB): current size is ${v.byteLength}`,
    );
  }
  return v;
}

/** Checks a TTL in seconds: an integer in [0, ten years]. */
export function checkTtl(field: string, ttl: unknown): number {
  const n = Number(ttl ?? 0);
  if (!Number.isInteger(n) || n < 0 || n > LIMITS.ttlSeconds) {
    throw new InvalidArgumentError(
      field,
      `a ttl must be an integer number of seconds in [0, ${LIMITS.ttlSeconds}]: current value is ${ttl}`,
    );
  }
  return n;
}

/** Checks a list of 1..max unique keys. */
export function checkKeys(field: string, keys: unknown, max: number, check = checkKey): string[] {
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > max) {
    throw new InvalidArgumentError(
      field,
      `it must list 1 to ${max} keys: current count is ${Array.isArray(keys) ? keys.length : 0}`,
    );
  }
  const seen = new Set<string>();
  keys.forEach((k, i) => {
    check(`${field}[${i}]`, k);
    if (seen.has(k)) {
      throw new InvalidArgumentError(`${field}[${i}]`, `keys must be unique: "${k}" is repeated`);
    }
    seen.add(k);
  });
  return keys as string[];
}

/** Checks a Range limit: an integer in 1..100, or 0 (unset) for the default page of 100. */
export function checkLimit(field: string, limit: unknown): number {
  const n = Number(limit ?? 0);
  if (!Number.isInteger(n) || n < 0 || n > LIMITS.rangeLimit) {
    throw new InvalidArgumentError(
      field,
      `a limit must be an integer in [0, ${LIMITS.rangeLimit}] (0: ${LIMITS.rangeLimit}): current value is ${limit}`,
    );
  }
  return n === 0 ? LIMITS.rangeLimit : n;
}

/** Checks a revision: a non-negative integer. */
export function checkRevision(field: string, rev: unknown): number {
  const n = Number(rev ?? 0);
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError(
      field,
      `a revision must be a non-negative integer: current value is ${rev}`,
    );
  }
  return n;
}

/** Checks a host:port address. */
export function checkAddress(field: string, addr: unknown): string {
  if (typeof addr !== "string" || !/^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$/.test(addr)) {
    throw new InvalidArgumentError(
      field,
      `an address must look like host:port: current value is "${addr}"`,
    );
  }
  const port = Number(addr.slice(addr.lastIndexOf(":") + 1));
  if (port < 1 || port > 65535) {
    throw new InvalidArgumentError(field, `a port must be in [1, 65535]: current value is ${port}`);
  }
  return addr;
}
