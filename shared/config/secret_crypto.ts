/**
 * Secret elements: AES-256-GCM on WebCrypto with a keyring, so that keys
 * can rotate. Each ciphertext records the id of the key that sealed it; new
 * versions are sealed with the keyring's active key, and every key in the
 * ring can still open older ones. Keys never reach cassemdb.
 *
 * Keyring text (the `CASSEM_SECRET_KEY` variable, or a key file): either
 * one base64 key of 32 bytes (id `default`), or `id:base64key` pairs
 * separated by commas or newlines; the first pair is the active key. `#`
 * starts a comment line in a file.
 *
 * Each seal binds the ciphertext to where it belongs with AES-GCM's
 * additional data ({@linkcode secretAad}: app, env, key and version), so a
 * ciphertext copied to another element or version does not open.
 *
 * @module
 */

import { z } from "zod";
import { fromBase64, randomBytes, toBase64 } from "./hashing.ts";

/** A key id: 1..32 of A-Z a-z 0-9 . _ -. */
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
/** The id of a keyring given as one bare key. */
export const DEFAULT_KEY_ID = "default";

/** zod schema of a sealed (encrypted) text as stored: key id, IV and ciphertext, base64. */
export const SealedSchema = z.strictObject({
  /** The id of the key that sealed it. */
  keyId: z.string().regex(KEY_ID),
  /** The 12-byte AES-GCM IV, base64. */
  iv: z.string().regex(/^[A-Za-z0-9+/]{16}$/),
  /** The ciphertext with its 16-byte tag, base64. */
  ciphertext: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
});

/** A sealed text. */
export type Sealed = z.infer<typeof SealedSchema>;

/** Base class of the errors of this module. */
export class SecretError extends Error {
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "SecretError";
  }
}

/** The keyring text is malformed. */
export class KeyringError extends SecretError {
  /** An error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "KeyringError";
  }
}

/** A sealed text names a key the keyring lacks. */
export class UnknownKeyError extends SecretError {
  /** The missing key's id. */
  readonly keyId: string;
  /** An error for the missing `keyId`, given the ids present. */
  constructor(keyId: string, present: readonly string[]) {
    super(
      `Cannot decrypt the secret as its key ${
        JSON.stringify(keyId)
      } is not in the keyring: current ids are ${present.join(", ") || "none"}`,
    );
    this.name = "UnknownKeyError";
    this.keyId = keyId;
  }
}

/** A sealed text did not open: a wrong key, altered bytes, or another element's ciphertext. */
export class DecryptError extends SecretError {
  /** An error for a seal of key `keyId` that failed to open for `aad`. */
  constructor(keyId: string, aad: string) {
    super(
      `Cannot decrypt the secret of ${aad} with key ${
        JSON.stringify(keyId)
      } as the ciphertext does not authenticate: a wrong key for that id, altered bytes, or a ciphertext of another element`,
    );
    this.name = "DecryptError";
  }
}

/** A set of AES-256-GCM keys by id; the active one seals, any one opens. */
export class Keyring {
  readonly #keys: ReadonlyMap<string, CryptoKey>;
  /** The id of the key new seals use. */
  readonly activeId: string;

  private constructor(keys: Map<string, CryptoKey>, activeId: string) {
    this.#keys = keys;
    this.activeId = activeId;
  }

