/**
 * Where the SDK keeps its last known config between runs: a
 * {@linkcode CacheStore} holds named texts. {@linkcode memoryCache} (tests,
 * or no persistence) and {@linkcode localStorageCache} (browsers) are here;
 * the file store for Deno and Node is `file_cache.ts`, loaded only when a
 * `cacheDir` is given so that browsers never load `node:fs`.
 *
 * @module
 */

/**
 * A store of named texts. `save` must replace the whole text atomically: a
 * reader (this process or the next) sees the old text or the new one, never
 * a mix or a truncated one.
 */
export interface CacheStore {
  /** The text saved under `name`, or `undefined` when there is none. */
  load(name: string): Promise<string | undefined>;
  /** Replaces the text under `name` (atomically, see above). */
  save(name: string, text: string): Promise<void>;
  /** What to call this store in messages (a directory, "localStorage"). */
  readonly where: string;
}

/** A store in memory (nothing survives the process). */
export function memoryCache(): CacheStore & { readonly texts: Map<string, string> } {
  const texts = new Map<string, string>();
  return {
    texts,
    where: "memory",
    load: (name) => Promise.resolve(texts.get(name)),
    save: (name, text) => {
      texts.set(name, text);
      return Promise.resolve();
    },
  };
}

/** The part of the Web Storage API a {@linkcode localStorageCache} uses. */
export interface WebStorage {
  /** The value under `key`, or null. */
  getItem(key: string): string | null;
  /** Sets `key` (throws when the storage is full). */
  setItem(key: string, value: string): void;
}

/**
 * A store in a browser's `localStorage` (or another Web Storage), each name
 * under `prefix`. `setItem` replaces a value at once, so saves are atomic.
 * @throws {TypeError} when no storage is given and the runtime has no `localStorage`.
 */
export function localStorageCache(
  storage?: WebStorage,
  prefix = "cassem:",
): CacheStore {
  const s = storage ?? (globalThis as { localStorage?: WebStorage }).localStorage;
  if (!s) {
    throw new TypeError(
      "Cannot use localStorageCache as this runtime has no localStorage: pass a storage or use cacheDir",
    );
  }
  return {
    where: "localStorage",
    load: (name) => Promise.resolve(s.getItem(prefix + name) ?? undefined),
    save: (name, text) => {
      s.setItem(prefix + name, text);
      return Promise.resolve();
    },
  };
}
