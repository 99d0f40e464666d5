/**
 * The client's last known config, kept in a {@linkcode CacheStore} so that
 * an application still starts with it when every agent is down. One
 * snapshot per app, env and client identity (client id and labels: gray
 * rules make what a client gets depend on them), holding for each key the
 * last version seen (or that it had none) and the revision it was known at.
 *
 * Entries only move forward: an update older than what an entry holds
 * (a read answered by an agent a little behind a watch) is ignored. Saves
 * are coalesced: at most one runs at a time, and the one after it writes
 * the newest state, so a burst of changes costs two writes, not one each.
 *
 * @module
 */

import type { CacheStore } from "./cache_store.ts";
import { checkElementJson, type ElementJson } from "./element.ts";

/** Whose config a snapshot holds. */
export interface CacheIdentity {
  /** The app. */
  readonly app: string;
  /** The env. */
  readonly env: string;
  /** The client id, if any. */
  readonly clientId: string | undefined;
  /** The labels (empty when none). */
  readonly labels: Readonly<Record<string, string>>;
}

/** What the cache knows of one key. */
export interface CachedKey {
  /** The version held, or `undefined` when the key had no version. */
  readonly element: ElementJson | undefined;
  /** The revision this was known at. */
  readonly asOf: number;
}

/** The snapshot's format version (a file of another format is ignored). */
export const CACHE_FORMAT = 1;

interface SnapshotFile {
  format: number;
  app: string;
  env: string;
  clientId: string | null;
  labels: Record<string, string>;
  savedAt: string;
  entries: Record<string, { element: ElementJson | null; asOf: number }>;
}

/** FNV-1a over UTF-16 units, as 8 hex digits: a short stable name for an identity. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** The store name of the snapshot of `id`. */
export function cacheName(id: CacheIdentity): string {
  const labels = Object.keys(id.labels).sort().map((k) => [k, id.labels[k]]);
  const who = fnv1a(JSON.stringify([id.clientId ?? null, labels]));
  return `cassem-${encodeURIComponent(id.app)}-${encodeURIComponent(id.env)}-${who}.json`;
}

/** The last known config of one identity (see the module doc). */
export class ConfigCache {
  readonly #store: CacheStore | undefined;
  readonly #id: CacheIdentity;
  readonly #name: string;
  readonly #onError: (e: Error) => void;
  readonly #entries = new Map<string, CachedKey>();
  #loaded: Promise<void> | undefined;
  #saving: Promise<void> | undefined;
  #dirty = false;

  /**
   * A cache of `id` in `store` (none: nothing is kept); `onError` hears of
   * a snapshot that cannot be read or saved (the client goes on without).
   */
  constructor(store: CacheStore | undefined, id: CacheIdentity, onError: (e: Error) => void) {
    this.#store = store;
    this.#id = id;
    this.#name = cacheName(id);
    this.#onError = onError;
  }

  /** Whether a store is configured. */
  get enabled(): boolean {
    return this.#store !== undefined;
  }

  /** Where the snapshot lives, for messages. */
  get where(): string {
    return this.#store ? `${this.#store.where}/${this.#name}` : "nowhere";
  }

  /** Reads the snapshot once (later calls answer the same promise); never rejects. */
  load(): Promise<void> {
    return this.#loaded ??= this.#load();
  }

  async #load(): Promise<void> {
    if (!this.#store) return;
    let text: string | undefined;
    try {
      text = await this.#store.load(this.#name);
    } catch (e) {
      this.#onError(
        new Error(`Cannot read the config cache ${this.where}: ${(e as Error).message}`),
      );
      return;
    }
    if (text === undefined) return;
    try {
      const f = JSON.parse(text) as SnapshotFile;
      if (f.format !== CACHE_FORMAT || f.app !== this.#id.app || f.env !== this.#id.env) {
        throw new Error(
          `it must be format ${CACHE_FORMAT} of ${this.#id.app}/${this.#id.env}: current is format ${f.format} of ${f.app}/${f.env}`,
        );
      }
      for (const [key, e] of Object.entries(f.entries ?? {})) {
        const element = e.element === null ? undefined : checkElementJson(e.element, this.where);
        if (element && element.key !== key) throw new Error(`entry ${key} holds ${element.key}`);
        if (!Number.isSafeInteger(e.asOf)) throw new Error(`entry ${key} has no revision`);
        this.#merge(key, element, e.asOf);
      }
    } catch (e) {
      this.#entries.clear();
      this.#onError(
        new Error(`Cannot use the config cache ${this.where}: ${(e as Error).message}`),
      );
    }
  }

  /** What the cache holds of `key` (after {@linkcode load}). */
  get(key: string): CachedKey | undefined {
    return this.#entries.get(key);
  }

  /** Whether the cache knows every one of `keys`. */
  knowsAll(keys: readonly string[]): boolean {
    return keys.every((k) => this.#entries.has(k));
  }

  /** The highest revision any entry was known at (0 when empty). */
  get revision(): number {
    let r = 0;
    for (const e of this.#entries.values()) r = Math.max(r, e.asOf);
    return r;
  }

  /**
   * Records that at `asOf` each key of `changes` had that version
   * (`undefined`: none), unless the cache holds something newer; saves in
   * the background when anything changed.
   */
  update(changes: Iterable<[string, ElementJson | undefined]>, asOf: number): void {
    let changed = false;
    for (const [key, element] of changes) changed = this.#merge(key, element, asOf) || changed;
    if (changed && this.#store) this.#schedule();
  }

  #merge(key: string, element: ElementJson | undefined, asOf: number): boolean {
    const have = this.#entries.get(key);
    if (have && have.asOf > asOf) return false;
    this.#entries.set(key, { element, asOf });
    // The same version known at a later revision: nothing worth a save.
    return !(have && have.element?.fingerprint === element?.fingerprint &&
      have.element?.version === element?.version);
  }

  #schedule(): void {
    this.#dirty = true;
    if (this.#saving) return;
    this.#saving = (async () => {
      while (this.#dirty) {
        this.#dirty = false;
        try {
          await this.#store!.save(this.#name, this.#serialize());
        } catch (e) {
          this.#onError(
            new Error(`Cannot save the config cache ${this.where}: ${(e as Error).message}`),
          );
        }
      }
      this.#saving = undefined;
    })();
  }

  #serialize(): string {
    const f: SnapshotFile = {
      format: CACHE_FORMAT,
      app: this.#id.app,
      env: this.#id.env,
      clientId: this.#id.clientId ?? null,
      labels: { ...this.#id.labels },
      savedAt: new Date().toISOString(),
      entries: {},
    };
    for (const [key, e] of this.#entries) {
      f.entries[key] = { element: e.element ?? null, asOf: e.asOf };
    }
    return JSON.stringify(f);
  }

  /** Resolves once everything recorded so far is saved (or failed to save). */
  async flush(): Promise<void> {
    while (this.#saving) await this.#saving;
  }
}
