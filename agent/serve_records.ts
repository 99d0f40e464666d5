/**
 * The serve records cassemdb holds under `servePrefix()`, as the agent uses
 * them: decoded through the shared layout (`shared/config`), and split into
 * the small metadata every agent keeps for every element
 * ({@linkcode ServedVersion}) and the body (raw text, or the sealed text of
 * a secret element), which only the cache and the watched elements keep.
 *
 * @module
 */

import {
  type AppStatus,
  type ContentType,
  decodeRecord,
  type GrayRule,
  parseServeKey,
  type Sealed,
  ServeAppRecord,
  ServeEnvRecord,
  serveGrayKey,
  ServeGrayRecord,
  serveLiveKey,
  ServeLiveRecord,
} from "../shared/config/mod.ts";

/** Which served record of an element: the published version, or the gray one. */
export type RecordKind = "live" | "gray";

/** The fields of a {@linkcode ServedVersion}. */
export interface ServedVersionInit {
  /** Live or gray. */
  readonly kind: RecordKind;
  /** App id. */
  readonly app: string;
  /** Env name. */
  readonly env: string;
  /** Element key. */
  readonly key: string;
  /** The element version number. */
  readonly version: number;
  /** Its content type. */
  readonly contentType: ContentType;
  /** Its fingerprint (the ETag clients see). */
  readonly fingerprint: string;
  /** The cassemdb revision that last wrote the record. */
  readonly modRevision: number;
  /** The gray rule (gray records only). */
  readonly rule?: GrayRule;
  /** Whether the body is sealed (a secret element: opened with the keyring). */
  readonly sealed: boolean;
}

/** Two lowercase hex digits of each byte value. */
const BYTE_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** A SHA-256 hex digest as 32 one-byte characters. @throws {RangeError} for anything else. */
function packHex(hex: string): string {
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new RangeError(
      `Cannot hold a served version as its fingerprint must be SHA-256 hex: current value is ${
        JSON.stringify(hex)
      }`,
    );
  }
  const bytes: number[] = [];
  for (let i = 0; i < 64; i += 2) bytes.push(parseInt(hex.slice(i, i + 2), 16));
  // One call: a flat string (appending would leave a chain of string pieces).
  return String.fromCharCode(...bytes);
}

/**
 * The metadata of one served version (a `live` or `gray` record): what an
 * agent keeps for every element it serves, without the body. Immutable: a
 * change of the record is a new object, so the object itself names one
 * version (caches key on it).
 *
 * A version alone is also its element's {@linkcode VersionPair}
 * (`live`/`gray` answer itself or nothing): an element without a gray
 * release, the common case, needs no pair object.
 */
export class ServedVersion {
  /** Live or gray. */
  readonly kind: RecordKind;
  /** App id. */
  readonly app: string;
  /** Env name. */
  readonly env: string;
  /** Element key. */
  readonly key: string;
  /** The element version number. */
  readonly version: number;
  /** Its content type. */
  readonly contentType: ContentType;
  /**
   * Its fingerprint, packed: the 32 bytes of the SHA-256 as 32 one-byte
   * characters, 48 bytes of heap where the hex text takes 80 (3 MiB for
   * 100,000 versions).
   */
  readonly #packedFingerprint: string;
  /** The cassemdb revision that last wrote the record: orders versions across agents. */
  readonly modRevision: number;
  /** The gray rule (gray records only). */
  readonly rule: GrayRule | undefined;
  /** Whether the body is sealed (a secret element: opened with the keyring). */
  readonly sealed: boolean;

  /**
   * A version with these fields.
   * @throws {RangeError} when the fingerprint is not a SHA-256 hex digest
   * (records are checked for that when decoded).
   */
  constructor(init: ServedVersionInit) {
    this.kind = init.kind;
    this.app = init.app;
    this.env = init.env;
    this.key = init.key;
    this.version = init.version;
    this.contentType = init.contentType;
    this.#packedFingerprint = packHex(init.fingerprint);
    this.modRevision = init.modRevision;
    this.rule = init.rule;
    this.sealed = init.sealed;
  }

