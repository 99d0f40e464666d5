/**
 * Elements of an env, under `/api/apps/{app}/envs/{env}/elements`:
 *
 * - `GET /` lists them with their metadata (paged with `seek`/`limit`, or
 *   `?keys=a,b`);
 * - `POST /{key}` creates version 1 from `{ raw, contentType, remark?,
 *   secret?, schema?, publish? }`;
 * - `PUT /{key}` adds a version from `{ raw, remark?, publish? }` (409 while
 *   an unpublished version exists) and answers it with its number;
 * - `GET /{key}` answers the live version, or the latest when none is
 *   (`?version=N` for any), its raw byte for byte (a secret's only to
 *   callers with `secret.read`);
 * - `GET /{key}/raw` answers the same version's raw as the body itself, with
 *   its content type's MIME type (a secret's only with `secret.read`: 403);
 * - `DELETE /{key}`; `PUT /{key}/schema` sets or clears its JSON Schema.
 *
 * Writes take `If-Match` with the element's ETag (`"r<revision>"` of its
 * metadata, which every change of the element rewrites): 412 when it moved.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  contentTypeHeader,
  elementKey,
  ElementRecord,
  elementsPrefix,
  envKey,
  EnvRecord,
  isName,
  nameProblem,
  type VersionRecord,
} from "../../shared/config/mod.ts";
import { defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import { readPage, readRecord, type Stored, storedOf } from "../data/read.ts";
import { runTxn } from "../data/txn.ts";
import {
  createElement,
  deleteElement,
  type ElementRef,
  openBody,
  readElement,
  readVersionRecord,
  setSchema,
  updateElement,
} from "../elements/mod.ts";
import { BadRequestError, ForbiddenError, NotFoundError } from "../errors.ts";
import { actorOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";
import { etagOf, parseIfMatch } from "../http/etag.ts";
import { validationHook } from "../http/validation.ts";
import { demand, maySeeSecrets } from "./_element_access.ts";
import {
  ContentTypeParam,
  ElementParams,
  ElementSchema,
  Remark,
  SchemaBody,
  showElement,
  showVersionInfo,
  storedElement,
  VersionSchema,
} from "./_element_schemas.ts";
import {
  EnvParams,
  errorResponses,
  IfMatchHeader,
  jsonBody,
  jsonResponse,
  OkSchema,
  pageOf,
  PageQuery,
} from "./_schemas.ts";

const TAGS = ["elements"];

const listElements = defineRoute({
  method: "get",
  path: "/",
  tags: TAGS,
  summary: "List elements with their metadata (paged, or ?keys=a,b)",
  permission: "element.read",
  request: {
    params: EnvParams,
    query: PageQuery.extend({
      keys: z.string().max(13_000).optional().openapi({
        description: "Comma-separated keys (1..100): these elements only, no paging",
      }),
    }),
  },
  responses: {
    200: jsonResponse(pageOf(ElementSchema), "A page of elements"),
    ...errorResponses(404),
  },
});

const getElement = defineRoute({
  method: "get",
  path: "/{key}",
  tags: TAGS,
  summary: "Get the live version (or the latest if none is live; ?version=N for any)",
  permission: "element.read",
  request: {
    params: ElementParams,
    query: z.object({
      version: z.coerce.number().int().min(1).max(9_999_999_999).optional().openapi({
        description: "This version instead",
      }),
    }),
  },
  responses: {
    200: jsonResponse(VersionSchema, "The version, with the element's metadata"),
    ...errorResponses(404, 409),
  },
});

const getRawRoute = defineRoute({
  method: "get",
  path: "/{key}/raw",
  tags: TAGS,
  summary: "The raw text itself (live version, else latest; ?version=N), as its MIME type",
  permission: "element.read",
  request: {
    params: ElementParams,
    query: z.object({
      version: z.coerce.number().int().min(1).max(9_999_999_999).optional().openapi({
        description: "This version instead",
      }),
    }),
  },
  responses: {
    200: {
      description: "The raw text, byte for byte",
      content: { "text/plain": { schema: z.string() } },
    },
    ...errorResponses(404, 409),
  },
});

const CreateBody = z.strictObject({
  raw: z.string().openapi({ description: "The content, exactly as it is to be served" }),
  contentType: ContentTypeParam,
  remark: Remark,
  secret: z.boolean().default(false).openapi({
    description: "Store versions encrypted (AES-256-GCM); needs the server's keyring",
  }),
  schema: SchemaBody.default(null),
  publish: z.boolean().default(false).openapi({
    description: "Also make version 1 live (needs element.publish too)",
  }),
});

const createRoute = defineRoute({
  method: "post",
  path: "/{key}",
  tags: TAGS,
  summary: "Create an element with version 1",
  permission: "element.write",
  request: { params: ElementParams, body: jsonBody(CreateBody) },
  responses: {
    201: jsonResponse(VersionSchema, "Version 1"),
    ...errorResponses(404, 409, 413, 422),
  },
});

const UpdateBody = z.strictObject({
  raw: z.string().openapi({ description: "The content, exactly as it is to be served" }),
  remark: Remark,
  publish: z.boolean().default(false).openapi({
    description: "Also make it live in the same change (needs element.publish too)",
  }),
});

const updateRoute = defineRoute({
  method: "put",
  path: "/{key}",
  tags: TAGS,
  summary: "Add a version (409 while an unpublished version exists)",
  permission: "element.write",
  request: { params: ElementParams, headers: IfMatchHeader, body: jsonBody(UpdateBody) },
  responses: {
    200: jsonResponse(VersionSchema, "The new version"),
    ...errorResponses(404, 409, 412, 413, 422),
  },
});

const deleteRoute = defineRoute({
  method: "delete",
  path: "/{key}",
  tags: TAGS,
  summary: "Delete an element with all its versions",
  permission: "element.write",
  request: { params: ElementParams, headers: IfMatchHeader },
  responses: { 200: jsonResponse(OkSchema, "Deleted"), ...errorResponses(404, 409, 412) },
});

const SchemaChangeBody = z.strictObject({ schema: SchemaBody, remark: Remark });

const schemaRoute = defineRoute({
  method: "put",
  path: "/{key}/schema",
  tags: TAGS,
  summary: "Set or clear the JSON Schema new versions must satisfy",
  permission: "element.write",
  request: { params: ElementParams, headers: IfMatchHeader, body: jsonBody(SchemaChangeBody) },
  responses: {
    200: jsonResponse(ElementSchema.extend({ schema: SchemaBody }), "The element"),
    ...errorResponses(404, 409, 412),
  },
});

/** The keys of `?keys=a,b`: 1..100 distinct valid keys. */
function parseKeys(text: string): string[] {
  const keys = [...new Set(text.split(",").map((k) => k.trim()).filter((k) => k !== ""))];
  if (keys.length < 1 || keys.length > 100) {
    throw new BadRequestError(
      `Cannot accept query.keys as it must name 1 to 100 keys: current count is ${keys.length}`,
      { field: "query.keys" },
    );
  }
  for (const k of keys) {
    if (!isName("element", k)) {
      throw new BadRequestError(`Cannot accept query.keys as ${nameProblem("element", k)}`, {
        field: "query.keys",
      });
    }
  }
  return keys;
}

