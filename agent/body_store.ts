/**
 * BodyStore: the texts the agent keeps (the bodies of its LRU-K cache), as
 * UTF-8 bytes packed one after another into large `ArrayBuffer` chunks
 * outside the JS heap.
 *
 * Why: a JS string and its holder object per cached body cost the V8 heap
 * about twice the text (object headers, and a young generation that grows
 * while many long-lived bodies are allocated through it), and V8 keeps the
 * pages it grew into. Packed bytes cost the text and 16 bytes of handle
 * tables per body, and no garbage collection work.
 *
 * A body of at least `compressMinBytes` is kept deflated (raw DEFLATE,
 * node:zlib) when that saves at least an eighth of it: 1 KiB slices of real
 * config files (JSON, YAML, .conf) deflate 2.2×, so the same memory holds
 * about twice the bodies. Inflating costs 12–22 µs a body
 * (`bench/config_ratio.ts`), paid only by reads whose answer is not already prepared
 * (hot versions keep theirs, see `PreparedCache`).
 *
 * A body is a handle (a small integer, reused once freed). Its bytes never
 * change; a chunk whose live bytes fall below a quarter of what it holds is
 * emptied by moving its bodies into the chunk being filled, and dropped.
 * A view returned by {@linkcode BodyStore.bytes} stays correct after that
 * (it keeps the old chunk alive) but must not be kept past the body's
 * {@linkcode BodyStore.free}.
 *
 * @module
 */

import { deflateRawSync, inflateRawSync } from "node:zlib";

/** Options of {@linkcode BodyStore}. */
export interface BodyStoreOptions {
  /** Bytes per chunk (default 1 MiB). A body larger than a quarter of it gets a chunk of its own. */
  chunkBytes?: number;
  /**
   * Bodies of at least this many UTF-8 bytes are stored deflated when that
   * saves an eighth of them (default 512; 0 never deflates).
   */
  compressMinBytes?: number;
}

/** Counters of a {@linkcode BodyStore}. */
export interface BodyStoreStats {
  /** Bodies held. */
  bodies: number;
  /** Their bytes as stored (deflated or not). */
  bytes: number;
  /** Their UTF-8 bytes before deflating. */
  textBytes: number;
  /** Bodies stored deflated. */
  deflated: number;
  /** Chunks allocated. */
  chunks: number;
  /** Bytes of the chunks allocated (held bytes plus free space). */
  reservedBytes: number;
  /** Bodies moved to empty a chunk so far. */
  moved: number;
}

interface Chunk {
  readonly buf: Uint8Array<ArrayBuffer>;
  /** Bytes appended so far (the next body goes at `used`). */
  used: number;
  /** Bytes of bodies still held. */
  live: number;
}

/** The largest scratch buffer `put` keeps (a bigger text is encoded into a buffer of its own). */
const SCRATCH_MAX = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * UTF-8 texts packed into chunks (see the module doc).
 *
 * Invariant: a held handle `h` has `#chunkOf[h] ≥ 0` and its bytes at
 * `chunks[#chunkOf[h]].buf[#offset[h], #offset[h] + #length[h])`, deflated
 * from `#textLength[h]` bytes when those differ (never equal then); a free
 * handle has `#chunkOf[h] = -1` and is in `#freeHandles`; every chunk's
 * `live` is the sum of the lengths of the held bodies in it.
 */
export class BodyStore {
  readonly #chunkBytes: number;
  readonly #compressMin: number;
  readonly #chunks: (Chunk | undefined)[] = [];
  /** The chunk new bodies are appended to. */
  #current = -1;
  #chunkOf = new Int32Array(1024).fill(-1);
  #offset = new Int32Array(1024);
  #length = new Int32Array(1024);
  #textLength = new Int32Array(1024);
  readonly #freeHandles: number[] = [];
  #handles = 0;
  #bodies = 0;
  #bytes = 0;
  #textBytes = 0;
  #deflated = 0;
  #moved = 0;
  /** Where `put` encodes a text it may deflate (grown up to {@linkcode SCRATCH_MAX}). */
  #scratch = new Uint8Array(4096);

