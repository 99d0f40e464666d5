/**
 * API tokens for automation (CI publishing config): created by an app
 * owner, scoped to one app and one role, shown once (cassemdb holds the
 * SHA-256 of their secret part), listed without it, revocable at once on
 * every adm copy. `GET|POST /api/apps/{app}/tokens`,
 * `DELETE /api/apps/{app}/tokens/{id}`.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  ApiTokenRecord,
  appKey,
  AppRecord,
  hashSecret,
  ROLES,
  tokenKey,
  tokensPrefix,
} from "../../shared/config/mod.ts";
import { defineRoute } from "../auth/route.ts";
import { newApiToken } from "../auth/tokens.ts";
import type { AdmDeps } from "../deps.ts";
import { requireActiveApp } from "../data/guards.ts";
import { readAll, readRecord, type Stored } from "../data/read.ts";
import { runTxn } from "../data/txn.ts";
import { NotFoundError } from "../errors.ts";
import { actorOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";
import { validationHook } from "../http/validation.ts";
import { AppParams, errorResponses, jsonBody, jsonResponse, OkSchema } from "./_schemas.ts";

/** A token as listed: never its secret or hash. */
export const TokenSchema = z.object({
  id: z.string(),
  app: z.string(),
  role: z.enum(ROLES),
  name: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
}).openapi("ApiToken");

const NewTokenSchema = TokenSchema.extend({
  token: z.string().openapi({ description: "Send as Authorization: Bearer <token>; shown once" }),
}).openapi("NewApiToken");

const TokenParams = AppParams.extend({
  id: z.string().regex(/^[0-9a-f]{32}$/, { error: "must be 32 lowercase hex digits" }).openapi({
    param: { name: "id", in: "path" },
  }),
});

function show(s: Stored<ApiTokenRecord>): z.infer<typeof TokenSchema> {
  const r = s.record;
  return {
    id: r.id,
    app: r.app,
    role: r.role,
    name: r.name,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
  };
}

const listTokens = defineRoute({
  method: "get",
  path: "/",
  tags: ["tokens"],
  summary: "List the app's API tokens (without their secrets)",
  permission: "app.members",
  request: { params: AppParams },
  responses: {
    200: jsonResponse(z.object({ items: z.array(TokenSchema) }), "The tokens"),
    ...errorResponses(404),
  },
});

const CreateTokenBody = z.strictObject({
  name: z.string().min(1).max(128),
  role: z.enum(ROLES),
  expiresInDays: z.number().int().min(1).max(3650).optional().openapi({
    description: "Default: never expires",
  }),
});

const createToken = defineRoute({
  method: "post",
  path: "/",
  tags: ["tokens"],
  summary: "Create an API token scoped to this app and one role (shown once)",
  permission: "app.members",
  request: { params: AppParams, body: jsonBody(CreateTokenBody) },
  responses: { 201: jsonResponse(NewTokenSchema, "The token"), ...errorResponses(404, 409) },
});

const revokeToken = defineRoute({
  method: "delete",
  path: "/{id}",
  tags: ["tokens"],
  summary: "Revoke an API token: refused at once on every adm copy",
  permission: "app.members",
  request: { params: TokenParams },
  responses: { 200: jsonResponse(OkSchema, "Revoked"), ...errorResponses(404) },
});

/** The API token routes, mounted at `/api/apps/:app/tokens`. */
export function tokensRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });

  r.openapi(listTokens, async (c) => {
    const { app } = c.req.valid("param");
    const [owner, items] = await Promise.all([
      readRecord(deps.db, AppRecord, appKey(app)),
      readAll(deps.db, ApiTokenRecord, tokensPrefix(app)),
    ]);
    if (!owner) {
      throw new NotFoundError(`Cannot list the tokens of app ${app} as it does not exist`);
    }
    return c.json({ items: items.map(show) }, 200);
  });

  r.openapi(createToken, async (c) => {
    const { app } = c.req.valid("param");
    const body = c.req.valid("json");
    const actor = actorOf(c);
    const { token, id, secret } = newApiToken(app);
    const secretHash = await hashSecret(secret);
    const { value } = await runTxn(deps, actor, `create an API token for ${app}`, async (tx) => {
      await requireActiveApp(tx, app, `create an API token`);
      const ttl = body.expiresInDays === undefined ? undefined : body.expiresInDays * 86_400;
      const record: ApiTokenRecord = {
        id,
        app,
        role: body.role,
        name: body.name,
        secretHash,
        createdBy: actor.operator,
        createdAt: tx.time,
        expiresAt: ttl === undefined ? null : new Date(tx.now + ttl * 1000).toISOString(),
      };
      tx.put(ApiTokenRecord, tokenKey(app, id), record, ttl === undefined ? {} : { ttl });
      tx.log({
        operation: "token.create",
        app,
        target: `apps/${app}/tokens/${id}`,
        detail: { role: body.role, name: body.name },
      });
      return record;
    });
    return c.json({ ...show({ record: value, modRevision: 0, key: "" }), token }, 201);
  });

  r.openapi(revokeToken, async (c) => {
    const { app, id } = c.req.valid("param");
    await runTxn(deps, actorOf(c), `revoke API token ${id}`, async (tx) => {
      const cur = await tx.require(
        ApiTokenRecord,
        tokenKey(app, id),
        () => `Cannot revoke API token ${id} of app ${app} as it does not exist`,
      );
      await tx.remove(cur.key);
      tx.log({
        operation: "token.revoke",
        app,
        target: `apps/${app}/tokens/${id}`,
        detail: { role: cur.record.role, name: cur.record.name },
      });
    });
    return c.json({ ok: true as const }, 200);
  });

  return r;
}
