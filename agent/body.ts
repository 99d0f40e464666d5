/**
 * Element bodies as the agent holds them, and the answers built from them.
 *
 * - A {@linkcode LooseBody} is a body in hand for a moment (read from
 *   cassemdb, carried by a watch event) or kept for a watched element: a
 *   JS string.
 * - A body of the LRU-K cache is a handle to its UTF-8 bytes (deflated or
 *   not) in the `BodyStore` (`body_store.ts`). It is valid only until the
 *   cache lets it go, so a caller reads it in the same turn it got it and
 *   keeps only what it derived (a string, a {@linkcode Prepared}).
 * - A {@linkcode Prepared} is what an answer needs of one version, built
 *   once: the raw text and the element JSON text around it. Hot versions
 *   keep theirs in a {@linkcode PreparedCache}, so a cached read only looks
 *   it up and joins texts.
 *
 * @module
 */

import type { ServedVersion } from "./serve_records.ts";
import type { ElementJson } from "./subscriptions.ts";

/** The text of one version in a JS string. */
export class LooseBody {
  /** Always undefined: a text body serves. */
  readonly error: undefined = undefined;
  /** The record revision the text belongs to. */
  readonly modRevision: number;
  /** The raw text. */
  readonly raw: string;

  /** A body of the raw text `raw` at `modRevision`. */
  constructor(modRevision: number, raw: string) {
    this.modRevision = modRevision;
    this.raw = raw;
  }
}

/** A version the agent cannot serve, and why (a secret it cannot open). */
export interface ErrorBody {
  /** The record revision it belongs to. */
  readonly modRevision: number;
  /** Why it cannot be served ("Cannot serve … as …"). */
  readonly error: string;
}

/** A body as the agent holds it. */
export type Body = LooseBody | ErrorBody;

/** What an answer needs of one version (see the module doc). Immutable but for `used`. */
export class Prepared {
  /** The version. */
  readonly version: ServedVersion;
  /** Its raw text. */
  readonly raw: string;
  /** Its element JSON text (see {@linkcode elementJson}). */
  readonly text: string;
  /** Read since the {@linkcode PreparedCache} last looked (its second-chance bit). */
  used = false;
  #etag: string | undefined;

  /** Prepares version `v` whose raw text is `raw`. */
  constructor(v: ServedVersion, raw: string) {
    this.version = v;
    this.raw = raw;
    this.text = `{"key":${
      JSON.stringify(v.key)
    },"version":${v.version},"contentType":"${v.contentType}","raw":${
      JSON.stringify(raw)
    },"fingerprint":"${v.fingerprint}","revision":${v.modRevision},"gray":${v.kind === "gray"}}`;
  }

  /** Its ETag: the quoted fingerprint, built at its first raw read (the version keeps it packed). */
  get etag(): string {
    return this.#etag ??= `"${this.version.fingerprint}"`;
  }

  /** The element JSON as an object. */
  element(): ElementJson {
    return elementJson(this.version, this.raw);
  }
}

/** Options of {@linkcode PreparedCache}. */
export interface PreparedCacheOptions {
  /** Most versions kept (default 2,048). */
  maxEntries?: number;
  /** Most UTF-16 units of text kept, raw and element JSON together (default 8 Mi). */
  maxChars?: number;
}

/**
 * The {@linkcode Prepared} of recently answered versions, bounded by count
 * and text size. Keyed by the version object: a new version (publish,
 * rollback, gray change) is another key, so an entry can never answer for
 * another version than its own.
 *
 * Eviction is CLOCK (second chance), close to least recently used: a hit
 * only sets the entry's `used` bit (moving it in the `Map` on every hit cost
 * a tenth of a cached read); eviction takes the oldest entry not used since
 * it last looked, and moves the used ones to the end with the bit cleared.
 *
 * Admission is at the second time: a version prepared for the first time
 * (among the last `maxEntries` or so first-timers) is answered and not
 * kept, unless the caller says it is hot (a push). So a sweep of cold
 * reads (every key once or twice, as a client loading its config) leaves
 * the hot answers in place, and does not turn each of its texts into
 * long-lived garbage the collector must promote and then sweep (measured:
 * the JS heap of an agent reading 100,000 elements twice grew to 239 MiB
 * when every answer was kept).
 */
