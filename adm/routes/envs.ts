/**
 * Envs of an app: `GET /api/apps/{app}/envs`,
 * `GET|POST|PUT|DELETE /api/apps/{app}/envs/{env}`, and the env's client
 * secret: `POST .../client-secret` generates or rotates it (shown once, in
 * that answer only; cassemdb holds its SHA-256), `DELETE .../client-secret`
 * clears it. The served env record agents read (`serveEnvKey`) changes in
 * the same Txn, so agents start or stop asking for the secret at once.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  appKey,
  AppRecord,
  envKey,
  EnvRecord,
  envsPrefix,
  envTrees,
  hashSecret,
  newSecret,
  serveEnvKey,
  ServeEnvRecord,
} from "../../shared/config/mod.ts";
import { defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import { requireActiveApp, requireEnv } from "../data/guards.ts";
import { readAll, readRecord, type Stored } from "../data/read.ts";
import { type AdmTxn, runTxn } from "../data/txn.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { actorOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";
import { etagOf, parseIfMatch } from "../http/etag.ts";
import { validationHook } from "../http/validation.ts";
import {
  AppParams,
  EnvParams,
  errorResponses,
  IfMatchHeader,
  jsonBody,
  jsonResponse,
  OkSchema,
} from "./_schemas.ts";

/** An env as the API shows it (never the secret or its hash). */
export const EnvSchema = z.object({
  app: z.string(),
  env: z.string(),
  description: z.string(),
  requireApproval: z.boolean().openapi({
    description: "A publish becomes a request another releaser approves",
  }),
  hasClientSecret: z.boolean().openapi({
    description: "Agents serve this env only to clients that present the secret",
  }),
  clientSecretUpdatedAt: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedBy: z.string(),
  updatedAt: z.string(),
  etag: z.string(),
}).openapi("Env");

const EnvWithSecret = EnvSchema.extend({
  clientSecret: z.string().optional().openapi({
    description: "The new client secret: shown once, never again",
  }),
}).openapi("EnvWithSecret");

function show(s: Stored<EnvRecord>): z.infer<typeof EnvSchema> {
  const r = s.record;
  return {
    app: r.app,
    env: r.env,
    description: r.description,
    requireApproval: r.requireApproval,
    hasClientSecret: r.clientSecretHash !== null,
    clientSecretUpdatedAt: r.clientSecretUpdatedAt,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    updatedBy: r.updatedBy,
    updatedAt: r.updatedAt,
    etag: etagOf(s.modRevision),
  };
}

const listEnvs = defineRoute({
  method: "get",
  path: "/",
  tags: ["envs"],
  summary: "List the envs of an app",
  permission: "app.read",
  request: { params: AppParams },
  responses: {
    200: jsonResponse(z.object({ items: z.array(EnvSchema) }), "The envs"),
    ...errorResponses(404),
  },
});

const getEnv = defineRoute({
  method: "get",
  path: "/{env}",
  tags: ["envs"],
  summary: "Get an env",
  permission: "app.read",
  request: { params: EnvParams },
  responses: { 200: jsonResponse(EnvSchema, "The env"), ...errorResponses(404) },
});

const CreateEnvBody = z.strictObject({
  description: z.string().max(1024).default(""),
  requireApproval: z.boolean().default(false),
  clientSecret: z.boolean().default(false).openapi({
    description: "Generate a client secret now (shown once in the answer)",
  }),
});

const createEnv = defineRoute({
  method: "post",
  path: "/{env}",
  tags: ["envs"],
  summary: "Create an env",
  permission: "env.write",
  request: { params: EnvParams, body: jsonBody(CreateEnvBody) },
  responses: { 201: jsonResponse(EnvWithSecret, "The new env"), ...errorResponses(404, 409) },
});

const UpdateEnvBody = z.strictObject({
  description: z.string().max(1024).optional(),
  requireApproval: z.boolean().optional(),
});

