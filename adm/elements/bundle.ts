/**
 * The export bundle of an env: every element with its content type,
 * secret flag, JSON Schema, live (published) version and latest version,
 * as one JSON document that `POST .../import` applies to an env (the same,
 * another, or another app's). A secret element's raws are masked (null)
 * unless the export asked for secrets and the caller may read them.
 *
 * @module
 */

import { z } from "@hono/zod-openapi";
import {
  CONTENT_TYPES,
  ElementRecord,
  elementsPrefix,
  type Keyring,
  nameSchema,
  versionKey,
  VersionRecord,
} from "../../shared/config/mod.ts";
import type { KvClient } from "../../shared/db/mod.ts";
import { readAll, storedOf } from "../data/read.ts";
import { openBody } from "./sealing.ts";

/** The `format` of a bundle this adm writes and reads. */
export const BUNDLE_FORMAT = "cassem.bundle/v1";

/** Most elements one bundle holds. */
export const MAX_BUNDLE_ELEMENTS = 1_000;

/** One version in a bundle. */
export const BundleVersion = z.strictObject({
  version: z.number().int().min(1).max(9_999_999_999).openapi({
    description: "Its number where it was exported (a new number where it is imported)",
  }),
  fingerprint: z.string().max(64).optional(),
  raw: z.string().nullable().openapi({ description: "The text; null when masked" }),
  masked: z.boolean().default(false),
  author: z.string().max(200).optional(),
  createdAt: z.string().max(64).optional(),
  remark: z.string().max(1024).default(""),
}).openapi("BundleVersion");

/** One version in a bundle. */
export type BundleVersion = z.infer<typeof BundleVersion>;

/** One element in a bundle. */
export const BundleElement = z.strictObject({
  key: nameSchema("element"),
  contentType: z.enum(CONTENT_TYPES),
  secret: z.boolean().default(false),
  schema: z.record(z.string(), z.unknown()).nullable().default(null),
  published: BundleVersion.nullable().openapi({ description: "The live version, or null" }),
  latest: BundleVersion.openapi({ description: "The newest version (may be the live one)" }),
  grayVersion: z.number().int().nullable().optional().openapi({
    description: "Informational: gray releases are not imported",
  }),
}).openapi("BundleElement");

/** One element in a bundle. */
export type BundleElement = z.infer<typeof BundleElement>;

/** A bundle: what `GET .../export` answers and `POST .../import` takes. */
export const Bundle = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  app: nameSchema("app").openapi({ description: "Where it was exported from" }),
  env: nameSchema("env"),
  exportedAt: z.string().max(64),
  exportedBy: z.string().max(200),
  secrets: z.boolean().default(false).openapi({
    description: "Whether secret elements' raws are included",
  }),
  elements: z.array(BundleElement).max(MAX_BUNDLE_ELEMENTS),
}).openapi("Bundle");

/** A bundle. */
export type Bundle = z.infer<typeof Bundle>;

/** What an export needs. */
export interface ExportOptions {
  /** Include secret elements' plaintext (the caller was checked for `secret.read`). */
  readonly secrets: boolean;
  /** The keyring, to open secrets. */
  readonly keyring: Keyring | undefined;
  /** Who exports, and when (ISO). */
  readonly exportedBy: string;
  /** ISO time of the export. */
  readonly exportedAt: string;
}

/**
 * The bundle of env `env` of `app`: one consistent listing of its
 * elements' metadata, then their live and latest versions (which never
 * change once written).
 */
export async function exportEnv(
  db: KvClient,
  app: string,
  env: string,
  options: ExportOptions,
): Promise<Bundle> {
  const metas = await readAll(db, ElementRecord, elementsPrefix(app, env));
  const elements: BundleElement[] = [];
  // Versions in batches of 50 elements (2 keys each: getMany takes 100).
  for (let i = 0; i < metas.length; i += 50) {
    const batch = metas.slice(i, i + 50).map((s) => s.record);
    const keys = batch.flatMap((m) => [
      versionKey(app, env, m.key, m.publishedVersion ?? m.latestVersion),
      versionKey(app, env, m.key, m.latestVersion),
    ]);
    const { entities } = await db.getMany([...new Set(keys)]);
    const byKey = new Map(entities.map((e) => [e.key, e]));
    for (const m of batch) {
      const versionAt = (n: number) => {
        const e = byKey.get(versionKey(app, env, m.key, n));
        return e ? storedOf(VersionRecord, e)?.record : undefined;
      };
      const latest = versionAt(m.latestVersion);
      if (!latest) continue; // deleted since the listing
      const published = m.publishedVersion === null ? null : versionAt(m.publishedVersion);
      const show = async (v: VersionRecord): Promise<BundleVersion> => {
        const masked = m.secret && !options.secrets;
        const raw = masked
          ? null
          : await openBody(options.keyring, { app, env, key: m.key, version: v.version }, v);
        return {
          version: v.version,
          fingerprint: v.fingerprint,
          raw,
          masked,
          author: v.author,
          createdAt: v.createdAt,
          remark: v.remark,
        };
      };
      elements.push({
        key: m.key,
        contentType: m.contentType,
        secret: m.secret,
        schema: m.schema,
        published: published ? await show(published) : null,
        latest: await show(latest),
        grayVersion: m.grayVersion,
      });
    }
  }
  return {
    format: BUNDLE_FORMAT,
    app,
    env,
    exportedAt: options.exportedAt,
    exportedBy: options.exportedBy,
    secrets: options.secrets,
    elements,
  };
}