export class PreparedCache {
  readonly #max: number;
  readonly #maxChars: number;
  readonly #map = new Map<ServedVersion, Prepared>();
  /** Versions prepared once and not kept: two generations of at most `#max` each. */
  #seen = new Set<ServedVersion>();
  #seenBefore = new Set<ServedVersion>();
  #chars = 0;

  /** An empty cache. */
  constructor(options: PreparedCacheOptions = {}) {
    this.#max = options.maxEntries ?? 2_048;
    this.#maxChars = options.maxChars ?? 8 << 20;
  }

  /** The prepared answer of `v`, if kept (marked used). */
  get(v: ServedVersion): Prepared | undefined {
    const p = this.#map.get(v);
    if (p !== undefined) p.used = true;
    return p;
  }

  /**
   * Prepares `v` with its raw text `raw`, and keeps it (when it fits) if
   * `hot` or if `v` was prepared recently before.
   */
  prepare(v: ServedVersion, raw: string, hot = false): Prepared {
    const p = new Prepared(v, raw);
    const chars = p.raw.length + p.text.length;
    if (chars > this.#maxChars) return p;
    if (!hot && !this.#seen.delete(v) && !this.#seenBefore.delete(v)) {
      if (this.#seen.size >= this.#max) {
        this.#seenBefore = this.#seen;
        this.#seen = new Set();
      }
      this.#seen.add(v);
      return p;
    }
    const old = this.#map.get(v);
    if (old) this.#remove(v, old);
    this.#map.set(v, p);
    this.#chars += chars;
    // Each pass clears the bits it finds, so the second pass over an entry evicts it.
    for (const [k, q] of this.#map) {
      if (this.#map.size <= this.#max && this.#chars <= this.#maxChars) break;
      if (q.used && q !== p) {
        q.used = false;
        this.#map.delete(k);
        this.#map.set(k, q);
      } else this.#remove(k, q);
    }
    return p;
  }

  /** Forgets `v` (a version that no longer serves). */
  delete(v: ServedVersion): void {
    const p = this.#map.get(v);
    if (p) this.#remove(v, p);
    this.#seen.delete(v);
    this.#seenBefore.delete(v);
  }

  /** Forgets everything. */
  clear(): void {
    this.#map.clear();
    this.#seen.clear();
    this.#seenBefore.clear();
    this.#chars = 0;
  }

  /** Versions kept. */
  get size(): number {
    return this.#map.size;
  }

  #remove(v: ServedVersion, p: Prepared): void {
    this.#map.delete(v);
    this.#chars -= p.raw.length + p.text.length;
  }
}

/** The element JSON of version `v` with its raw text `raw`. */
export function elementJson(v: ServedVersion, raw: string): ElementJson {
  return {
    key: v.key,
    version: v.version,
    contentType: v.contentType,
    raw,
    fingerprint: v.fingerprint,
    revision: v.modRevision,
    gray: v.kind === "gray",
  };
}

/** What a read answers. */
export class ReadResult {
  /** The versions found, in the order asked. */
  readonly found: readonly Prepared[];
  /** The keys that have no version for this client. */
  readonly missing: string[];
  /** The agent's revision when it answered. */
  readonly revision: number;
  /** Whether cassemdb is out of reach (the answer may be out of date). */
  readonly stale: boolean;
  #elements: ElementJson[] | undefined;

  /** An answer; `elements`, when given, stands for `found` (a long poll's pushes). */
  constructor(
    found: readonly Prepared[],
    missing: string[],
    revision: number,
    stale: boolean,
    elements?: ElementJson[],
  ) {
    this.found = found;
    this.missing = missing;
    this.revision = revision;
    this.stale = stale;
    this.#elements = elements;
  }

  /** The elements found, as objects. */
  get elements(): ElementJson[] {
    return this.#elements ??= this.found.map((p) => p.element());
  }

  /** The JSON text `{ "elements", "missing", "revision" }` (the elements route's body). */
  json(): string {
    let els: string;
    if (this.#elements) els = this.#elements.map((e) => JSON.stringify(e)).join(",");
    else if (this.found.length === 1) els = this.found[0]!.text;
    else els = this.found.map((p) => p.text).join(",");
    const missing = this.missing.length === 0 ? "[]" : JSON.stringify(this.missing);
    return `{"elements":[${els}],"missing":${missing},"revision":${this.revision}}`;
  }
}