  /**
   * An empty store.
   * @throws {RangeError} when `chunkBytes` is not an integer of at least 4 KiB.
   */
  constructor(options: BodyStoreOptions = {}) {
    const n = options.chunkBytes ?? 1 << 20;
    if (!Number.isSafeInteger(n) || n < 4096 || n > 2 ** 30) {
      throw new RangeError(
        `Cannot create the body store as chunkBytes must be an integer in [4096, 2^30]: current value is ${n}`,
      );
    }
    this.#chunkBytes = n;
    const min = options.compressMinBytes ?? 512;
    if (!Number.isSafeInteger(min) || min < 0) {
      throw new RangeError(
        `Cannot create the body store as compressMinBytes must be an integer ≥ 0: current value is ${min}`,
      );
    }
    this.#compressMin = min === 0 ? Infinity : min;
  }

  /** Stores the UTF-8 bytes of `text` (deflated if worth it); answers its handle. */
  put(text: string): number {
    // A text of n UTF-16 units takes at most 3n bytes.
    const most = 3 * text.length;
    if (most >= this.#compressMin) {
      // It may be worth deflating: encode it aside, then store it one way or the other.
      if (most > SCRATCH_MAX) return this.putBytes(encoder.encode(text));
      if (this.#scratch.length < most) this.#scratch = new Uint8Array(most);
      const { written } = encoder.encodeInto(text, this.#scratch);
      return this.putBytes(this.#scratch.subarray(0, written));
    }
    if (most <= this.#chunkBytes / 4) {
      const c = this.#room(most);
      const chunk = this.#chunks[c]!;
      const { written } = encoder.encodeInto(text, chunk.buf.subarray(chunk.used));
      return this.#place(c, written, written);
    }
    return this.putBytes(encoder.encode(text));
  }

  /** Stores a copy of UTF-8 `bytes` (deflated if worth it); answers its handle. */
  putBytes(bytes: Uint8Array): number {
    if (bytes.length >= this.#compressMin) return this.#putMaybeDeflated(bytes);
    return this.#copy(bytes, bytes.length);
  }

  #putMaybeDeflated(bytes: Uint8Array): number {
    const deflated = deflateRawSync(bytes);
    // Worth it only when it saves an eighth (and a byte: equal lengths mean "as is").
    if (deflated.length <= bytes.length - Math.max(1, bytes.length >> 3)) {
      return this.#copy(deflated, bytes.length);
    }
    return this.#copy(bytes, bytes.length);
  }

  /** Stores a copy of `stored`, the form of a body of `textLength` UTF-8 bytes. */
  #copy(stored: Uint8Array, textLength: number): number {
    const c = this.#room(stored.length);
    const chunk = this.#chunks[c]!;
    chunk.buf.set(stored, chunk.used);
    return this.#place(c, stored.length, textLength);
  }

  /** The UTF-8 bytes of body `h` (a view when stored as is; see the module doc). */
  bytes(h: number): Uint8Array {
    const stored = this.#stored(h);
    if (this.#length[h] === this.#textLength[h]) return stored;
    const b = inflateRawSync(stored);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }

  /** The text of body `h`. */
  text(h: number): string {
    return decoder.decode(this.bytes(h));
  }

  /** Whether body `h` is stored deflated. */
  deflated(h: number): boolean {
    this.#held(h);
    return this.#length[h] !== this.#textLength[h];
  }

  /** The bytes of body `h` as stored (a view). */
  #stored(h: number): Uint8Array<ArrayBuffer> {
    const c = this.#held(h);
    const off = this.#offset[h]!;
    return this.#chunks[c]!.buf.subarray(off, off + this.#length[h]!);
  }

  /** The size of body `h` in bytes as stored (what it costs the store). */
  size(h: number): number {
    this.#held(h);
    return this.#length[h]!;
  }

  /** Whether `h` is a held body. */
  holds(h: number): boolean {
    return h >= 0 && h < this.#handles && this.#chunkOf[h]! >= 0;
  }

  /** Frees body `h`; its handle may be given to another body. */
  free(h: number): void {
    const c = this.#held(h);
    const len = this.#length[h]!;
    this.#chunkOf[h] = -1;
    this.#freeHandles.push(h);
    this.#bodies--;
    this.#bytes -= len;
    this.#textBytes -= this.#textLength[h]!;
    if (len !== this.#textLength[h]) this.#deflated--;
    const chunk = this.#chunks[c]!;
    chunk.live -= len;
    if (c === this.#current) {
      // Nothing is left in the chunk being filled: start it over.
      if (chunk.live === 0) chunk.used = 0;
      return;
    }
    if (chunk.live === 0) this.#chunks[c] = undefined;
    else if (chunk.live * 4 < chunk.used) this.#evacuate(c);
  }

  /** Counters. */
  stats(): BodyStoreStats {
    let chunks = 0;
    let reserved = 0;
    for (const c of this.#chunks) {
      if (!c) continue;
      chunks++;
      reserved += c.buf.length;
    }
    return {
      bodies: this.#bodies,
      bytes: this.#bytes,
      textBytes: this.#textBytes,
      deflated: this.#deflated,
      chunks,
      reservedBytes: reserved,
      moved: this.#moved,
    };
  }

  /** The chunk of held body `h`. @throws {RangeError} when `h` is not held (a bug of the caller). */
  #held(h: number): number {
    const c = h >= 0 && h < this.#handles ? this.#chunkOf[h]! : -1;
    if (c < 0) {
      throw new RangeError(
        `Cannot use body ${h} as the store does not hold it (freed or never stored)`,
      );
    }
    return c;
  }

  /** A chunk with at least `need` free bytes at its end: the current one, or a new one. */
  #room(need: number): number {
    const cur = this.#chunks[this.#current];
    if (cur && cur.buf.length - cur.used >= need) return this.#current;
    // A big body gets a chunk of its own and leaves the current chunk current.
    if (need > this.#chunkBytes / 4) return this.#newChunk(need);
    this.#current = this.#newChunk(this.#chunkBytes);
    return this.#current;
  }

  #newChunk(size: number): number {
    let c = this.#chunks.indexOf(undefined);
    if (c < 0) c = this.#chunks.length;
    this.#chunks[c] = { buf: new Uint8Array(size), used: 0, live: 0 };
    return c;
  }

  /**
   * Records the `len` bytes just written at the end of chunk `c` as a new
   * body of `textLength` UTF-8 bytes (deflated when the two differ).
   */
  #place(c: number, len: number, textLength: number): number {
    const chunk = this.#chunks[c]!;
    const h = this.#newHandle();
    this.#chunkOf[h] = c;
    this.#offset[h] = chunk.used;
    this.#length[h] = len;
    this.#textLength[h] = textLength;
    chunk.used += len;
    chunk.live += len;
    this.#bodies++;
    this.#bytes += len;
    this.#textBytes += textLength;
    if (len !== textLength) this.#deflated++;
    return h;
  }

