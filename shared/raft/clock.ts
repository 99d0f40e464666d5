/**
 * {@linkcode Clock}: the time source and timers of the driver. cassemdb runs
 * on {@linkcode REAL_CLOCK}; the simulator injects simulated time so that a
 * seed replays exactly.
 *
 * @module
 */

/** An opaque timer handle of a {@linkcode Clock}. */
export type TimerHandle = unknown;

/**
 * Time and timers. Callbacks run on the clock's own schedule and never
 * synchronously inside `setTimeout`/`setInterval`.
 */
export interface Clock {
  /** Milliseconds from an arbitrary origin, never decreasing. */
  now(): number;
  /** Calls `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer of `setTimeout` (a fired or unknown handle is ignored). */
  clearTimeout(handle: TimerHandle): void;
  /** Calls `fn` every `ms` until cleared. */
  setInterval(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer of `setInterval`. */
  clearInterval(handle: TimerHandle): void;
}

/** The process clock: `performance.now()` and the global timers. */
export const REAL_CLOCK: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as number),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as number),
};