/**
 * Version `v` of the element as the caller may see it: a secret's raw only
 * with `secret.read`, opened with the keyring.
 */
export async function showVersion(
  c: Context<AdmEnv>,
  deps: AdmDeps,
  ref: ElementRef,
  meta: Stored<ElementRecord>,
  v: VersionRecord,
): Promise<z.infer<typeof VersionSchema>> {
  const masked = meta.record.secret && !maySeeSecrets(c, ref.app);
  const raw = masked ? null : await openBody(deps.keyring, { ...ref, version: v.version }, v);
  return {
    ...showVersionInfo(meta.record, v),
    app: ref.app,
    env: ref.env,
    key: ref.key,
    contentType: v.contentType,
    secret: meta.record.secret,
    raw,
    masked,
    schema: meta.record.schema,
    element: showElement(meta),
  };
}

/** The element routes, mounted at `/api/apps/:app/envs/:env/elements`. */
export function elementsRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });

  r.openapi(listElements, async (c) => {
    const { app, env } = c.req.valid("param");
    const q = c.req.valid("query");
    const envRecord = await readRecord(deps.db, EnvRecord, envKey(app, env));
    if (!envRecord) {
      throw new NotFoundError(
        `Cannot list the elements of env ${env} of app ${app} as it does not exist`,
      );
    }
    if (q.keys !== undefined) {
      const keys = parseKeys(q.keys);
      const { entities } = await deps.db.getMany(keys.map((k) => elementKey(app, env, k)));
      const items = entities.flatMap((e) => {
        const s = storedOf(ElementRecord, e);
        return s ? [showElement(s)] : [];
      });
      return c.json({ items, next: null }, 200);
    }
    if (q.seek !== undefined && !isName("element", q.seek)) {
      throw new BadRequestError(`Cannot accept query.seek as ${nameProblem("element", q.seek)}`, {
        field: "query.seek",
      });
    }
    const page = await readPage(deps.db, ElementRecord, elementsPrefix(app, env), {
      seek: q.seek === undefined ? undefined : elementKey(app, env, q.seek),
      limit: q.limit,
    });
    const items = page.items.map(showElement);
    const last = page.items[page.items.length - 1];
    return c.json({ items, next: page.nextKey && last ? last.record.key : null }, 200);
  });

  r.openapi(getElement, async (c) => {
    const ref = c.req.valid("param");
    const { version } = c.req.valid("query");
    const doing = `get ${ref.key}`;
    const meta = await readElement(deps.db, ref, doing);
    const n = version ?? meta.record.publishedVersion ?? meta.record.latestVersion;
    const v = await readVersionRecord(
      deps.db,
      ref,
      meta.record,
      n,
      doing,
      version === undefined ? "path.key" : "query.version",
    );
    c.header("ETag", etagOf(meta.modRevision));
    return c.json(await showVersion(c, deps, ref, meta, v), 200);
  });

  r.openapi(getRawRoute, async (c) => {
    const ref = c.req.valid("param");
    const { version } = c.req.valid("query");
    const doing = `get the raw of ${ref.key}`;
    const meta = await readElement(deps.db, ref, doing);
    if (meta.record.secret && !maySeeSecrets(c, ref.app)) {
      throw new ForbiddenError(
        `Cannot ${doing} as it is a secret element and the caller lacks secret.read on app ${ref.app}`,
      );
    }
    const n = version ?? meta.record.publishedVersion ?? meta.record.latestVersion;
    const v = await readVersionRecord(deps.db, ref, meta.record, n, doing, "query.version");
    const raw = await openBody(deps.keyring, { ...ref, version: v.version }, v);
    return c.text(raw, 200, {
      "Content-Type": contentTypeHeader(v.contentType),
      "ETag": etagOf(meta.modRevision),
      "X-Cassem-Version": String(v.version),
      "X-Cassem-Fingerprint": v.fingerprint,
    });
  });

  r.openapi(createRoute, async (c) => {
    const ref = c.req.valid("param");
    const body = c.req.valid("json");
    if (body.publish) demand(c, "element.publish", ref.app);
    const { value, revision } = await runTxn(
      deps,
      actorOf(c),
      `create element ${ref.key}`,
      (tx) => createElement(tx, deps.keyring, ref, body),
    );
    const meta = storedElement(ref, value.meta, revision);
    c.header("ETag", etagOf(revision));
    return c.json(await showVersion(c, deps, ref, meta, value.version), 201);
  });

  r.openapi(updateRoute, async (c) => {
    const ref = c.req.valid("param");
    const body = c.req.valid("json");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    if (body.publish) demand(c, "element.publish", ref.app);
    const { value, revision } = await runTxn(
      deps,
      actorOf(c),
      `add a version to element ${ref.key}`,
      (tx) => updateElement(tx, deps.keyring, ref, body, { ifMatch }),
    );
    const meta = storedElement(ref, value.meta, revision);
    c.header("ETag", etagOf(revision));
    return c.json(await showVersion(c, deps, ref, meta, value.version), 200);
  });

  r.openapi(deleteRoute, async (c) => {
    const ref = c.req.valid("param");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    await runTxn(
      deps,
      actorOf(c),
      `delete element ${ref.key}`,
      (tx) => deleteElement(tx, ref, { ifMatch }),
    );
    return c.json({ ok: true as const }, 200);
  });

  r.openapi(schemaRoute, async (c) => {
    const ref = c.req.valid("param");
    const body = c.req.valid("json");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    const { value, revision } = await runTxn(
      deps,
      actorOf(c),
      `set the schema of element ${ref.key}`,
      (tx) => setSchema(tx, ref, body.schema, body.remark, { ifMatch }),
    );
    c.header("ETag", etagOf(revision));
    const shown = showElement(storedElement(ref, value, revision));
    return c.json({ ...shown, schema: value.schema }, 200);
  });

  return r;
}
