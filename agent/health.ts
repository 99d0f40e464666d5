/**
 * Whether the agent's view of cassemdb is current: the list-then-watch
 * reports every transient failure (`onRetry`), and a probe (by default a
 * `get` of the key `cassem/serve`, the watched prefix without its slash,
 * every `probeMs`; see `AgentCore`) tells when cassemdb answers again.
 * After a failure the agent stays "stale" until a probe succeeded long
 * enough after it for the watch to have resumed (its longest backoff plus a
 * margin): reads in between say `X-Cassem-Stale: true`.
 *
 * @module
 */

/** Options of {@linkcode Health}. */
export interface HealthOptions {
  /** A cheap read of cassemdb; rejects when it is out of reach. */
  probe(): Promise<unknown>;
  /** Between probes, in ms (default 1,000). */
  probeMs?: number;
  /** How long after a watch failure a probe must succeed to count, in ms (default 1,500). */
  settleMs?: number;
  /** Milliseconds (default `performance.now`). */
  clock?: () => number;
  /** Told when the agent turns stale or fresh. */
  onChange?(stale: boolean, why: string): void;
}

/** Tracks whether cassemdb is reachable and the watch current (see the module doc). */
export class Health {
  readonly #probe: () => Promise<unknown>;
  readonly #probeMs: number;
  readonly #settleMs: number;
  readonly #clock: () => number;
  readonly #onChange: ((stale: boolean, why: string) => void) | undefined;
  #lastFailureAt = -Infinity;
  #lastProbeOkAt = -Infinity;
  #probeFailing = false;
  #reported = true;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** The last failure, for messages. */
  lastError = "";

  /** A tracker that starts probing at {@linkcode start}. */
  constructor(options: HealthOptions) {
    this.#probe = options.probe;
    this.#probeMs = options.probeMs ?? 1_000;
    this.#settleMs = options.settleMs ?? 1_500;
    this.#clock = options.clock ?? (() => performance.now());
    this.#onChange = options.onChange;
  }

  /** Whether answers may be out of date (cassemdb out of reach, or the watch not yet resumed). */
  get stale(): boolean {
    return this.#probeFailing || this.#lastProbeOkAt < this.#lastFailureAt + this.#settleMs;
  }

  /** The watch (or a read) failed transiently. */
  failed(error: Error): void {
    this.#lastFailureAt = this.#clock();
    this.lastError = error.message;
    this.#report("cassemdb watch failed");
  }

  /** Something arrived from the watch: it is connected now. */
  delivered(): void {
    if (this.#probeFailing) return;
    this.#lastProbeOkAt = Math.max(this.#lastProbeOkAt, this.#lastFailureAt + this.#settleMs);
    this.#report("watch delivered");
  }

  /** Starts probing (idempotent). */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const tick = async () => {
      try {
        await this.#probe();
        this.#probeFailing = false;
        this.#lastProbeOkAt = this.#clock();
        this.#report("cassemdb answers");
      } catch (e) {
        this.#probeFailing = true;
        this.lastError = e instanceof Error ? e.message : String(e);
        this.#report("cassemdb probe failed");
      }
      if (!this.#closed) this.#timer = setTimeout(tick, this.#probeMs);
    };
    this.#timer = setTimeout(tick, 0);
  }

  /** Stops probing. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #report(why: string): void {
    const stale = this.stale;
    if (stale === this.#reported) return;
    this.#reported = stale;
    this.#onChange?.(stale, why);
  }
}
