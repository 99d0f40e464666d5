/**
 * A {@linkcode CacheStore} in a directory, for Deno and Node (both run
 * `node:fs/promises`). A save writes `NAME.<random>.tmp` (mode 0600: the
 * cache may hold decrypted secret elements), flushes it to disk, then
 * renames it over `NAME`: rename is atomic within a directory, so a reader
 * or a crash sees the old file or the new one, never a torn one. Leftover
 * `.tmp` files of a crash are never read.
 *
 * `node:fs/promises` is imported on first use through a computed specifier,
 * so that a bundle of the SDK for browsers neither contains nor needs it.
 *
 * @module
 */

import type * as Fs from "node:fs/promises";
import type { CacheStore } from "./cache_store.ts";

let fsModule: Promise<typeof Fs> | undefined;

function fs(): Promise<typeof Fs> {
  // A computed specifier: bundlers leave it alone (see the module doc).
  const name = ["node:fs", "promises"].join("/");
  return fsModule ??= import(name) as Promise<typeof Fs>;
}

function isMissing(e: unknown): boolean {
  return (e as { code?: string })?.code === "ENOENT";
}

/**
 * A store that keeps each name as a file in `dir` (created on the first
 * save, with its parents).
 * @throws {TypeError} naming cacheDir when `dir` is empty.
 */
export function fileCache(dir: string): CacheStore {
  if (typeof dir !== "string" || dir === "") {
    throw new TypeError(
      `Cannot use a file cache as cacheDir must be a directory path: current value is ${
        JSON.stringify(dir)
      }`,
    );
  }
  const base = dir.replace(/[\\/]+$/, "") || dir;
  const path = (name: string) => `${base}/${name}`;
  let madeDir = false;
  return {
    where: base,
    async load(name) {
      const f = await fs();
      try {
        return await f.readFile(path(name), { encoding: "utf8" });
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    },
    async save(name, text) {
      const f = await fs();
      if (!madeDir) {
        await f.mkdir(base, { recursive: true });
        madeDir = true;
      }
      const tmp = `${path(name)}.${Math.random().toString(36).slice(2, 10)}.tmp`;
      const handle = await f.open(tmp, "w", 0o600);
      try {
        await handle.writeFile(text, { encoding: "utf8" });
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await f.rename(tmp, path(name));
      } catch (e) {
        await f.rm(tmp, { force: true }).catch(() => {});
        throw e;
      }
    },
  };
}