  #newHandle(): number {
    const free = this.#freeHandles.pop();
    if (free !== undefined) return free;
    const h = this.#handles++;
    if (h === this.#chunkOf.length) {
      const grow = (a: Int32Array<ArrayBuffer>, fill: number) => {
        const b = new Int32Array(2 * a.length).fill(fill);
        b.set(a);
        return b;
      };
      this.#chunkOf = grow(this.#chunkOf, -1);
      this.#offset = grow(this.#offset, 0);
      this.#length = grow(this.#length, 0);
      this.#textLength = grow(this.#textLength, 0);
    }
    return h;
  }

  /** Moves every body of chunk `c` to the current chunk and drops `c`. */
  #evacuate(c: number): void {
    // `c` stays in #chunks until it is empty, so that #room cannot reuse its index meanwhile.
    const from = this.#chunks[c]!;
    for (let h = 0; h < this.#handles; h++) {
      if (this.#chunkOf[h] !== c) continue;
      const off = this.#offset[h]!;
      const len = this.#length[h]!;
      const to = this.#room(len);
      const chunk = this.#chunks[to]!;
      chunk.buf.set(from.buf.subarray(off, off + len), chunk.used);
      this.#chunkOf[h] = to;
      this.#offset[h] = chunk.used;
      chunk.used += len;
      chunk.live += len;
      this.#moved++;
    }
    this.#chunks[c] = undefined;
  }
}
