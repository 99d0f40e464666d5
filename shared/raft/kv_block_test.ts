import assert from "node:assert/strict";
import {
  BLOCK_HEADER_BYTES,
  cutBlocks,
  decodeBlock,
  encodeBlock,
  ENTRY_HEADER_BYTES,
  entryBlockBytes,
  readBlockHeader,
} from "./kv_block.ts";
import { type Entry, EntryType } from "./types.ts";

const PART = 60 * 1024;

function entry(index: number, term: number, data: Uint8Array, type = EntryType.Normal): Entry {
  return { index, term, type, data };
}

function filled(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** A copy of `parts` with byte `at` of the joined block set to `value`. */
function patched(parts: Uint8Array[], at: number, value: number): Uint8Array[] {
  const copy = parts.map((p) => p.slice());
  let offset = at;
  for (const p of copy) {
    if (offset < p.byteLength) {
      p[offset] = value;
      break;
    }
    offset -= p.byteLength;
  }
  return copy;
}

Deno.test("encodeBlock() and decodeBlock() round-trip terms, types and data", () => {
  const ents = [
    entry(41, 3, filled(10, 1)),
    entry(42, 3, filled(0, 0), EntryType.ConfChange),
    entry(43, 2 ** 40, filled(1000, 2)),
  ];
  const parts = encodeBlock(ents, PART);
  assert.equal(parts.length, 1);
  assert.equal(
    parts[0]!.byteLength,
    BLOCK_HEADER_BYTES + 3 * ENTRY_HEADER_BYTES + 1010,
  );
  assert.deepEqual(readBlockHeader(parts[0]!), {
    first: 41,
    count: 3,
    parts: 1,
    size: parts[0]!.byteLength,
  });
  assert.deepEqual(decodeBlock(parts), ents);
});

Deno.test("encodeBlock() handles entries with empty data only", () => {
  const ents = [entry(1, 1, new Uint8Array(0)), entry(2, 1, new Uint8Array(0))];
  const parts = encodeBlock(ents, PART);
  assert.equal(parts[0]!.byteLength, BLOCK_HEADER_BYTES + 2 * ENTRY_HEADER_BYTES);
  assert.deepEqual(decodeBlock(parts), ents);
});

Deno.test("encodeBlock() splits a large block into views of one buffer, part 0 first", () => {
  const ents = [entry(7, 1, filled(100, 3)), entry(8, 1, filled(1024 * 1024, 4))];
  const parts = encodeBlock(ents, PART);
  const size = BLOCK_HEADER_BYTES + 2 * ENTRY_HEADER_BYTES + 100 + 1024 * 1024;
  assert.equal(parts.length, Math.ceil(size / PART));
  assert.ok(parts.slice(0, -1).every((p) => p.byteLength === PART));
  assert.ok(parts.every((p) => p.buffer === parts[0]!.buffer), "no copy per part");
  assert.deepEqual(readBlockHeader(parts[0]!), { first: 7, count: 2, parts: parts.length, size });
  assert.deepEqual(decodeBlock(parts), ents);
});

Deno.test("encodeBlock() copies only the bytes of a data view", () => {
  const data = filled(5000, 5).subarray(1000, 1100);
  const parts = encodeBlock([entry(1, 1, data)], PART);
  assert.equal(parts[0]!.byteLength, BLOCK_HEADER_BYTES + ENTRY_HEADER_BYTES + 100);
  assert.deepEqual(decodeBlock(parts)[0]!.data, data.slice());
});

Deno.test("decodeBlock() returns data that owns its bytes", () => {
  const parts = encodeBlock([entry(1, 1, filled(10, 6))], PART);
  const [e] = decodeBlock(parts);
  parts[0]!.fill(0);
  assert.deepEqual(e!.data, filled(10, 6));
  assert.equal(e!.data.byteLength, e!.data.buffer.byteLength);
});

Deno.test("cutBlocks() cuts at entry boundaries and gives a large entry its own block", () => {
  const small = (i: number) => entry(i, 1, new Uint8Array(100));
  const max = BLOCK_HEADER_BYTES + 3 * (ENTRY_HEADER_BYTES + 100);
  const runs = cutBlocks([small(1), small(2), small(3), small(4), small(5)], max);
  assert.deepEqual(runs.map((r) => r.map((e) => e.index)), [[1, 2, 3], [4, 5]]);
  const big = entry(3, 1, new Uint8Array(max));
  const mixed = cutBlocks([small(1), small(2), big, small(4)], max);
  assert.deepEqual(mixed.map((r) => r.map((e) => e.index)), [[1, 2], [3], [4]]);
  assert.deepEqual(cutBlocks([], max), []);
  assert.equal(entryBlockBytes(big), ENTRY_HEADER_BYTES + max);
});

Deno.test("encodeBlock() rejects what it cannot encode", () => {
  assert.throws(() => encodeBlock([], PART), /at least one entry/);
  assert.throws(
    () => encodeBlock([entry(1, 1, new Uint8Array(1)), entry(3, 1, new Uint8Array(1))], PART),
    /must be contiguous: expected index 2, current value is 3/,
  );
  assert.throws(() => encodeBlock([entry(0, 1, new Uint8Array(1))], PART), /positive integers/);
  assert.throws(() => encodeBlock([entry(1, 1.5, new Uint8Array(1))], PART), /term/);
  assert.throws(
    () => encodeBlock([entry(1, 1, new Uint8Array(1), 7 as EntryType)], PART),
    /type must be an EntryType: current value is 7/,
  );
  assert.throws(() => encodeBlock([entry(1, 1, new Uint8Array(1))], 8), /part size/);
});

Deno.test("readBlockHeader() and decodeBlock() reject short and corrupt blocks", async (t) => {
  const ents = [entry(5, 2, filled(300, 7)), entry(6, 2, filled(200 * 1024, 8))];
  const parts = encodeBlock(ents, PART);
  assert.equal(parts.length, 4);

  await t.step("no parts", () => {
    assert.throws(() => decodeBlock([]), /has no parts/);
  });
  await t.step("a part 0 shorter than the header", () => {
    assert.throws(
      () => readBlockHeader(parts[0]!.subarray(0, 10)),
      /header needs 24 bytes: current size is 10/,
    );
  });
  await t.step("a wrong magic number", () => {
    assert.throws(() => decodeBlock(patched(parts, 0, 0x58)), /magic number must be 0x314b4252/);
  });
  await t.step("a missing part", () => {
    assert.throws(
      () => decodeBlock([parts[0]!, parts[1]!, parts[3]!]),
      /must have 4 parts: current value is 3/,
    );
  });
  await t.step("a truncated last part", () => {
    const short = [...parts.slice(0, 3), parts[3]!.subarray(0, 100)];
    assert.throws(() => decodeBlock(short), /parts must add up to \d+ bytes: current value is/);
  });
  await t.step("an entry type that does not exist", () => {
    const at = BLOCK_HEADER_BYTES + ENTRY_HEADER_BYTES + 8;
    assert.throws(
      () => decodeBlock(patched(parts, at, 9)),
      /Cannot decode entry 6 as its type must be an EntryType: current value is 9/,
    );
  });
  await t.step("a data length past the end of the block", () => {
    const at = BLOCK_HEADER_BYTES + 9 + 3; // high byte of entry 5's length
    assert.throws(() => decodeBlock(patched(parts, at, 0x7f)), /data must end within the block/);
  });
  await t.step("a data length short of the end of the block", () => {
    const at = BLOCK_HEADER_BYTES + 9; // low byte of entry 5's length: 300 → 256 + 0
    assert.throws(() => decodeBlock(patched(parts, at, 0)), /entries must fill its/);
  });
  await t.step("an entry count too large for the block", () => {
    const one = encodeBlock([entry(1, 1, new Uint8Array(0))], PART);
    assert.throws(() => readBlockHeader(patched(one, 12, 200)[0]!), /200 entries need at least/);
  });
  await t.step("a term that is not an integer", () => {
    const one = encodeBlock([entry(1, 1, new Uint8Array(0))], PART);
    const nan = one.map((p) => p.slice());
    new DataView(nan[0]!.buffer).setFloat64(BLOCK_HEADER_BYTES, 0.5, true);
    assert.throws(
      () => decodeBlock(nan),
      /term must be a non-negative integer: current value is 0.5/,
    );
  });
});
