/**
 * The history of an element, under `/api/apps/{app}/envs/{env}/elements`:
 *
 * - `GET /{key}/versions`: its versions, oldest first (paged: `seek` is a
 *   version number), each with fingerprint, author, time, remark and
 *   whether it is live, in gray release, or was ever published;
 * - `GET /{key}/diff?base=N&compare=M`: a unified text diff of the two raws
 *   and, for structured types, a structural diff (JSON Pointer paths added,
 *   removed and changed). For a secret element and a caller without
 *   `secret.read`, both are masked.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  isStructured,
  parseContent,
  versionKey,
  VersionRecord,
  versionsPrefix,
} from "../../shared/config/mod.ts";
import { defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import { readPage } from "../data/read.ts";
import { MAX_NESTING, nestingDepth, toJsonValue } from "../elements/content.ts";
import { structuralDiff, unifiedDiff } from "../elements/diff.ts";
import { readElement, readVersionRecord } from "../elements/read_side.ts";
import { openBody } from "../elements/sealing.ts";
import { BadRequestError } from "../errors.ts";
import type { AdmEnv } from "../http/context.ts";
import { etagOf } from "../http/etag.ts";
import { validationHook } from "../http/validation.ts";
import { maySeeSecrets } from "./_element_access.ts";
import {
  ContentTypeParam,
  ElementParams,
  showVersionInfo,
  VersionInfoSchema,
} from "./_element_schemas.ts";
import { errorResponses, jsonResponse, pageOf, PageQuery } from "./_schemas.ts";

const TAGS = ["elements"];

const listVersions = defineRoute({
  method: "get",
  path: "/{key}/versions",
  tags: TAGS,
  summary: "List an element's versions, oldest first (paged; seek is a version number)",
  permission: "element.read",
  request: { params: ElementParams, query: PageQuery },
  responses: {
    200: jsonResponse(pageOf(VersionInfoSchema), "A page of versions"),
    ...errorResponses(404),
  },
});

const VersionQuery = z.coerce.number().int().min(1).max(9_999_999_999);

const DiffSchema = z.object({
  key: z.string(),
  contentType: ContentTypeParam,
  base: z.number().int(),
  compare: z.number().int(),
  baseFingerprint: z.string(),
  compareFingerprint: z.string(),
  masked: z.boolean().openapi({
    description: "A secret element and a caller without secret.read: no content shown",
  }),
  unified: z.string().nullable().openapi({ description: "Unified diff of the raw texts" }),
  structural: z.object({
    added: z.array(z.object({ path: z.string(), value: z.unknown() })),
    removed: z.array(z.object({ path: z.string(), value: z.unknown() })),
    changed: z.array(z.object({ path: z.string(), base: z.unknown(), compare: z.unknown() })),
  }).nullable().openapi({ description: "For structured types: JSON Pointer paths" }),
}).openapi("Diff");

const diffRoute = defineRoute({
  method: "get",
  path: "/{key}/diff",
  tags: TAGS,
  summary: "Diff two versions: unified text, and structural for structured types",
  permission: "element.read",
  request: {
    params: ElementParams,
    query: z.object({
      base: VersionQuery.openapi({ description: "The older side" }),
      compare: VersionQuery.openapi({ description: "The newer side" }),
    }),
  },
  responses: { 200: jsonResponse(DiffSchema, "The diff"), ...errorResponses(404, 409) },
});

/** The parsed value of `raw` for a structural diff, or undefined when it cannot be compared. */
function valueOf(type: Parameters<typeof parseContent>[0], raw: string): unknown {
  const parsed = parseContent(type, raw);
  if (!parsed.ok || nestingDepth(parsed.value) > MAX_NESTING) return undefined;
  return toJsonValue(parsed.value);
}

/** The version history routes, mounted at `/api/apps/:app/envs/:env/elements`. */
export function elementVersionsRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });

  r.openapi(listVersions, async (c) => {
    const ref = c.req.valid("param");
    const q = c.req.valid("query");
    const meta = await readElement(deps.db, ref, `list the versions of ${ref.key}`);
    let seek: string | undefined;
    if (q.seek !== undefined) {
      const n = Number(q.seek);
      if (!/^[0-9]{1,10}$/.test(q.seek) || n < 1) {
        throw new BadRequestError(
          `Cannot accept query.seek as it must be a version number: current value is ${
            JSON.stringify(q.seek)
          }`,
          { field: "query.seek" },
        );
      }
      seek = versionKey(ref.app, ref.env, ref.key, n);
    }
    const page = await readPage(deps.db, VersionRecord, versionsPrefix(ref.app, ref.env, ref.key), {
      seek,
      limit: q.limit,
    });
    const items = page.items.map((s) => showVersionInfo(meta.record, s.record));
    const last = page.items[page.items.length - 1];
    c.header("ETag", etagOf(meta.modRevision));
    return c.json({ items, next: page.nextKey && last ? String(last.record.version) : null }, 200);
  });

  r.openapi(diffRoute, async (c) => {
    const ref = c.req.valid("param");
    const q = c.req.valid("query");
    const doing = `diff versions ${q.base} and ${q.compare} of ${ref.key}`;
    const meta = await readElement(deps.db, ref, doing);
    const [a, b] = await Promise.all([
      readVersionRecord(deps.db, ref, meta.record, q.base, doing, "query.base"),
      readVersionRecord(deps.db, ref, meta.record, q.compare, doing, "query.compare"),
    ]);
    const type = meta.record.contentType;
    const head = {
      key: ref.key,
      contentType: type,
      base: a.version,
      compare: b.version,
      baseFingerprint: a.fingerprint,
      compareFingerprint: b.fingerprint,
    };
    if (meta.record.secret && !maySeeSecrets(c, ref.app)) {
      return c.json({ ...head, masked: true, unified: null, structural: null }, 200);
    }
    const [ta, tb] = await Promise.all([
      openBody(deps.keyring, { ...ref, version: a.version }, a),
      openBody(deps.keyring, { ...ref, version: b.version }, b),
    ]);
    const unified = unifiedDiff(`${ref.key}@v${a.version}`, `${ref.key}@v${b.version}`, ta, tb);
    let structural = null;
    if (isStructured(type)) {
      const va = valueOf(type, ta);
      const vb = valueOf(type, tb);
      if (va !== undefined && vb !== undefined) structural = structuralDiff(va, vb);
    }
    return c.json({ ...head, masked: false, unified, structural }, 200);
  });

  return r;
}
