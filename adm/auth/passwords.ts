/**
 * Password hashing: PBKDF2-SHA256 on WebCrypto with a random 16-byte salt
 * and at least 600,000 iterations (OWASP's figure for PBKDF2-SHA256). The
 * iteration count is stored with each hash, so raising it later keeps old
 * hashes valid.
 *
 * @module
 */

import {
  constantTimeEqual,
  fromBase64,
  type PasswordHash,
  randomBytes,
  toBase64,
} from "../../shared/config/mod.ts";

/** The fewest iterations a new hash may use. */
export const MIN_PASSWORD_ITERATIONS = 600_000;
/** Shortest password accepted, in characters. */
export const MIN_PASSWORD_LENGTH = 8;
/** Longest password accepted, in characters. */
export const MAX_PASSWORD_LENGTH = 256;

const encoder = new TextEncoder();

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number) {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

/**
 * A new hash of `password` with a random salt.
 * @throws {RangeError} when `iterations` is below {@linkcode MIN_PASSWORD_ITERATIONS}.
 */
export async function hashPassword(
  password: string,
  iterations = MIN_PASSWORD_ITERATIONS,
): Promise<PasswordHash> {
  if (!Number.isInteger(iterations) || iterations < MIN_PASSWORD_ITERATIONS) {
    throw new RangeError(
      `Cannot hash the password as iterations must be an integer of at least ${MIN_PASSWORD_ITERATIONS}: current value is ${iterations}`,
    );
  }
  const salt = randomBytes(16);
  const hash = await derive(password, salt, iterations);
  return { algorithm: "PBKDF2-SHA256", iterations, salt: toBase64(salt), hash: toBase64(hash) };
}

/** Whether `password` matches `stored` (the derived bits compared in constant time). */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const hash = await derive(password, fromBase64(stored.salt), stored.iterations);
  return constantTimeEqual(toBase64(hash), stored.hash);
}

/** A hash nobody's password matches, verified against for unknown accounts (same cost). */
export const DECOY_HASH: PasswordHash = {
  algorithm: "PBKDF2-SHA256",
  iterations: MIN_PASSWORD_ITERATIONS,
  salt: "Y2Fzc2VtLWRlY295LXNhbHQ=",
  hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
};

/**
 * Why `password` is not acceptable, or `undefined`: it must be
 * {@linkcode MIN_PASSWORD_LENGTH} to {@linkcode MAX_PASSWORD_LENGTH} characters.
 */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    return `a password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters: current length is ${password.length}`;
  }
  return undefined;
}
