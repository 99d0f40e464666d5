/**
 * Recovery of a {@linkcode KvStorage} file: {@linkcode load} reads every
 * record, replays the complete log blocks and the snapshot, and returns what
 * is reachable and what is garbage (left by an interrupted write).
 *
 * @module
 */

import { type BlockHeader, decodeBlock, readBlockHeader } from "./kv_block.ts";
import { emptyConfState, emptySnapshot, MemoryStorage } from "./storage.ts";
import type { Entry, HardState } from "./types.ts";

import {
  assemble,
  blockKeys,
  type BlockRange,
  type BlockRef,
  byNumber,
  fitsEmpty,
  isHardState,
  isLogBounds,
  isSnapMeta,
  KEY_BYTES,
  type LogBounds,
  mapOf,
  type SnapMeta,
  type Span,
} from "./kv_layout.ts";

const EMPTY = new Uint8Array(0);

/** What {@linkcode load} found in a KV file. */
export interface Loaded {
  /** Holds the snapshot's metadata only (its data is `snapData`). */
  mem: MemoryStorage;
  snapData: Uint8Array | undefined;
  blocks: BlockRef[];
  meta: SnapMeta | undefined;
  maxGen: number;
  maxSnapId: number;
  garbage: Deno.KvKey[][];
  recovering: boolean;
}

/** A block found on disk by {@linkcode load}; `parts` is undefined when some are missing. */
interface FoundBlock extends BlockRange {
  gen: number;
  /** Whether the block is too large for one commit, so that writing it may have been interrupted. */
  spansCommits: boolean;
  /** The part numbers on disk that belong to the block. */
  present: number[];
  parts: Uint8Array[] | undefined;
}

/** Reads the whole file and rebuilds the storage; everything not reachable is returned as garbage. */
export async function load(kv: Deno.Kv, path: string): Promise<Loaded> {
  let hs: HardState | undefined;
  let bounds: LogBounds | undefined;
  let meta: SnapMeta | undefined;
  const blockParts = new Map<number, Map<number, Uint8Array>>();
  const snapChunks = new Map<number, Map<number, Uint8Array>>();
  let maxGen = 0;
  let maxSnapId = 0;
  let recovering = false;
  const corrupt = (what: string, cause?: unknown) =>
    new Error(`Cannot open ${path} as ${what}`, cause === undefined ? undefined : { cause });

  for await (const { key, value } of kv.list({ prefix: [] }, { batchSize: 500 })) {
    const [kind, a, b] = key;
    if (kind === "hs" && key.length === 1 && isHardState(value)) hs = value;
    else if (kind === "log" && key.length === 1 && isLogBounds(value)) bounds = value;
    else if (kind === "snap" && key.length === 1 && isSnapMeta(value)) meta = value;
    else if (kind === "recovering" && key.length === 1 && value === true) recovering = true;
    else if (
      kind === "b" && key.length === 3 && typeof a === "number" && typeof b === "number" &&
      value instanceof Uint8Array
    ) {
      mapOf(blockParts, a).set(b, value);
      maxGen = Math.max(maxGen, a);
    } else if (
      kind === "sc" && key.length === 3 && typeof a === "number" && typeof b === "number" &&
      value instanceof Uint8Array
    ) {
      mapOf(snapChunks, a).set(b, value);
      maxSnapId = Math.max(maxSnapId, a);
    } else if (kind === "e" || kind === "ec") {
      throw corrupt(
        "it holds a log in the one-key-per-entry layout, which this version does not read",
      );
    } else {
      throw corrupt(`key ${JSON.stringify(key.map(String))} is not a raft storage record`);
    }
  }

  const garbage: Deno.KvKey[][] = [];
  let snapshot = emptySnapshot();
  if (meta) {
    const data = assemble(snapChunks.get(meta.id), meta.chunks, meta.size);
    if (!data) throw corrupt(`the data of snapshot ${meta.index} is incomplete`);
    const { index, term, confState } = meta;
    snapshot = { metadata: { index, term, confState }, data };
  }
  for (const [id, chunks] of snapChunks) {
    const keep = id === meta?.id ? meta.chunks : 0;
    const keys: Deno.KvKey[] = [];
    for (const k of chunks.keys()) if (k >= keep) keys.push(["sc", id, k]);
    if (keys.length > 0) garbage.push(keys);
  }

  const snapIndex = snapshot.metadata.index;
  const b = bounds ?? { first: snapIndex + 1, last: snapIndex, prevTerm: snapshot.metadata.term };
  if (b.first - 1 > snapIndex || (meta && snapIndex > b.last)) {
    throw corrupt(`the log [${b.first}, ${b.last}] does not cover snapshot ${snapIndex}`);
  }

  const found = findBlocks(blockParts, garbage, corrupt);
  const { entries, blocks } = replay(found, b, garbage, corrupt);

  let mem: MemoryStorage;
  if (b.first - 1 === snapIndex) {
    mem = new MemoryStorage({ metadata: snapshot.metadata, data: EMPTY });
    mem.append(entries);
  } else {
    // The log starts before the snapshot: rebuild from the log, then record the snapshot.
    mem = new MemoryStorage({
      metadata: { index: b.first - 1, term: b.prevTerm, confState: emptyConfState() },
      data: new Uint8Array(0),
    });
    mem.append(entries);
    mem.createSnapshot(snapIndex, snapshot.metadata.confState, EMPTY);
    if (mem.snapshot().metadata.term !== snapshot.metadata.term) {
      throw corrupt(
        `snapshot ${snapIndex} has term ${snapshot.metadata.term} but the log has another`,
      );
    }
  }
  if (hs) mem.setHardState(hs);
  const snapData = meta ? snapshot.data : undefined;
  return { mem, snapData, blocks, meta, maxGen, maxSnapId, garbage, recovering };
}

