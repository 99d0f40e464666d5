/**
 * Gives memory the process freed back to the operating system, on Linux
 * with glibc: `malloc_trim(0)` through `Deno.dlopen`.
 *
 * Why: the agent's bursts of short-lived buffers (the first listing of
 * everything it serves, a cold read of many bodies) are allocated with
 * `malloc` outside the JS heap. glibc keeps the pages of freed chunks in its
 * arenas, so after loading 100,000 elements the process kept about 340 MiB
 * of freed memory resident (measured: RSS 518 MiB against a JS heap of
 * 71 MiB and 108 MiB of live buffers); trimming brought it to 283 MiB
 * (`bench/README.md`). A trim releases only free pages: it changes nothing
 * the process holds, and takes well under a millisecond when there is
 * little to release.
 *
 * Elsewhere (another libc or OS, or without the FFI permission) it does
 * nothing.
 *
 * A trim alone gives back only what V8 already collected; the garbage of a
 * burst (the records of a listing or of many cold reads, their buffers and
 * decoded strings) stays until V8 next collects, which it may not do for a
 * long while once idle. So {@linkcode releaseMemory} collects first, and
 * {@linkcode startBurstRelease} calls it at the end of each burst (and
 * during a long one): measured on 100,000 elements of 1 KiB, the RSS right
 * after the first listing went from 528 MiB to 160 MiB, and after reading
 * every key twice from 811 MiB to 272 MiB within 5 s (`bench/README.md`).
 *
 * @module
 */

import v8 from "node:v8";
import vm from "node:vm";

/** The libc trim function, or null when this platform has none we can call. */
let trimFn: (() => void) | null | undefined;

function load(): (() => void) | null {
  if (Deno.build.os !== "linux") return null;
  try {
    const lib = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return () => void lib.symbols.malloc_trim(0n);
  } catch {
    // Not glibc, or no --allow-ffi: nothing to trim with.
    return null;
  }
}

/** Releases freed `malloc` memory to the OS now; answers whether it could. */
export function trimMemory(): boolean {
  if (trimFn === undefined) trimFn = load();
  if (trimFn === null) return false;
  trimFn();
  return true;
}

/** V8's full garbage collection, exposed once (see {@linkcode collectGarbage}). */
let gcFn: (() => void) | null | undefined;

function loadGc(): (() => void) | null {
  try {
    // Exposes `gc` to contexts made from now on: the agent's own is left as it is.
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as unknown;
    return typeof gc === "function" ? () => void gc() : null;
  } catch {
    return null;
  }
}

/**
 * A full garbage collection now, then {@linkcode trimMemory}: what the
 * process freed goes back to the OS at once. For the end of a burst (the
 * first listing): V8 alone collects when it next allocates, or after a
 * while idle, and until then the garbage and the pages under it stay
 * resident. It stops the event loop for the collection (tens of ms for a
 * heap of 100 MiB): call it rarely. Answers whether it could collect.
 */
export function releaseMemory(): boolean {
  if (gcFn === undefined) gcFn = loadGc();
  gcFn?.();
  trimMemory();
  return gcFn !== null;
}

/**
 * Trims every `everyMs` (default 30,000) until the returned function is
 * called. The timer does not keep the process alive.
 */
export function startMemoryTrim(everyMs = 30_000): () => void {
  if (!trimMemory()) return () => {};
  const timer = setInterval(trimMemory, everyMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}

/**
 * Tells the end of a burst of work from a counter that grows with it (the
 * bytes of records read from cassemdb: each leaves buffers and strings
 * behind). Pure: fed the counter at each check.
 *
 * A burst is over when the counter grew by at least `minGrowth` since the
 * last release and then did not move between two checks. A long burst is
 * also released every `maxGrowth` while it lasts (so what it leaves behind
 * stays bounded), and then once more at its end.
 */
export class BurstDetector {
  readonly #minGrowth: number;
  readonly #maxGrowth: number;
  #atRelease: number | undefined;
  #last: number | undefined;
  /** Released during the burst going on: its end is released whatever it grew since. */
  #releasedInBurst = false;

  /**
   * A detector of bursts of at least `minGrowth`, released every
   * `maxGrowth` while they last (default: only at their end).
   */
  constructor(minGrowth: number, maxGrowth = Infinity) {
    this.#minGrowth = minGrowth;
    this.#maxGrowth = maxGrowth;
  }

  /** Feeds the counter's value now; answers whether to release memory now. */
  check(value: number): boolean {
    const last = this.#last;
    this.#last = value;
    this.#atRelease ??= value;
    const grown = value - this.#atRelease;
    if (value !== last) {
      if (grown < this.#maxGrowth) return false;
      this.#releasedInBurst = true;
    } else {
      const ended = grown >= this.#minGrowth || (this.#releasedInBurst && grown > 0);
      this.#releasedInBurst = false;
      if (!ended) return false;
    }
    this.#atRelease = value;
    return true;
  }
}

/** Options of {@linkcode startBurstRelease}. */
export interface BurstReleaseOptions {
  /** The counter that grows with the bursts (see {@linkcode BurstDetector}). */
  activity: () => number;
  /** Growth of the counter that makes a burst (default 16 Mi). */
  minGrowth?: number;
  /** Growth after which a burst still going on is released (default 32 Mi). */
  maxGrowth?: number;
  /** Between checks, in ms (default 1,000). */
  checkMs?: number;
  /** What to do at the end of a burst (default {@linkcode releaseMemory}). */
  release?: () => void;
}

/**
 * At the end of each burst of `activity` (see {@linkcode BurstDetector}),
 * releases memory: what a burst of cold reads left behind goes back to the
 * OS a second after it, not at the next 30 s trim. The timer does not keep
 * the process alive; the returned function stops it.
 */
export function startBurstRelease(options: BurstReleaseOptions): () => void {
  const detector = new BurstDetector(options.minGrowth ?? 16 << 20, options.maxGrowth ?? 32 << 20);
  const release = options.release ?? releaseMemory;
  detector.check(options.activity());
  const timer = setInterval(() => {
    if (detector.check(options.activity())) release();
  }, options.checkMs ?? 1_000);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