const updateEnv = defineRoute({
  method: "put",
  path: "/{env}",
  tags: ["envs"],
  summary: "Change an env's description or whether publishing needs approval",
  permission: "env.write",
  request: { params: EnvParams, headers: IfMatchHeader, body: jsonBody(UpdateEnvBody) },
  responses: { 200: jsonResponse(EnvSchema, "The env"), ...errorResponses(404, 409, 412) },
});

const deleteEnv = defineRoute({
  method: "delete",
  path: "/{env}",
  tags: ["envs"],
  summary: "Delete an env and every element in it",
  permission: "env.write",
  request: { params: EnvParams, headers: IfMatchHeader },
  responses: { 200: jsonResponse(OkSchema, "Deleted"), ...errorResponses(404, 409, 412) },
});

const rotateSecret = defineRoute({
  method: "post",
  path: "/{env}/client-secret",
  tags: ["envs"],
  summary: "Generate or rotate the env's client secret (shown once)",
  permission: "env.write",
  request: { params: EnvParams },
  responses: {
    200: jsonResponse(EnvWithSecret.required({ clientSecret: true }), "The new secret"),
    ...errorResponses(404, 409),
  },
});

const clearSecret = defineRoute({
  method: "delete",
  path: "/{env}/client-secret",
  tags: ["envs"],
  summary: "Clear the env's client secret: clients need none",
  permission: "env.write",
  request: { params: EnvParams },
  responses: { 200: jsonResponse(EnvSchema, "The env"), ...errorResponses(404, 409) },
});

/** Stages the env record and its served twin. */
function putEnv(tx: AdmTxn, record: EnvRecord): void {
  tx.put(EnvRecord, envKey(record.app, record.env), record);
  tx.put(ServeEnvRecord, serveEnvKey(record.app, record.env), {
    app: record.app,
    env: record.env,
    clientSecretHash: record.clientSecretHash,
  });
}

