/**
 * A small seeded pseudo-random generator (sfc32). Deterministic for a seed,
 * so a simulation can be replayed; the raft core receives one instead of
 * calling `Math.random`.
 *
 * @module
 */

/** A source of random integers, injected wherever randomness is needed. */
export interface Prng {
  /** A uniform integer in `[0, n)`. */
  intn(n: number): number;
}

/** sfc32 seeded from one 32-bit integer. */
export class SeededPrng implements Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next32();
  }

  /** The next 32-bit unsigned value. */
  next32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float in `[0, 1)`. */
  float(): number {
    return this.next32() / 4294967296;
  }

  intn(n: number): number {
    if (!(n > 0)) {
      throw new RangeError(`Cannot draw from [0, n) as n must be > 0: current value is ${n}`);
    }
    return Math.floor(this.float() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** A new generator whose seed is drawn from this one, for an independent stream. */
  fork(): SeededPrng {
    return new SeededPrng(this.next32());
  }
}
