/**
 * The history of an element, under `/api/apps/{app}/envs/{env}/elements`:
 *
 * - `GET /{key}/versions`: its versions, oldest first (paged: `seek` is a
 *   version number), each with fingerprint, author, time, remark and
 *   whether it is live, in gray release, or was ever published;
 * - `GET /{key}/diff?base=N&compare=M`: a unified text diff of the two raws
 *   and, for structured types, a structural diff (JSON Pointer paths added,
 *   removed and changed). For a secret element and a caller without
 *   `secret.read`, both are masked;
 * - `GET /{key}/instances`: which client instances (registered by agents)
 *   run which version of it, and whether they got the gray one, with a
 *   count per version: how far a release or a gray release has reached.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  InstanceRecord,
  instancesPrefix,
  isStructured,
  versionKey,
  VersionRecord,
  versionsPrefix,
} from "../../shared/config/mod.ts";
import { parseContent } from "../../shared/content/mod.ts";
import { defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import { readPage, storedOf } from "../data/read.ts";
import {
  MAX_NESTING,
  nestingDepth,
  openBody,
  readElement,
  readVersionRecord,
  structuralDiff,
  toJsonValue,
  unifiedDiff,
} from "../elements/mod.ts";
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

/** Most instance records one `GET /{key}/instances` reads. */
const MAX_INSTANCES = 5_000;

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

const RunningSchema = z.object({
  items: z.array(z.object({
    clientId: z.string(),
    agentId: z.string(),
    version: z.number().int(),
    fingerprint: z.string(),
    gray: z.boolean(),
    renewedAt: z.string(),
  })),
  versions: z.array(z.object({
    version: z.number().int(),
    gray: z.boolean(),
    instances: z.number().int(),
  })).openapi({ description: "How many instances run each version (gray apart)" }),
  liveVersion: z.number().int().nullable(),
  grayVersion: z.number().int().nullable(),
  truncated: z.boolean().openapi({
    description: `More than ${MAX_INSTANCES} instance records exist: the answer covers the first`,
  }),
}).openapi("RunningVersions");

const instancesRoute = defineRoute({
  method: "get",
  path: "/{key}/instances",
  tags: TAGS,
  summary: "Which client instances run which version of the element (gray or not)",
  permission: "element.read",
  request: { params: ElementParams },
  responses: { 200: jsonResponse(RunningSchema, "Instances and versions"), ...errorResponses(404) },
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

  r.openapi(instancesRoute, async (c) => {
    const ref = c.req.valid("param");
    const meta = await readElement(deps.db, ref, `list the instances running ${ref.key}`);
    const items: z.infer<typeof RunningSchema>["items"] = [];
    const counts = new Map<string, { version: number; gray: boolean; instances: number }>();
    let scanned = 0;
    let seek: string | undefined;
    let truncated = false;
    scan: for (;;) {
      const page = await deps.db.range(instancesPrefix(), { seek, limit: 100 });
      for (const e of page.entities) {
        if (e.type !== "ELEMENT") continue;
        if (++scanned > MAX_INSTANCES) {
          truncated = true;
          break scan;
        }
        const inst = storedOf(InstanceRecord, e)!.record;
        const run = inst.running.find((x) =>
          x.app === ref.app && x.env === ref.env && x.key === ref.key
        );
        if (!run) continue;
        items.push({
          clientId: inst.clientId,
          agentId: inst.agentId,
          version: run.version,
          fingerprint: run.fingerprint,
          gray: run.gray,
          renewedAt: inst.renewedAt,
        });
        const id = `${run.version}/${run.gray}`;
        const n = counts.get(id) ?? { version: run.version, gray: run.gray, instances: 0 };
        n.instances++;
        counts.set(id, n);
      }
      if (!page.hasMore) break;
      seek = page.nextSeekKey;
    }
    const versions = [...counts.values()].sort((a, b) =>
      b.version - a.version || Number(b.gray) - Number(a.gray)
    );
    return c.json({
      items,
      versions,
      liveVersion: meta.record.publishedVersion,
      grayVersion: meta.record.grayVersion,
      truncated,
    }, 200);
  });

  return r;
}
