/**
 * A binary min-heap of things due at a simulated time, earliest first and,
 * at one time, in the order they were pushed (`seq`): the timers of the
 * simulated clock and the packets in flight on the simulated network.
 *
 * @module
 */

/** Something due at `at`; `seq` orders things due at the same time (pushed earlier: first). */
export interface Due {
  /** The simulated time it is due at. */
  at: number;
  /** Unique, increasing in push order. */
  seq: number;
}

function less(a: Due, b: Due): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Adds `item` to the heap `h`. */
export function heapPush<T extends Due>(h: T[], item: T): void {
  h.push(item);
  let i = h.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!less(h[i]!, h[parent]!)) break;
    [h[i], h[parent]] = [h[parent]!, h[i]!];
    i = parent;
  }
}

/** Removes and answers the earliest item of the heap `h`, which must not be empty. */
export function heapPop<T extends Due>(h: T[]): T {
  const top = h[0]!;
  const last = h.pop()!;
  if (h.length > 0) {
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
  return top;
}
