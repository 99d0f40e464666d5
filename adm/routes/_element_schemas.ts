/**
 * The request and response schemas the element route files share, and how
 * records are shown: element metadata, versions (a secret's raw only to
 * callers allowed to read it), gray releases and approval requests.
 *
 * @module
 */

import { z } from "@hono/zod-openapi";
import {
  type ApprovalRecord,
  CONTENT_TYPES,
  elementKey,
  type ElementRecord,
  GrayRuleSchema,
  parseLabels,
  type ServeGrayRecord,
  type VersionRecord,
} from "../../shared/config/mod.ts";
import type { Stored } from "../data/read.ts";
import type { ElementRef } from "../elements/mod.ts";
import { etagOf } from "../http/etag.ts";
import { EnvParams, nameParam } from "./_schemas.ts";

/** `{app}/{env}/{key}` path parameters. */
export const ElementParams = EnvParams.extend({ key: nameParam("element", "key") });

/** A content type. */
export const ContentTypeParam = z.enum(CONTENT_TYPES).openapi({
  description: "How raw is parsed before it is stored",
});

/** A remark (optional, at most 1,024 characters). */
export const Remark = z.string().max(1024).default("").openapi({
  description: "Why: kept with the version and in the oplog",
});

/** A version number in a body. */
export const VersionNumber = z.number().int().min(1).max(9_999_999_999);

/**
 * A gray rule in a body: chosen client ids, a label selector, or a
 * percentage of clients. A selector may also be given as text,
 * `"region=eu,tier=canary"` (`parseLabels`).
 */
export const GrayRuleBody = z.preprocess((v, ctx) => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
  const rule = v as Record<string, unknown>;
  if (rule.kind !== "labels" || typeof rule.selector !== "string") return v;
  try {
    return { ...rule, selector: parseLabels(rule.selector) };
  } catch (e) {
    ctx.issues.push({
      code: "custom",
      message: (e as Error).message.replace(/^Cannot parse the labels as /, ""),
      input: rule.selector,
      path: ["selector"],
    });
    return v;
  }
}, GrayRuleSchema);

/** A JSON Schema in a body (an object), or null for none. */
export const SchemaBody = z.record(z.string(), z.unknown()).nullable().openapi({
  description: "A JSON Schema (draft 2020-12) every new version must satisfy; null: none",
});

/** An element's metadata as the API shows it. */
export const ElementSchema = z.object({
  app: z.string(),
  env: z.string(),
  key: z.string(),
  contentType: ContentTypeParam,
  secret: z.boolean(),
  hasSchema: z.boolean(),
  latestVersion: z.number().int(),
  latestFingerprint: z.string(),
  publishedVersion: z.number().int().nullable().openapi({ description: "Live for everyone" }),
  publishedFingerprint: z.string().nullable(),
  unpublishedVersion: z.number().int().nullable().openapi({
    description: "The newest version, never published (a new version waits until it is)",
  }),
  grayVersion: z.number().int().nullable(),
  fingerprint: z.string().openapi({
    description: "What clients get: the live version's fingerprint, else the latest's",
  }),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedBy: z.string(),
  updatedAt: z.string(),
  etag: z.string().openapi({ description: "Pass as If-Match to change only this state" }),
}).openapi("Element");

/** `record`, written at `revision`, as stored under the element key of `ref`. */
export function storedElement(
  ref: ElementRef,
  record: ElementRecord,
  revision: number,
): Stored<ElementRecord> {
  return { record, modRevision: revision, key: elementKey(ref.app, ref.env, ref.key) };
}

/** `s` as the API shows it. */
export function showElement(s: Stored<ElementRecord>): z.infer<typeof ElementSchema> {
  const r = s.record;
  return {
    app: r.app,
    env: r.env,
    key: r.key,
    contentType: r.contentType,
    secret: r.secret,
    hasSchema: r.schema !== null,
    latestVersion: r.latestVersion,
    latestFingerprint: r.latestFingerprint,
    publishedVersion: r.publishedVersion,
    publishedFingerprint: r.publishedFingerprint,
    unpublishedVersion: r.unpublishedVersion,
    grayVersion: r.grayVersion,
    fingerprint: r.publishedFingerprint ?? r.latestFingerprint,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    updatedBy: r.updatedBy,
    updatedAt: r.updatedAt,
    etag: etagOf(s.modRevision),
  };
}

/** A version's facts, without its text. */
export const VersionInfoSchema = z.object({
  version: z.number().int(),
  fingerprint: z.string(),
  author: z.string(),
  createdAt: z.string(),
  remark: z.string(),
  live: z.boolean().openapi({ description: "It is the published version" }),
  gray: z.boolean().openapi({ description: "It is in gray release" }),
  published: z.boolean().openapi({
    description: "It was published at some time (every version but the unpublished one)",
  }),
}).openapi("VersionInfo");

/** The facts of version `v` of the element `meta`. */
export function showVersionInfo(
  meta: ElementRecord,
  v: VersionRecord,
): z.infer<typeof VersionInfoSchema> {
  return {
    version: v.version,
    fingerprint: v.fingerprint,
    author: v.author,
    createdAt: v.createdAt,
    remark: v.remark,
    live: meta.publishedVersion === v.version,
    gray: meta.grayVersion === v.version,
    published: meta.unpublishedVersion !== v.version,
  };
}

/** One version with its text. */
export const VersionSchema = VersionInfoSchema.extend({
  app: z.string(),
  env: z.string(),
  key: z.string(),
  contentType: ContentTypeParam,
  secret: z.boolean(),
  raw: z.string().nullable().openapi({
    description: "Exactly as sent; null when masked (a secret the caller may not read)",
  }),
  masked: z.boolean(),
  schema: SchemaBody,
  element: ElementSchema,
}).openapi("Version");

/** The gray release of an element. */
export const GraySchema = z.object({
  version: z.number().int(),
  fingerprint: z.string(),
  rule: z.record(z.string(), z.unknown()).openapi({ description: "The gray rule agents apply" }),
  startedAt: z.string(),
  liveVersion: z.number().int().nullable(),
  element: ElementSchema,
}).openapi("GrayRelease");

/** The gray release `g` of the element `meta`. */
export function showGray(
  g: ServeGrayRecord,
  meta: Stored<ElementRecord>,
): z.infer<typeof GraySchema> {
  return {
    version: g.version,
    fingerprint: g.fingerprint,
    rule: g.rule,
    startedAt: g.startedAt,
    liveVersion: meta.record.publishedVersion,
    element: showElement(meta),
  };
}

/** A pending publish, rollback or gray release start. */
export const ApprovalSchema = z.object({
  id: z.string(),
  app: z.string(),
  env: z.string(),
  key: z.string(),
  action: z.enum(["publish", "rollback", "gray"]),
  version: z.number().int(),
  rule: z.record(z.string(), z.unknown()).nullable(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  remark: z.string(),
}).openapi("ApprovalRequest");

/** `a` as the API shows it. */
export function showApproval(a: ApprovalRecord): z.infer<typeof ApprovalSchema> {
  return {
    id: a.id,
    app: a.app,
    env: a.env,
    key: a.key,
    action: a.action,
    version: a.version,
    rule: a.rule ?? null,
    requestedBy: a.requestedBy,
    requestedAt: a.requestedAt,
    remark: a.remark,
  };
}

/** What a publish, rollback or gray start answers: applied (200) or requested (202). */
export const ReleasedSchema = z.object({
  applied: z.boolean(),
  element: ElementSchema.nullable(),
  request: ApprovalSchema.nullable().openapi({
    description: "The approval request filed instead, where the env requires approval",
  }),
}).openapi("Released");
