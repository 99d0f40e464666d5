/**
 * The binary codec of a log block: a contiguous run of raft entries packed into
 * one byte buffer, which is then split into parts small enough to be stored as
 * Deno KV values (see `kv_storage.ts`). Hand-rolled with `DataView`, so that
 * encoding copies each entry's data exactly once.
 *
 * Layout, little-endian; integers stored as float64 are safe integers:
 *
 * | offset      | bytes | field                                                  |
 * | ----------- | ----- | ------------------------------------------------------ |
 * | 0           | 4     | magic `RBK1`                                           |
 * | 4           | 8     | index of the first entry (float64)                     |
 * | 12          | 4     | number of entries `n` (uint32)                         |
 * | 16          | 4     | number of parts the block is stored in (uint32)        |
 * | 20          | 4     | size of the whole block in bytes (uint32)              |
 * | 24 + 13 i   | 8     | term of entry `i` (float64)                            |
 * | 32 + 13 i   | 1     | type of entry `i` (uint8)                              |
 * | 33 + 13 i   | 4     | data length of entry `i` (uint32)                      |
 * | 24 + 13 n   | …     | the data of entries `0 .. n-1`, concatenated           |
 *
 * The first part always holds the fixed header, so {@linkcode readBlockHeader}
 * tells from part 0 alone which entries a block holds and how many parts it needs.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { type Entry, EntryType } from "./types.ts";

/** Bytes of the fixed header at the start of every block. */
export const BLOCK_HEADER_BYTES = 24;
/** Bytes of per-entry metadata (term, type, data length) in a block. */
export const ENTRY_HEADER_BYTES = 13;

/** `RBK1` read as a little-endian uint32. */
const MAGIC = 0x314b4252;
const MAX_UINT32 = 0xffff_ffff;

/** What the fixed header of a block says. */
export interface BlockHeader {
  /** Index of the first entry. */
  first: number;
  /** Number of entries; they are `first .. first + count - 1`. */
  count: number;
  /** Number of parts the block was split into. */
  parts: number;
  /** Size of the whole block in bytes, header included. */
  size: number;
}

/** Bytes that `e` adds to a block. */
export function entryBlockBytes(e: Entry): number {
  return ENTRY_HEADER_BYTES + e.data.byteLength;
}

/**
 * Cuts `entries` into runs of whole entries whose encoded block is at most
 * `maxBytes`, keeping their order; an entry too large for that gets a run of
 * its own. The runs share the entry objects of `entries`.
 */
