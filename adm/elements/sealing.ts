/**
 * The stored body of a version: the raw text as sent, or for a secret
 * element the text sealed with the keyring (AES-256-GCM, its key id beside
 * the ciphertext, bound to `{app}/{env}/{key}/{version}`), and the
 * fingerprint that goes with it. The plaintext of a secret never leaves
 * this module toward cassemdb.
 *
 * @module
 */

import {
  DecryptError,
  type Keyring,
  rawFingerprint,
  type Sealed,
  sealedFingerprint,
  secretAad,
  UnknownKeyError,
} from "../../shared/config/mod.ts";
import { ConflictError, InternalError } from "../errors.ts";

/** Where a version belongs. */
export interface VersionPlace {
  /** App id. */
  readonly app: string;
  /** Env name. */
  readonly env: string;
  /** Element key. */
  readonly key: string;
  /** Version number. */
  readonly version: number;
}

/** A stored body: exactly one of `raw` and `sealed`. */
export type Body = { raw: string; sealed?: undefined } | { sealed: Sealed; raw?: undefined };

/** A body and its fingerprint. */
export interface SealedBody {
  /** What is stored. */
  readonly body: Body;
  /** `rawFingerprint(raw)`, or `sealedFingerprint(sealed)` for a secret. */
  readonly fingerprint: string;
}

/**
 * The keyring, which a secret element needs.
 * @throws {ConflictError} when this adm has none.
 */
export function requireKeyring(keyring: Keyring | undefined, doing: string): Keyring {
  if (keyring) return keyring;
  throw new ConflictError(
    `Cannot ${doing} as this adm has no secret keyring: current configuration has neither --secret-key-file nor CASSEM_SECRET_KEY`,
  );
}

/** The body to store for `raw` at `place`: sealed when `secret`, else the raw itself. */
export async function bodyFor(
  keyring: Keyring | undefined,
  secret: boolean,
  place: VersionPlace,
  raw: string,
): Promise<SealedBody> {
  if (!secret) return { body: { raw }, fingerprint: await rawFingerprint(raw) };
  const ring = requireKeyring(keyring, `store a version of secret element ${place.key}`);
  const sealed = await ring.seal(raw, secretAad(place.app, place.env, place.key, place.version));
  return { body: { sealed }, fingerprint: await sealedFingerprint(sealed) };
}

/**
 * The plaintext of a stored body of `place`.
 * @throws {ConflictError} when it is sealed and this adm has no keyring, or lacks its key.
 * @throws {InternalError} when it does not authenticate (altered, or another element's).
 */
export async function openBody(
  keyring: Keyring | undefined,
  place: VersionPlace,
  body: { raw?: string | undefined; sealed?: Sealed | undefined },
): Promise<string> {
  if (body.raw !== undefined) return body.raw;
  if (body.sealed === undefined) {
    throw new InternalError(
      `Cannot read version ${place.version} of ${place.key} as it has no body`,
    );
  }
  const ring = requireKeyring(
    keyring,
    `read version ${place.version} of secret element ${place.key}`,
  );
  try {
    return await ring.open(
      body.sealed,
      secretAad(place.app, place.env, place.key, place.version),
    );
  } catch (e) {
    if (e instanceof UnknownKeyError) throw new ConflictError(e.message, { cause: e });
    if (e instanceof DecryptError) {
      throw new InternalError("Cannot answer the request as a sealed version does not open", {
        cause: e,
      });
    }
    throw e;
  }
}
