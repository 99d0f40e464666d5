/**
 * The encoding of membership changes inside log entries.
 *
 * @module
 */

import type { ConfChange } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a membership change as entry data. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify({ type: cc.type, nodeId: cc.nodeId, context: cc.context }));
}

/**
 * Decodes entry data written by {@linkcode encodeConfChange}.
 * @throws {TypeError} when the data is not a membership change.
 */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const v = JSON.parse(decoder.decode(data));
  if (typeof v?.type !== "number" || typeof v?.nodeId !== "number") {
    throw new TypeError("Cannot decode a membership change as the entry data is malformed");
  }
  return { type: v.type, nodeId: v.nodeId, context: String(v.context ?? "") };
}
