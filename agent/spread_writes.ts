/**
 * Spreads the writes of a large fan-out over turns of the event loop.
 *
 * A push to 1,000 gRPC Watch streams is 1,000 `call.write`s made in one
 * synchronous loop. grpc-js and Deno's `node:http2` frame each one at once,
 * but the frames reach the sockets only once that loop has ended: the
 * HTTP/2 sessions flush in `process.nextTick` and the sockets, corked by
 * `coalesceSocketWrites`, in `setImmediate`. So the first stream waited for
 * the last to be framed (~8 ms on a 2-core machine), and the receivers
 * started decoding only then. Writing at most `perTurn` per turn and the
 * rest in later turns lets the first frames leave, and the clients work on
 * them, while the next are framed.
 *
 * Order is kept: once a write waits, every later one waits behind it, so
 * one stream's messages (and its end) go in the order they were written.
 *
 * @module
 */

/** Writes at most `perTurn` per turn of the event loop, in order (see the module doc). */
export class SpreadWrites {
  readonly #perTurn: number;
  /** Writes done in this turn. */
  #done = 0;
  #queue: ((() => void) | undefined)[] = [];
  #head = 0;
  #scheduled = false;

  /** A spreader of `perTurn` writes a turn (at least 1). */
  constructor(perTurn = 128) {
    this.#perTurn = Math.max(1, Math.floor(perTurn));
  }

  /** Writes waiting for a later turn. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Whether a write may run now: nothing waits and fewer than `perTurn`
   * ran in this turn. When true the caller writes at once (no closure, no
   * queue); when false it passes the write to {@linkcode later}.
   */
  mayWriteNow(): boolean {
    if (this.#head !== this.#queue.length || this.#done >= this.#perTurn) return false;
    this.#done++;
    this.#schedule();
    return true;
  }

  /** Runs `write` in a later turn, after every write already waiting. A throw is dropped. */
  later(write: () => void): void {
    this.#queue.push(write);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#turn);
  }

  readonly #turn = (): void => {
    this.#scheduled = false;
    this.#done = 0;
    const end = Math.min(this.#queue.length, this.#head + this.#perTurn);
    while (this.#head < end) {
      const write = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined;
      this.#done++;
      try {
        write();
      } catch { /* a write's own errors are its stream's business */ }
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    // Also after a drained turn that wrote: the next turn starts its count from zero.
    if (this.#done > 0) this.#schedule();
  };
}