  /** The ids of every key, active first. */
  get ids(): string[] {
    return [...this.#keys.keys()];
  }

  /**
   * A keyring of raw 32-byte keys, in order (the first is active).
   * @throws {KeyringError} when a key is not 32 bytes, an id is bad or repeats, or there is none.
   */
  static async fromKeys(keys: readonly { id: string; key: Uint8Array }[]): Promise<Keyring> {
    if (keys.length === 0) {
      throw new KeyringError(
        "Cannot build a keyring as it needs at least one key: current count is 0",
      );
    }
    const map = new Map<string, CryptoKey>();
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id)) {
        throw new KeyringError(
          `Cannot build a keyring as a key id must be 1 to 32 of A-Z a-z 0-9 . _ -: current value is ${
            JSON.stringify(id)
          }`,
        );
      }
      if (map.has(id)) {
        throw new KeyringError(
          `Cannot build a keyring as each key id must appear once: current text repeats ${
            JSON.stringify(id)
          }`,
        );
      }
      if (key.byteLength !== 32) {
        throw new KeyringError(
          `Cannot build a keyring as key ${
            JSON.stringify(id)
          } must be 32 bytes (AES-256): current size is ${key.byteLength}`,
        );
      }
      const raw = new Uint8Array(key);
      map.set(
        id,
        await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]),
      );
    }
    return new Keyring(map, keys[0]!.id);
  }

  /**
   * Seals `plaintext` with the active key, bound to `aad` (see
   * {@linkcode secretAad}), with a fresh random 12-byte IV.
   */
  async seal(plaintext: string, aad: string): Promise<Sealed> {
    const iv = randomBytes(12);
    const ct = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(aad) },
      this.#keys.get(this.activeId)!,
      new TextEncoder().encode(plaintext),
    );
    return { keyId: this.activeId, iv: toBase64(iv), ciphertext: toBase64(new Uint8Array(ct)) };
  }

  /**
   * Opens `sealed`, which must have been sealed for the same `aad`.
   * @throws {UnknownKeyError} when its key is not in the ring.
   * @throws {DecryptError} when it does not authenticate.
   */
  async open(sealed: Sealed, aad: string): Promise<string> {
    const key = this.#keys.get(sealed.keyId);
    if (!key) throw new UnknownKeyError(sealed.keyId, this.ids);
    let iv: Uint8Array<ArrayBuffer>;
    let ct: Uint8Array<ArrayBuffer>;
    try {
      iv = fromBase64(sealed.iv);
      ct = fromBase64(sealed.ciphertext);
    } catch {
      throw new DecryptError(sealed.keyId, aad);
    }
    try {
      const pt = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(aad) },
        key,
        ct,
      );
      return new TextDecoder("utf-8", { fatal: true }).decode(pt);
    } catch {
      throw new DecryptError(sealed.keyId, aad);
    }
  }
}

/**
 * Parses keyring text (see the module doc) into a {@linkcode Keyring}.
 * `source` names where the text came from in errors (`CASSEM_SECRET_KEY`,
 * a file path).
 * @throws {KeyringError} naming `source` when the text is malformed.
 */
export async function parseKeyring(text: string, source: string): Promise<Keyring> {
  const items = text.split(/[,\n]/).map((s) => s.trim()).filter((s) =>
    s !== "" && !s.startsWith("#")
  );
  const keys: { id: string; key: Uint8Array }[] = [];
  for (const item of items) {
    const colon = item.indexOf(":");
    const id = colon === -1 ? DEFAULT_KEY_ID : item.slice(0, colon).trim();
    const b64 = colon === -1 ? item : item.slice(colon + 1).trim();
    if (colon === -1 && items.length > 1) {
      throw new KeyringError(
        `Cannot read the secret keys of ${source} as several keys must each be id:base64key: current item ${
          keys.length + 1
        } has no id`,
      );
    }
    let key: Uint8Array;
    try {
      key = fromBase64(b64);
    } catch {
      throw new KeyringError(
        `Cannot read the secret keys of ${source} as key ${
          JSON.stringify(id)
        } must be base64: current length is ${b64.length}`,
      );
    }
    keys.push({ id, key });
  }
  try {
    return await Keyring.fromKeys(keys);
  } catch (e) {
    if (e instanceof KeyringError) {
      throw new KeyringError(
        e.message.replace("Cannot build a keyring", `Cannot read the secret keys of ${source}`),
      );
    }
    throw e;
  }
}

/** A new random AES-256 key as base64 (for `CASSEM_SECRET_KEY`). */
export function newSecretKey(): string {
  return toBase64(randomBytes(32));
}

/**
 * The additional data that binds a secret version to its place:
 * `"{app}/{env}/{key}/{version}"`.
 */
export function secretAad(app: string, env: string, key: string, version: number): string {
  return `${app}/${env}/${key}/${version}`;
}
