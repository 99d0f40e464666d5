/**
 * For tests and benchmarks: writes the serve records an agent reads, through
 * the shared layout module, the way cassemadm publishes (each publish,
 * promote or abort is one transaction). It is not cassemadm: no versions,
 * metadata or oplog, only what agents watch.
 *
 * @module
 */

import {
  type ContentType,
  encodeRecord,
  type GrayRule,
  hashSecret,
  type Keyring,
  rawFingerprint,
  type Sealed,
  sealedFingerprint,
  secretAad,
  serveAppKey,
  ServeAppRecord,
  serveElementDir,
  serveEnvKey,
  serveEnvPrefix,
  ServeEnvRecord,
  serveGrayKey,
  ServeGrayRecord,
  serveLiveKey,
  ServeLiveRecord,
} from "../shared/config/mod.ts";
import type { KvClient } from "../shared/db/mod.ts";

/** A version to publish. */
export interface PublishVersion {
  /** Version number. */
  version: number;
  /** The raw text. */
  raw: string;
  /** Content type (default plaintext). */
  contentType?: ContentType;
  /** Seal it with this keyring (a secret element). */
  keyring?: Keyring;
}

/** Writes serve records to `db` (see the module doc). */
export class ServePublisher {
  readonly #db: KvClient;
  readonly #now: () => string;

  /** A publisher writing through `db`. */
  constructor(db: KvClient, clock: () => number = Date.now) {
    this.#db = db;
    this.#now = () => new Date(clock()).toISOString();
  }

  /** Serves app `app`. */
  async app(app: string, status: "active" | "deprecated" = "active"): Promise<number> {
    const r = await this.#db.set(serveAppKey(app), encodeRecord(ServeAppRecord, { app, status }), {
      overwrite: true,
    });
    return r.revision;
  }

  /** Serves env `env` of `app`, with a client secret when `secret` is given. */
  async env(app: string, env: string, secret?: string): Promise<number> {
    const clientSecretHash = secret === undefined ? null : await hashSecret(secret);
    const r = await this.#db.set(
      serveEnvKey(app, env),
      encodeRecord(ServeEnvRecord, { app, env, clientSecretHash }),
      { overwrite: true },
    );
    return r.revision;
  }

  /** Serves app and env at once. */
  async appEnv(app: string, env: string, secret?: string): Promise<number> {
    await this.app(app);
    return await this.env(app, env, secret);
  }

  async #body(app: string, env: string, key: string, v: PublishVersion) {
    const contentType = v.contentType ?? "plaintext";
    if (v.keyring) {
      const sealed: Sealed = await v.keyring.seal(v.raw, secretAad(app, env, key, v.version));
      return { contentType, fingerprint: await sealedFingerprint(sealed), sealed };
    }
    return { contentType, fingerprint: await rawFingerprint(v.raw), raw: v.raw };
  }

  /** Publishes `v` as the live version of `key`; answers the revision. */
  async publish(app: string, env: string, key: string, v: PublishVersion): Promise<number> {
    const body = await this.#body(app, env, key, v);
    const rec = { app, env, key, version: v.version, publishedAt: this.#now(), ...body };
    const r = await this.#db.set(serveLiveKey(app, env, key), encodeRecord(ServeLiveRecord, rec), {
      overwrite: true,
    });
    return r.revision;
  }

  /** Starts (or changes) a gray release of `v` under `rule`; answers the revision. */
  async gray(
    app: string,
    env: string,
    key: string,
    v: PublishVersion,
    rule: GrayRule,
  ): Promise<number> {
    const body = await this.#body(app, env, key, v);
    const rec = { app, env, key, version: v.version, rule, startedAt: this.#now(), ...body };
    const r = await this.#db.set(serveGrayKey(app, env, key), encodeRecord(ServeGrayRecord, rec), {
      overwrite: true,
    });
    return r.revision;
  }

  /** Promotes the gray version to live and ends the gray release, in one transaction. */
  async promote(app: string, env: string, key: string): Promise<number> {
    const { entity } = await this.#db.get(serveGrayKey(app, env, key));
    if (!entity) throw new Error(`Cannot promote ${app}/${env}/${key} as it has no gray version`);
    const gray = JSON.parse(new TextDecoder().decode(entity.val));
    delete gray.rule;
    delete gray.startedAt;
    gray.publishedAt = this.#now();
    const r = await this.#db.txn()
      .if(serveGrayKey(app, env, key), { modRevision: entity.modRevision })
      .set(serveLiveKey(app, env, key), encodeRecord(ServeLiveRecord, gray), { overwrite: true })
      .unset(serveGrayKey(app, env, key))
      .commit();
    if (!r.succeeded) {
      throw new Error(`Cannot promote ${app}/${env}/${key}: the gray version moved`);
    }
    return r.revision;
  }

  /** Ends the gray release without promoting it. */
  async abort(app: string, env: string, key: string): Promise<number> {
    return (await this.#db.unset(serveGrayKey(app, env, key))).revision;
  }

  /** Stops serving `key` (its live and gray versions). */
  async remove(app: string, env: string, key: string): Promise<number> {
    return (await this.#db.unset(serveElementDir(app, env, key), { isDir: true })).revision;
  }

  /** Stops serving env `env` and everything in it. */
  async removeEnv(app: string, env: string): Promise<number> {
    return (await this.#db.unset(serveEnvPrefix(app, env).slice(0, -1), { isDir: true })).revision;
  }
}