export function cutBlocks(entries: readonly Entry[], maxBytes: number): Entry[][] {
  const runs: Entry[][] = [];
  let run: Entry[] = [];
  let size = BLOCK_HEADER_BYTES;
  for (const e of entries) {
    const bytes = entryBlockBytes(e);
    if (run.length > 0 && size + bytes > maxBytes) {
      runs.push(run);
      run = [];
      size = BLOCK_HEADER_BYTES;
    }
    run.push(e);
    size += bytes;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Encodes `entries` (contiguous, at least one) as one block and returns it as
 * parts of at most `partBytes` bytes: views, in order, of one new buffer.
 * @throws {RangeError} when `entries` is empty or not contiguous, an index,
 * term or type is invalid, or the block would exceed 4 GiB.
 */
export function encodeBlock(entries: readonly Entry[], partBytes: number): Uint8Array[] {
  if (!Number.isSafeInteger(partBytes) || partBytes < BLOCK_HEADER_BYTES) {
    throw new RangeError(
      `Cannot encode a block as the part size must be an integer of at least ${BLOCK_HEADER_BYTES}: current value is ${partBytes}`,
    );
  }
  const head = entries[0];
  if (head === undefined) {
    throw new RangeError("Cannot encode a block as it must hold at least one entry");
  }
  const n = entries.length;
  let size = BLOCK_HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    checkEntry(e, head.index + i);
    size += entryBlockBytes(e);
  }
  if (size > MAX_UINT32) {
    throw new RangeError(
      `Cannot encode a block as it must be at most ${MAX_UINT32} bytes: current value is ${size}`,
    );
  }
  const parts = Math.ceil(size / partBytes);
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  view.setUint32(0, MAGIC, true);
  view.setFloat64(4, head.index, true);
  view.setUint32(12, n, true);
  view.setUint32(16, parts, true);
  view.setUint32(20, size, true);
  let meta = BLOCK_HEADER_BYTES;
  let at = BLOCK_HEADER_BYTES + n * ENTRY_HEADER_BYTES;
  for (const e of entries) {
    view.setFloat64(meta, e.term, true);
    view.setUint8(meta + 8, e.type);
    view.setUint32(meta + 9, e.data.byteLength, true);
    meta += ENTRY_HEADER_BYTES;
    buf.set(e.data, at);
    at += e.data.byteLength;
  }
  const out: Uint8Array[] = [];
  for (let k = 0; k < parts; k++) out.push(buf.subarray(k * partBytes, (k + 1) * partBytes));
  return out;
}

/**
 * Reads the fixed header of a block from its first part.
 * @throws {RangeError} when `part0` is too short or the header is not valid.
 */
export function readBlockHeader(part0: Uint8Array): BlockHeader {
  if (part0.byteLength < BLOCK_HEADER_BYTES) {
    throw new RangeError(
      `Cannot decode the block as its header needs ${BLOCK_HEADER_BYTES} bytes: current size is ${part0.byteLength}`,
    );
  }
  const view = new DataView(part0.buffer, part0.byteOffset, part0.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== MAGIC) {
    throw new RangeError(
      `Cannot decode the block as its magic number must be 0x${hex(MAGIC)}: current value is 0x${
        hex(magic)
      }`,
    );
  }
  const header: BlockHeader = {
    first: view.getFloat64(4, true),
    count: view.getUint32(12, true),
    parts: view.getUint32(16, true),
    size: view.getUint32(20, true),
  };
  if (!Number.isSafeInteger(header.first) || header.first < 1) {
    throw new RangeError(
      `Cannot decode the block as its first index must be a positive integer: current value is ${header.first}`,
    );
  }
  const min = BLOCK_HEADER_BYTES + header.count * ENTRY_HEADER_BYTES;
  if (header.size < min) {
    throw new RangeError(
      `Cannot decode the block as ${header.count} entries need at least ${min} bytes: current size is ${header.size}`,
    );
  }
  if (header.parts < 1 || header.parts > header.size) {
    throw new RangeError(
      `Cannot decode the block as its part count must be within [1, ${header.size}]: current value is ${header.parts}`,
    );
  }
  return header;
}

/**
 * Decodes a block from all its parts, in order. The entries own their data (it
 * is copied out of `parts`), so they neither alias nor keep alive the parts.
 * @throws {RangeError} when parts are missing or extra, their sizes do not add
 * up to the block size, or any field is invalid.
 */
export function decodeBlock(parts: readonly Uint8Array[]): Entry[] {
  const part0 = parts[0];
  if (part0 === undefined) {
    throw new RangeError("Cannot decode the block as it has no parts");
  }
  const h = readBlockHeader(part0);
  if (parts.length !== h.parts) {
    throw new RangeError(
      `Cannot decode the block as it must have ${h.parts} parts: current value is ${parts.length}`,
    );
  }
  const buf = concatBytes(parts);
  if (buf.byteLength !== h.size) {
    throw new RangeError(
      `Cannot decode the block as its parts must add up to ${h.size} bytes: current value is ${buf.byteLength}`,
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Entry[] = [];
  let meta = BLOCK_HEADER_BYTES;
  let at = BLOCK_HEADER_BYTES + h.count * ENTRY_HEADER_BYTES;
  for (let i = 0; i < h.count; i++) {
    const index = h.first + i;
    const term = view.getFloat64(meta, true);
    const type = view.getUint8(meta + 8);
    const length = view.getUint32(meta + 9, true);
    meta += ENTRY_HEADER_BYTES;
    if (!Number.isSafeInteger(term) || term < 0) {
      throw new RangeError(
        `Cannot decode entry ${index} as its term must be a non-negative integer: current value is ${term}`,
      );
    }
    if (EntryType[type] === undefined) {
      throw new RangeError(
        `Cannot decode entry ${index} as its type must be an EntryType: current value is ${type}`,
      );
    }
    if (at + length > buf.byteLength) {
      throw new RangeError(
        `Cannot decode entry ${index} as its data must end within the block of ${buf.byteLength} bytes: current end is ${
          at + length
        }`,
      );
    }
    out.push({ term, index, type, data: buf.slice(at, at + length) });
    at += length;
  }
  if (at !== buf.byteLength) {
    throw new RangeError(
      `Cannot decode the block as its entries must fill its ${buf.byteLength} bytes: current value is ${at}`,
    );
  }
  return out;
}

/** Checks what {@linkcode encodeBlock} writes of `e`, expected at `index`. */
function checkEntry(e: Entry, index: number): void {
  if (!Number.isSafeInteger(e.index) || e.index < 1) {
    throw new RangeError(
      `Cannot encode a block as entry indexes must be positive integers: current value is ${e.index}`,
    );
  }
  if (e.index !== index) {
    throw new RangeError(
      `Cannot encode a block as its entries must be contiguous: expected index ${index}, current value is ${e.index}`,
    );
  }
  if (!Number.isSafeInteger(e.term) || e.term < 0) {
    throw new RangeError(
      `Cannot encode entry ${e.index} as its term must be a non-negative integer: current value is ${e.term}`,
    );
  }
  if (EntryType[e.type] === undefined) {
    throw new RangeError(
      `Cannot encode entry ${e.index} as its type must be an EntryType: current value is ${e.type}`,
    );
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
