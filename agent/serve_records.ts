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
  CONTENT_TYPES,
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
import type { SlotIndex } from "./lru_k.ts";

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

/** The app and env of served versions: one object per env, shared by all its versions. */
interface EnvNames {
  readonly app: string;
  readonly env: string;
}

/** `app/env` → its {@linkcode EnvNames} (envs are few; an agent holds them all anyway). */
const envNames = new Map<string, EnvNames>();

function envNamesOf(app: string, env: string): EnvNames {
  const id = envId(app, env);
  let names = envNames.get(id);
  if (names === undefined) envNames.set(id, names = { app, env });
  return names;
}

/** Bits of {@linkcode ServedVersion}'s flags: gray, sealed, then the content type's index. */
const GRAY_BIT = 1;
const SEALED_BIT = 2;
const TYPE_SHIFT = 2;

/**
 * The metadata of one served version (a `live` or `gray` record): what an
 * agent keeps for every element it serves, without the body. Immutable
 * (but for {@linkcode cacheSlot}, the cache's): a change of the record is a
 * new object, so the object itself names one version (caches key on it).
 *
 * A version alone is also its element's {@linkcode VersionPair}
 * (`live`/`gray` answer itself or nothing): an element without a gray
 * release, the common case, needs no pair object.
 *
 * Small on purpose, as an agent keeps one per element it serves: app and
 * env are one shared object per env, kind, sealing and content type one
 * small integer, and the fingerprint 32 one-byte characters (88 bytes of
 * heap with 8 fields, where one field per property took 104).
 */
export class ServedVersion {
  /** App and env, shared with the env's other versions. */
  readonly #where: EnvNames;
  /** Element key. */
  readonly key: string;
  /** The element version number. */
  readonly version: number;
  /** Gray and sealed bits, and the content type's index in `CONTENT_TYPES`. */
  readonly #flags: number;
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
  /**
   * Its slot in the agent's LRU-K cache, or -1: kept here rather than in a
   * map of the cache (about 36 bytes a cached version). Written only by that
   * cache, through {@linkcode VERSION_SLOTS}.
   */
  cacheSlot = -1;

  /**
   * A version with these fields.
   * @throws {RangeError} when the fingerprint is not a SHA-256 hex digest or
   * the content type is unknown (records are checked for both when decoded).
   */
  constructor(init: ServedVersionInit) {
    const type = CONTENT_TYPES.indexOf(init.contentType);
    if (type < 0) {
      throw new RangeError(
        `Cannot hold a served version as its content type must be one of ${
          CONTENT_TYPES.join(", ")
        }: current value is ${JSON.stringify(init.contentType)}`,
      );
    }
    this.#where = envNamesOf(init.app, init.env);
    this.key = init.key;
    this.version = init.version;
    this.#flags = (init.kind === "gray" ? GRAY_BIT : 0) | (init.sealed ? SEALED_BIT : 0) |
      (type << TYPE_SHIFT);
    this.#packedFingerprint = packHex(init.fingerprint);
    this.modRevision = init.modRevision;
    this.rule = init.rule;
  }

  /** Live or gray. */
  get kind(): RecordKind {
    return this.#flags & GRAY_BIT ? "gray" : "live";
  }

  /** App id. */
  get app(): string {
    return this.#where.app;
  }

  /** Env name. */
  get env(): string {
    return this.#where.env;
  }

  /** Its content type. */
  get contentType(): ContentType {
    return CONTENT_TYPES[this.#flags >> TYPE_SHIFT]!;
  }

  /** Whether the body is sealed (a secret element: opened with the keyring). */
  get sealed(): boolean {
    return (this.#flags & SEALED_BIT) !== 0;
  }

  /** Its fingerprint (the ETag clients see): SHA-256 hex. */
  get fingerprint(): string {
    const p = this.#packedFingerprint;
    let hex = "";
    for (let i = 0; i < p.length; i++) hex += BYTE_HEX[p.charCodeAt(i)]!;
    return hex;
  }

  /**
   * Whether `other` is the same version to a client: number, fingerprint
   * and live/gray (another object when its record was written again).
   */
  sameAs(other: ServedVersion): boolean {
    return this.version === other.version &&
      this.#packedFingerprint === other.#packedFingerprint &&
      (this.#flags & GRAY_BIT) === (other.#flags & GRAY_BIT);
  }

  /** The cassemdb key of the record (computed: only cold paths need it). */
  get recordKey(): string {
    return this.kind === "live"
      ? serveLiveKey(this.app, this.env, this.key)
      : serveGrayKey(this.app, this.env, this.key);
  }

  /** As a pair: itself when it is the live version. */
  get live(): ServedVersion | undefined {
    return this.#flags & GRAY_BIT ? undefined : this;
  }

  /** As a pair: itself when it is the gray version. */
  get gray(): ServedVersion | undefined {
    return this.#flags & GRAY_BIT ? this : undefined;
  }
}

/** The LRU-K cache's slots of served versions, kept in the versions ({@linkcode ServedVersion.cacheSlot}). */
export const VERSION_SLOTS: SlotIndex<ServedVersion> = {
  get: (v) => v.cacheSlot,
  set: (v, slot) => {
    v.cacheSlot = slot;
  },
};

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
        kind: where.kind === "live" ? "live" : "gray",
        app: where.app,
        env: where.env,
        key: ownString(where.key),
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

/**
 * A copy of `text` holding only its own characters. In V8 a substring of 13
 * characters or more is a view that keeps its whole parent alive: an element
 * key cut from its record key would keep the record key (with 100,000 keys
 * of 30 characters the agent's heap was 49 MiB with views, 46 with copies:
 * `bench/README.md`).
 */
function ownString(text: string): string {
  return text.length < 13 ? text : JSON.parse(JSON.stringify(text));
}

/** The id of an element across the agent: `app/env/key` (names never hold "/"). */
export function elementId(app: string, env: string, key: string): string {
  return `${app}/${env}/${key}`;
}

/** The id of an env across the agent: `app/env`. */
export function envId(app: string, env: string): string {
  return `${app}/${env}`;
}
