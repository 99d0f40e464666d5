/**
 * Exponential backoff with jitter, for reconnecting after every agent has
 * failed in a row. Pure: the randomness is injected.
 *
 * @module
 */

/** Options of {@linkcode Backoff}. */
export interface BackoffOptions {
  /** The first delay, in ms (default 250). */
  initialMs?: number;
  /** The longest delay, in ms (default 10,000). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /**
   * The share of each delay that is random, in [0, 1] (default 0.5): the
   * delay is in `[d × (1 − jitter), d]`, so clients that lost the same agent
   * do not all come back at once.
   */
  jitter?: number;
  /** A random number in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/** Delays that grow from `initialMs` to `maxMs` until {@linkcode Backoff.reset}. */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  /**
   * A backoff with `options`.
   * @throws {RangeError} naming the option when one is out of range.
   */
  constructor(options: BackoffOptions = {}) {
    this.#initial = options.initialMs ?? 250;
    this.#max = options.maxMs ?? 10_000;
    this.#factor = options.factor ?? 2;
    this.#jitter = options.jitter ?? 0.5;
    this.#random = options.random ?? Math.random;
    if (!(this.#initial >= 0)) {
      throw new RangeError(
        `Cannot back off as initialMs must be at least 0: current value is ${this.#initial}`,
      );
    }
    if (!(this.#max >= this.#initial)) {
      throw new RangeError(
        `Cannot back off as maxMs must be at least initialMs (${this.#initial}): current value is ${this.#max}`,
      );
    }
    if (!(this.#factor >= 1)) {
      throw new RangeError(
        `Cannot back off as factor must be at least 1: current value is ${this.#factor}`,
      );
    }
    if (!(this.#jitter >= 0 && this.#jitter <= 1)) {
      throw new RangeError(
        `Cannot back off as jitter must be in [0, 1]: current value is ${this.#jitter}`,
      );
    }
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The next delay in ms; each call counts one attempt. */
  next(): number {
    const base = Math.min(this.#max, this.#initial * this.#factor ** this.#attempt);
    this.#attempt++;
    return Math.round(base * (1 - this.#jitter * this.#random()));
  }

  /** Starts over from `initialMs` (after a success). */
  reset(): void {
    this.#attempt = 0;
  }
}
