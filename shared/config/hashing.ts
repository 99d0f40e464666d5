/**
 * Hashes, fingerprints, random ids and secrets on WebCrypto, which Deno,
 * Node ≥ 20 and browsers (secure contexts) all provide. No other
 * dependency.
 *
 * @module
 */

const encoder = new TextEncoder();

function bytesOf(data: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return typeof data === "string" ? encoder.encode(data) : new Uint8Array(data);
}

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** SHA-256 of `data` (a string is hashed as its UTF-8 bytes), as 64 lowercase hex digits. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytesOf(data))));
}

/**
 * The fingerprint of an element version, which clients see as its ETag:
 * SHA-256 hex of the raw text's UTF-8 bytes. A secret version's fingerprint
 * is the SHA-256 hex of its base64 ciphertext instead
 * ({@linkcode sealedFingerprint}), so that it says nothing about the
 * plaintext. Collision-resistant, unlike cassemdb's 64-bit FNV fingerprint
 * of stored bytes (which covers a whole record, not the raw).
 */
export function rawFingerprint(raw: string): Promise<string> {
  return sha256Hex(raw);
}

/** The fingerprint of a secret version: SHA-256 hex of its base64 ciphertext. */
export function sealedFingerprint(sealed: { readonly ciphertext: string }): Promise<string> {
  return sha256Hex(sealed.ciphertext);
}

/**
 * Whether two strings are equal, in time that depends on their length only
 * (not on where they first differ): for comparing secret hashes.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const n = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < n; i++) {
    diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  }
  return diff === 0;
}

/** `n` random bytes from the platform's CSPRNG. */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** A random id: 16 random bytes as 32 lowercase hex digits (session, token and oplog ids). */
export function newId(): string {
  return toHex(randomBytes(16));
}

/** `bytes` as base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** `bytes` as standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/**
 * The bytes of standard base64 `text` (padding optional).
 * @throws {TypeError} when `text` is not base64.
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.replace(/=+$/, "").length % 4 === 1) {
    throw new TypeError(
      `Cannot decode base64 as it must be A-Z a-z 0-9 + / with optional = padding: current length is ${text.length}`,
    );
  }
  const bin = atob(text.padEnd(Math.ceil(text.length / 4) * 4, "="));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * A new secret of 32 random bytes as base64url (43 characters): client
 * secrets and the secret part of tokens. Stored only as
 * {@linkcode hashSecret}.
 */
export function newSecret(): string {
  return toBase64Url(randomBytes(32));
}

/**
 * The stored form of a high-entropy secret (client secrets, tokens):
 * SHA-256 hex. A fast hash is enough for 256 random bits, and lets an agent
 * check every request cheaply; passwords use a slow hash instead (adm).
 */
export function hashSecret(secret: string): Promise<string> {
  return sha256Hex(secret);
}

/** Whether `presented` hashes to `hash` (compared in constant time). */
export async function verifySecret(presented: string, hash: string): Promise<boolean> {
  return constantTimeEqual(await hashSecret(presented), hash);
}