/** The env routes, mounted at `/api/apps/:app/envs`. */
export function envsRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });

  r.openapi(listEnvs, async (c) => {
    const { app } = c.req.valid("param");
    const [owner, items] = await Promise.all([
      readRecord(deps.db, AppRecord, appKey(app)),
      readAll(deps.db, EnvRecord, envsPrefix(app)),
    ]);
    if (!owner) throw new NotFoundError(`Cannot list the envs of app ${app} as it does not exist`);
    return c.json({ items: items.map(show) }, 200);
  });

  r.openapi(getEnv, async (c) => {
    const { app, env } = c.req.valid("param");
    const s = await readRecord(deps.db, EnvRecord, envKey(app, env));
    if (!s) throw new NotFoundError(`Cannot get env ${env} of app ${app} as it does not exist`);
    c.header("ETag", etagOf(s.modRevision));
    return c.json(show(s), 200);
  });

  r.openapi(createEnv, async (c) => {
    const { app, env } = c.req.valid("param");
    const body = c.req.valid("json");
    const actor = actorOf(c);
    const secret = body.clientSecret ? newSecret() : undefined;
    const secretHash = secret === undefined ? null : await hashSecret(secret);
    const { value, revision } = await runTxn(deps, actor, `create env ${env}`, async (tx) => {
      await requireActiveApp(tx, app, `create env ${env}`);
      if (await tx.read(EnvRecord, envKey(app, env))) {
        throw new ConflictError(`Cannot create env ${env} of app ${app} as it already exists`);
      }
      const record: EnvRecord = {
        app,
        env,
        description: body.description,
        requireApproval: body.requireApproval,
        clientSecretHash: secretHash,
        clientSecretUpdatedAt: secretHash === null ? null : tx.time,
        createdBy: actor.operator,
        createdAt: tx.time,
        updatedBy: actor.operator,
        updatedAt: tx.time,
      };
      putEnv(tx, record);
      tx.log({
        operation: "env.create",
        app,
        env,
        target: `apps/${app}/envs/${env}`,
        detail: { requireApproval: body.requireApproval, clientSecret: secret !== undefined },
      });
      return record;
    });
    c.header("ETag", etagOf(revision));
    const shown = show({ record: value, modRevision: revision, key: envKey(app, env) });
    return c.json(secret === undefined ? shown : { ...shown, clientSecret: secret }, 201);
  });

  r.openapi(updateEnv, async (c) => {
    const { app, env } = c.req.valid("param");
    const body = c.req.valid("json");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    const actor = actorOf(c);
    const { value, revision } = await runTxn(deps, actor, `update env ${env}`, async (tx) => {
      await requireActiveApp(tx, app, `update env ${env}`);
      const cur = await requireEnv(tx, app, env, { ifMatch });
      const next: EnvRecord = {
        ...cur.record,
        description: body.description ?? cur.record.description,
        requireApproval: body.requireApproval ?? cur.record.requireApproval,
        updatedBy: actor.operator,
        updatedAt: tx.time,
      };
      tx.put(EnvRecord, cur.key, next);
      tx.log({
        operation: "env.update",
        app,
        env,
        target: `apps/${app}/envs/${env}`,
        detail: { requireApproval: next.requireApproval },
      });
      return next;
    });
    c.header("ETag", etagOf(revision));
    return c.json(show({ record: value, modRevision: revision, key: envKey(app, env) }), 200);
  });

  r.openapi(deleteEnv, async (c) => {
    const { app, env } = c.req.valid("param");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    await runTxn(deps, actorOf(c), `delete env ${env}`, async (tx) => {
      await requireActiveApp(tx, app, `delete env ${env}`);
      const cur = await requireEnv(tx, app, env, { ifMatch });
      await tx.remove(cur.key);
      await tx.removeTrees(envTrees(app, env));
      tx.log({ operation: "env.delete", app, env, target: `apps/${app}/envs/${env}` });
    });
    return c.json({ ok: true as const }, 200);
  });

  r.openapi(rotateSecret, async (c) => {
    const { app, env } = c.req.valid("param");
    const actor = actorOf(c);
    const secret = newSecret();
    const secretHash = await hashSecret(secret);
    const { value, revision } = await runTxn(
      deps,
      actor,
      `rotate the client secret of ${env}`,
      async (tx) => {
        await requireActiveApp(tx, app, `rotate the client secret of env ${env}`);
        const cur = await requireEnv(tx, app, env);
        const next: EnvRecord = {
          ...cur.record,
          clientSecretHash: secretHash,
          clientSecretUpdatedAt: tx.time,
          updatedBy: actor.operator,
          updatedAt: tx.time,
        };
        putEnv(tx, next);
        tx.log({
          operation: "env.secret.rotate",
          app,
          env,
          target: `apps/${app}/envs/${env}`,
          detail: { replaced: cur.record.clientSecretHash !== null },
        });
        return next;
      },
    );
    const shown = show({ record: value, modRevision: revision, key: envKey(app, env) });
    return c.json({ ...shown, clientSecret: secret }, 200);
  });

  r.openapi(clearSecret, async (c) => {
    const { app, env } = c.req.valid("param");
    const actor = actorOf(c);
    // Nothing to clear: the env as read, with its own revision (the Txn wrote nothing).
    let unchangedAt = 0;
    const { value, revision } = await runTxn(
      deps,
      actor,
      `clear the client secret of ${env}`,
      async (tx) => {
        await requireActiveApp(tx, app, `clear the client secret of env ${env}`);
        const cur = await requireEnv(tx, app, env);
        unchangedAt = cur.modRevision;
        if (cur.record.clientSecretHash === null) return cur.record;
        const next: EnvRecord = {
          ...cur.record,
          clientSecretHash: null,
          clientSecretUpdatedAt: tx.time,
          updatedBy: actor.operator,
          updatedAt: tx.time,
        };
        putEnv(tx, next);
        tx.log({ operation: "env.secret.clear", app, env, target: `apps/${app}/envs/${env}` });
        return next;
      },
    );
    const rev = revision || unchangedAt;
    return c.json(show({ record: value, modRevision: rev, key: envKey(app, env) }), 200);
  });

  return r;
}