  /** Its fingerprint (the ETag clients see): SHA-256 hex. */
  get fingerprint(): string {
    const p = this.#packedFingerprint;
    let hex = "";
    for (let i = 0; i < p.length; i++) hex += BYTE_HEX[p.charCodeAt(i)]!;
    return hex;
  }

  /** The cassemdb key of the record (computed: only cold paths need it). */
  get recordKey(): string {
    return this.kind === "live"
      ? serveLiveKey(this.app, this.env, this.key)
      : serveGrayKey(this.app, this.env, this.key);
  }

  /** As a pair: itself when it is the live version. */
  get live(): ServedVersion | undefined {
    return this.kind === "live" ? this : undefined;
  }

  /** As a pair: itself when it is the gray version. */
  get gray(): ServedVersion | undefined {
    return this.kind === "gray" ? this : undefined;
  }
}

/** The body of a served version as stored: raw text or a sealed text. */
export type StoredBody = { readonly raw: string } | { readonly sealed: Sealed };

/** A decoded serve record. */
export type DecodedServe =
  | {
    readonly kind: "app";
    readonly recordKey: string;
    readonly app: string;
    readonly status: AppStatus;
  }
  | {
    readonly kind: "env";
    readonly recordKey: string;
    readonly app: string;
    readonly env: string;
    readonly clientSecretHash: string | null;
  }
  | {
    readonly kind: "version";
    readonly meta: ServedVersion;
    readonly body: StoredBody;
  };

/** A served record without its body: what the served state keeps. */
export type ServeMeta =
  | Exclude<DecodedServe, { kind: "version" }>
  | { readonly kind: "version"; readonly meta: ServedVersion };

/** The part of a cassemdb entity a decode needs. */
export interface ServeEntity {
  readonly key: string;
  readonly type: "ELEMENT" | "DIRECTORY";
  readonly val: Uint8Array;
  readonly modRevision: number;
}

/**
 * The serve record of `e`, or `undefined` for anything else under the
 * prefix (the directories above the records).
 * @throws {import("../shared/config/mod.ts").CorruptRecordError} naming the key when the
 * record does not match its schema (or names another element than its key).
 */
export function decodeServe(e: ServeEntity): DecodedServe | undefined {
  if (e.type !== "ELEMENT") return undefined;
  const where = parseServeKey(e.key);
  if (!where) return undefined;
  switch (where.kind) {
    case "app": {
      const r = decodeRecord(ServeAppRecord, e.key, e.val);
      return { kind: "app", recordKey: e.key, app: where.app, status: r.status };
    }
    case "env": {
      const r = decodeRecord(ServeEnvRecord, e.key, e.val);
      return {
        kind: "env",
        recordKey: e.key,
        app: where.app,
        env: where.env,
        clientSecretHash: r.clientSecretHash,
      };
    }
    case "live":
    case "gray": {
      const r = where.kind === "live"
        ? decodeRecord(ServeLiveRecord, e.key, e.val)
        : decodeRecord(ServeGrayRecord, e.key, e.val);
      const rule = where.kind === "gray" ? (r as ServeGrayRecord).rule : undefined;
      const sealed = r.sealed !== undefined;
      const meta = new ServedVersion({
        // The literal, not the key's substring: one string for every version, not one each.
        kind: where.kind === "live" ? "live" : "gray",
        app: intern(where.app),
        env: intern(where.env),
        key: where.key,
        version: r.version,
        contentType: r.contentType,
        fingerprint: r.fingerprint,
        modRevision: e.modRevision,
        rule,
        sealed,
      });
      const body: StoredBody = r.sealed !== undefined ? { sealed: r.sealed } : { raw: r.raw! };
      return { kind: "version", meta, body };
    }
  }
}

/** App and env names seen, so that every record of one env shares its two strings. */
const names = new Map<string, string>();

/** The one copy of `name` (app and env names are few; an agent holds them all anyway). */
function intern(name: string): string {
  const had = names.get(name);
  if (had !== undefined) return had;
  names.set(name, name);
  return name;
}

/** The id of an element across the agent: `app/env/key` (names never hold "/"). */
export function elementId(app: string, env: string, key: string): string {
  return `${app}/${env}/${key}`;
}

/** The id of an env across the agent: `app/env`. */
export function envId(app: string, env: string): string {
  return `${app}/${env}`;
}
