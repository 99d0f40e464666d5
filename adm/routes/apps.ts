/**
 * Apps: `GET /api/apps` (paged, name-prefix filter), and
 * `GET|POST|PUT|DELETE /api/apps/{app}`. Creating an app binds its owner
 * as `owner`; `deprecated` makes everything below it read-only; deleting
 * an app removes everything below it in the same Txn.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  Account,
  AppId,
  appKey,
  AppRecord,
  appsPrefix,
  AppStatus,
  appTrees,
  RoleBindingRecord,
  roleKey,
  serveAppKey,
  ServeAppRecord,
  userKey,
  UserRecord,
} from "../../shared/config/mod.ts";
import { defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import { requireApp } from "../data/guards.ts";
import { readPage, readRecord, type Stored } from "../data/read.ts";
import { type AdmTxn, runTxn } from "../data/txn.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../errors.ts";
import { actorOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";
import { etagOf, parseIfMatch } from "../http/etag.ts";
import { validationHook } from "../http/validation.ts";
import {
  AppParams,
  errorResponses,
  IfMatchHeader,
  jsonBody,
  jsonResponse,
  OkSchema,
  pageOf,
  PageQuery,
} from "./_schemas.ts";

/** An app as the API shows it. */
export const AppSchema = z.object({
  id: AppId,
  description: z.string(),
  owner: Account,
  status: AppStatus,
  createdBy: z.string(),
  createdAt: z.string(),
  updatedBy: z.string(),
  updatedAt: z.string(),
  etag: z.string().openapi({ description: "Pass as If-Match to update only this revision" }),
}).openapi("App");

function show(s: Stored<AppRecord>): z.infer<typeof AppSchema> {
  const r = s.record;
  return {
    id: r.id,
    description: r.description,
    owner: r.owner,
    status: r.status,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    updatedBy: r.updatedBy,
    updatedAt: r.updatedAt,
    etag: etagOf(s.modRevision),
  };
}

const listApps = defineRoute({
  method: "get",
  path: "/",
  tags: ["apps"],
  summary: "List apps, paged, optionally by name prefix",
  permission: "authenticated",
  request: {
    query: PageQuery.extend({
      prefix: z.string().regex(/^[a-z0-9._-]{0,64}$/, {
        error: "must be 0 to 64 of a-z 0-9 . _ -",
      }).optional().openapi({ description: "Only apps whose id starts with this" }),
    }),
  },
  responses: { 200: jsonResponse(pageOf(AppSchema), "A page of apps"), ...errorResponses() },
});

const getApp = defineRoute({
  method: "get",
  path: "/{app}",
  tags: ["apps"],
  summary: "Get an app",
  permission: "app.read",
  request: { params: AppParams },
  responses: { 200: jsonResponse(AppSchema, "The app"), ...errorResponses(404) },
});

const CreateAppBody = z.strictObject({
  description: z.string().max(1024).default(""),
  owner: Account.optional().openapi({ description: "Default: the caller" }),
});

const createApp = defineRoute({
  method: "post",
  path: "/{app}",
  tags: ["apps"],
  summary: "Create an app (admin); its owner is bound as owner",
  permission: "admin",
  request: { params: AppParams, body: jsonBody(CreateAppBody) },
  responses: { 201: jsonResponse(AppSchema, "The new app"), ...errorResponses(409) },
});

const UpdateAppBody = z.strictObject({
  description: z.string().max(1024).optional(),
  owner: Account.optional(),
  status: AppStatus.optional().openapi({ description: "deprecated: read-only" }),
});

const updateApp = defineRoute({
  method: "put",
  path: "/{app}",
  tags: ["apps"],
  summary: "Update an app's description, owner or status",
  permission: "app.write",
  request: { params: AppParams, headers: IfMatchHeader, body: jsonBody(UpdateAppBody) },
  responses: { 200: jsonResponse(AppSchema, "The app"), ...errorResponses(404, 409, 412) },
});

const deleteApp = defineRoute({
  method: "delete",
  path: "/{app}",
  tags: ["apps"],
  summary: "Delete an app and everything below it",
  permission: "app.delete",
  request: { params: AppParams, headers: IfMatchHeader },
  responses: { 200: jsonResponse(OkSchema, "Deleted"), ...errorResponses(404, 412) },
});

