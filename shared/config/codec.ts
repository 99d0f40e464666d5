/**
 * Records to and from the bytes cassemdb stores: JSON, checked against the
 * record's zod schema both ways, so that nothing malformed is ever written
 * and a damaged record is reported with its key instead of spreading.
 *
 * @module
 */

import type { z } from "zod";

/** The largest value cassemdb stores (256 KiB): no record may exceed it. */
export const MAX_RECORD_BYTES = 256 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A stored record did not parse or did not match its schema. */
export class CorruptRecordError extends Error {
  /** The cassemdb key of the record. */
  readonly key: string;
  /** An error for the record at `key`, for the reason `why`. */
  constructor(key: string, why: string) {
    super(`Cannot read the record at ${JSON.stringify(key)} as ${why}`);
    this.name = "CorruptRecordError";
    this.key = key;
  }
}

/** The first zod issue as `path: message`. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "it is invalid";
  const path = issue.path.length > 0 ? issue.path.join(".") : "(root)";
  return `${path} ${issue.message}`;
}

/**
 * The bytes of `record` after checking it against `schema`.
 * @throws {TypeError} when it does not match (a bug of the caller).
 * @throws {RangeError} when it would exceed {@linkcode MAX_RECORD_BYTES}.
 */
export function encodeRecord<S extends z.ZodType>(schema: S, record: z.input<S>): Uint8Array {
  const checked = schema.safeParse(record);
  if (!checked.success) {
    throw new TypeError(`Cannot encode the record as ${describeIssue(checked.error)}`);
  }
  const bytes = encoder.encode(JSON.stringify(checked.data));
  if (bytes.byteLength > MAX_RECORD_BYTES) {
    throw new RangeError(
      `Cannot encode the record as it must be at most ${MAX_RECORD_BYTES} bytes: current size is ${bytes.byteLength}`,
    );
  }
  return bytes;
}

/**
 * The record stored at `key` as `bytes`, checked against `schema`.
 * @throws {CorruptRecordError} naming `key` when it is not JSON or does not match.
 */
export function decodeRecord<S extends z.ZodType>(
  schema: S,
  key: string,
  bytes: Uint8Array,
): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new CorruptRecordError(key, `it is not UTF-8 JSON: ${(e as Error).message}`);
  }
  const checked = schema.safeParse(json);
  if (!checked.success) {
    throw new CorruptRecordError(
      key,
      `it does not match its schema: ${describeIssue(checked.error)}`,
    );
  }
  return checked.data;
}