/**
 * The blocks in `parts` (by generation, then part number), in `gen` order.
 * Parts without a part 0 and parts outside a block's part count are added to `garbage`.
 */
function findBlocks(
  parts: Map<number, Map<number, Uint8Array>>,
  garbage: Deno.KvKey[][],
  corrupt: (what: string, cause?: unknown) => Error,
): FoundBlock[] {
  const found: FoundBlock[] = [];
  for (const gen of [...parts.keys()].sort(byNumber)) {
    const byPart = parts.get(gen)!;
    const part0 = byPart.get(0);
    if (!part0) {
      garbage.push(blockKeys(gen, [...byPart.keys()]));
      continue;
    }
    let h: BlockHeader;
    try {
      h = readBlockHeader(part0);
    } catch (e) {
      throw corrupt(`the header of block ${gen} is corrupt`, e);
    }
    const belongs = (k: number) => Number.isInteger(k) && k >= 0 && k < h.parts;
    const extra = [...byPart.keys()].filter((k) => !belongs(k));
    if (extra.length > 0) garbage.push(blockKeys(gen, extra));
    const present = [...byPart.keys()].filter(belongs);
    const ordered: Uint8Array[] = [];
    for (let k = 0; k < h.parts; k++) {
      const p = byPart.get(k);
      if (p) ordered.push(p);
    }
    found.push({
      gen,
      first: h.first,
      last: h.first + h.count - 1,
      spansCommits: !fitsEmpty(h.parts, h.size + h.parts * KEY_BYTES),
      present,
      parts: ordered.length === h.parts ? ordered : undefined,
    });
  }
  return found;
}

/**
 * Replays `found` within `bounds`: returns the entries of the log and the
 * blocks that provide them, and adds every other block to `garbage`.
 *
 * An incomplete block that spans commits and is the newest is an interrupted
 * write: it is left out, as the bounds never moved over it. Any other
 * incomplete block was written whole, so it is garbage whose collection was
 * interrupted, or damage: it still truncates the log but provides no entry, so
 * that damage to a block the log needs is reported as a hole instead of older
 * entries showing through.
 */
function replay(
  found: readonly FoundBlock[],
  bounds: LogBounds,
  garbage: Deno.KvKey[][],
  corrupt: (what: string, cause?: unknown) => Error,
): { entries: Entry[]; blocks: BlockRef[] } {
  let replayed = found;
  const newest = found[found.length - 1];
  if (newest && !newest.parts && newest.spansCommits) {
    replayed = found.slice(0, -1);
    garbage.push(blockKeys(newest.gen, newest.present));
  }
  const spans = replaySpans(replayed, bounds.first, bounds.last);
  const entries: Entry[] = [];
  const blocks: BlockRef[] = [];
  let next = bounds.first;
  replayed.forEach((block, i) => {
    const span = spans[i];
    if (!span) {
      garbage.push(blockKeys(block.gen, block.present));
      return;
    }
    if (span.lo !== next) {
      throw corrupt(`entry ${next} is missing from the log [${bounds.first}, ${bounds.last}]`);
    }
    if (!block.parts) {
      throw corrupt(
        `block ${block.gen}, which holds entries [${span.lo}, ${span.hi}] of the log, is missing parts`,
      );
    }
    let decoded: Entry[];
    try {
      decoded = decodeBlock(block.parts);
    } catch (e) {
      throw corrupt(`block ${block.gen} is corrupt`, e);
    }
    for (let j = span.lo; j <= span.hi; j++) entries.push(decoded[j - block.first]!);
    blocks.push({
      gen: block.gen,
      first: block.first,
      last: block.last,
      parts: block.parts.length,
    });
    next = span.hi + 1;
  });
  if (next !== bounds.last + 1) {
    throw corrupt(`entry ${next} is missing from the log [${bounds.first}, ${bounds.last}]`);
  }
  return { entries, blocks };
}

/**
 * What each of `blocks` (in `gen` order) provides of `[first, last]` when they
 * are replayed, each truncating the log at its first index and appending its
 * entries: walking from the newest, a block keeps what is below every newer
 * block's first index. Undefined for a block that provides nothing (garbage).
 */
export function replaySpans(
  blocks: readonly BlockRange[],
  first: number,
  last: number,
): (Span | undefined)[] {
  const spans: (Span | undefined)[] = new Array(blocks.length);
  let limit = last + 1;
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i]!;
    const lo = Math.max(b.first, first);
    const hi = Math.min(b.last, limit - 1);
    spans[i] = lo <= hi ? { lo, hi } : undefined;
    limit = Math.min(limit, b.first);
  }
  return spans;
}

/** The keys of parts `ks` (or `0 .. ks-1`) of block `gen`, highest first, so that part 0 goes last. */