/** The app routes, mounted at `/api/apps`. */
export function appsRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });

  r.openapi(listApps, async (c) => {
    const { limit, seek, prefix } = c.req.valid("query");
    if (seek !== undefined && seek !== "" && !AppId.safeParse(seek).success) {
      throw new BadRequestError(`Cannot accept query.seek as it must be an app id`, {
        field: "query.seek",
      });
    }
    const page = await readPage(deps.db, AppRecord, appsPrefix() + (prefix ?? ""), {
      seek: seek ? appKey(seek) : undefined,
      limit,
    });
    const items = page.items.map(show);
    return c.json({ items, next: page.nextKey ? items.at(-1)?.id ?? null : null }, 200);
  });

  r.openapi(getApp, async (c) => {
    const { app } = c.req.valid("param");
    const s = await readRecord(deps.db, AppRecord, appKey(app));
    if (!s) throw new NotFoundError(`Cannot get app ${app} as it does not exist`);
    c.header("ETag", etagOf(s.modRevision));
    return c.json(show(s), 200);
  });

  r.openapi(createApp, async (c) => {
    const { app } = c.req.valid("param");
    const body = c.req.valid("json");
    const actor = actorOf(c);
    const owner = body.owner ?? actor.operator;
    const { value, revision } = await runTxn(deps, actor, `create app ${app}`, async (tx) => {
      if (await tx.read(AppRecord, appKey(app))) {
        throw new ConflictError(`Cannot create app ${app} as it already exists`);
      }
      await requireOwner(tx, owner);
      const record: AppRecord = {
        id: app,
        description: body.description,
        owner,
        status: "active",
        createdBy: actor.operator,
        createdAt: tx.time,
        updatedBy: actor.operator,
        updatedAt: tx.time,
      };
      tx.put(AppRecord, appKey(app), record);
      tx.put(ServeAppRecord, serveAppKey(app), { app, status: "active" });
      await grantOwner(tx, app, owner, actor.operator);
      tx.log({ operation: "app.create", app, target: `apps/${app}`, detail: { owner } });
      return record;
    });
    c.header("ETag", etagOf(revision));
    return c.json(show({ record: value, modRevision: revision, key: appKey(app) }), 201);
  });

  r.openapi(updateApp, async (c) => {
    const { app } = c.req.valid("param");
    const body = c.req.valid("json");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    const actor = actorOf(c);
    const { value, revision } = await runTxn(deps, actor, `update app ${app}`, async (tx) => {
      const cur = await requireApp(tx, app, { ifMatch });
      const was = cur.record;
      const changesMore =
        (body.description !== undefined && body.description !== was.description) ||
        (body.owner !== undefined && body.owner !== was.owner);
      // Deprecated is read-only: only the status itself may change back.
      if (
        was.status === "deprecated" && (body.status ?? was.status) === "deprecated" && changesMore
      ) {
        throw new ConflictError(
          `Cannot update app ${app} as it is read-only: current status is deprecated`,
        );
      }
      const next: AppRecord = {
        ...was,
        description: body.description ?? was.description,
        owner: body.owner ?? was.owner,
        status: body.status ?? was.status,
        updatedBy: actor.operator,
        updatedAt: tx.time,
      };
      if (next.owner !== was.owner) {
        await requireOwner(tx, next.owner);
        await grantOwner(tx, app, next.owner, actor.operator);
      }
      tx.put(AppRecord, cur.key, next);
      if (next.status !== was.status) {
        tx.put(ServeAppRecord, serveAppKey(app), { app, status: next.status });
      }
      tx.log({
        operation: "app.update",
        app,
        target: `apps/${app}`,
        detail: {
          ...(next.status !== was.status ? { status: next.status } : {}),
          ...(next.owner !== was.owner ? { owner: next.owner } : {}),
          ...(next.description !== was.description ? { description: true } : {}),
        },
      });
      return next;
    });
    c.header("ETag", etagOf(revision));
    return c.json(show({ record: value, modRevision: revision, key: appKey(app) }), 200);
  });

  r.openapi(deleteApp, async (c) => {
    const { app } = c.req.valid("param");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    await runTxn(deps, actorOf(c), `delete app ${app}`, async (tx) => {
      const cur = await requireApp(tx, app, { ifMatch });
      await tx.remove(cur.key);
      await tx.removeTrees(appTrees(app));
      tx.log({ operation: "app.delete", app, target: `apps/${app}` });
    });
    return c.json({ ok: true as const }, 200);
  });

  return r;
}

/** The owner of an app must be a user. */
async function requireOwner(tx: AdmTxn, owner: string): Promise<void> {
  const user = await tx.read(UserRecord, userKey(owner));
  if (!user) {
    throw new BadRequestError(`Cannot make ${owner} the owner as no such user exists`, {
      field: "body.owner",
    });
  }
}

/** Adds the `owner` role to `account`'s binding on `app`. */
async function grantOwner(tx: AdmTxn, app: string, account: string, by: string): Promise<void> {
  const key = roleKey(app, account);
  const cur = await tx.read(RoleBindingRecord, key);
  if (cur?.record.roles.includes("owner")) return;
  tx.put(RoleBindingRecord, key, {
    app,
    account,
    roles: [...(cur?.record.roles ?? []), "owner"],
    grantedBy: by,
    grantedAt: tx.time,
  });
}
