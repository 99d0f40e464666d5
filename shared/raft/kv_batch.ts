/**
 * {@linkcode Batch}: the mutations of KvStorage writes, cut into as few
 * Deno KV `atomic()` commits as the limits allow.
 *
 * @module
 */

import { fitsEmpty, KEY_BYTES } from "./kv_layout.ts";

/**
 * Mutations of one `atomic()` commit in the making. `set`/`delete` commit what
 * is pending first when the next mutation would not fit the limits. Records
 * (`hs`, `log`, `snap`) are written once per commit, last value wins, and go
 * into the commit that flushes them.
 */
export class Batch {
  readonly #kv: Deno.Kv;
  readonly #commit: (op: Deno.AtomicOperation) => Promise<void>;
  #op: Deno.AtomicOperation | undefined;
  #mutations = 0;
  #bytes = 0;
  readonly #records = new Map<string, { key: Deno.KvKey; value: unknown }>();

  constructor(kv: Deno.Kv, commit: (op: Deno.AtomicOperation) => Promise<void>) {
    this.#kv = kv;
    this.#commit = commit;
  }

  async set(key: Deno.KvKey, value: unknown, bytes: number): Promise<void> {
    (await this.#reserve(1, bytes)).op.set(key, value);
  }

  async delete(key: Deno.KvKey): Promise<void> {
    (await this.#reserve(1, KEY_BYTES)).op.delete(key);
  }

  /** Deletes `keys` in one commit when they fit one, else in order over several. */
  async deleteAll(keys: readonly Deno.KvKey[]): Promise<void> {
    await this.makeRoom(keys.length, keys.length * KEY_BYTES);
    for (const key of keys) await this.delete(key);
  }

  /**
   * Commits what is pending when `mutations` more totalling `bytes` would not
   * fit with it but would fit a commit of their own.
   */
  async makeRoom(mutations: number, bytes: number): Promise<void> {
    if (this.#mutations > 0 && !this.#fits(mutations, bytes) && fitsEmpty(mutations, bytes)) {
      await this.flush();
    }
  }

  record(key: Deno.KvKey, value: unknown): void {
    this.#records.set(String(key[0]), { key, value });
  }

  async flush(): Promise<void> {
    if (this.#mutations === 0 && this.#records.size === 0) return;
    const op = this.#op ?? this.#kv.atomic();
    for (const { key, value } of this.#records.values()) op.set(key, value);
    this.#op = undefined;
    this.#mutations = 0;
    this.#bytes = 0;
    this.#records.clear();
    await this.#commit(op);
  }

  #fits(mutations: number, bytes: number): boolean {
    return fitsEmpty(this.#mutations + mutations, this.#bytes + bytes);
  }

  /** Makes room for more mutations; the op comes wrapped as it is not awaitable. */
  async #reserve(mutations: number, bytes: number): Promise<{ op: Deno.AtomicOperation }> {
    if (!this.#fits(mutations, bytes)) await this.flush();
    this.#op ??= this.#kv.atomic();
    this.#mutations += mutations;
    this.#bytes += bytes;
    return { op: this.#op };
  }
}
