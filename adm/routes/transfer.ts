/**
 * Environment sync, under `/api/apps/{app}/envs/{env}`:
 *
 * - `GET /export` answers every element of the env with its live and
 *   latest versions as one JSON bundle; secret elements are masked unless
 *   `?secrets=true`, which needs `secret.read`;
 * - `POST /import` applies a bundle (from the same env, another, or another
 *   app's) element by element and answers what it did to each;
 *   `?dryRun=true` answers the same without writing (see
 *   `elements/import_ops.ts`). An import that makes a version live needs
 *   `element.publish` besides `element.write`.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import { envKey, EnvRecord } from "../../shared/config/mod.ts";
import { defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import { readRecord } from "../data/read.ts";
import { AdmTxn, runTxn } from "../data/txn.ts";
import {
  Bundle,
  checkBundle,
  exportEnv,
  importElement,
  type ImportItem,
  requireKeyring,
} from "../elements/mod.ts";
import { NotFoundError } from "../errors.ts";
import { actorOf, principalOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";
import { validationHook } from "../http/validation.ts";
import { operatorOf } from "../auth/principal.ts";
import { demand } from "./_element_access.ts";
import { EnvParams, errorResponses, jsonBody, jsonResponse } from "./_schemas.ts";

const TAGS = ["import/export"];

const Flag = z.enum(["true", "false"]).default("false");

const exportRoute = defineRoute({
  method: "get",
  path: "/export",
  tags: TAGS,
  summary: "Every element with its live and latest versions, as one bundle",
  permission: "element.read",
  request: {
    params: EnvParams,
    query: z.object({
      secrets: Flag.openapi({ description: "Include secret raws (needs secret.read)" }),
    }),
  },
  responses: { 200: jsonResponse(Bundle, "The bundle"), ...errorResponses(404, 409) },
});

const ImportItemSchema = z.object({
  key: z.string(),
  action: z.enum(["create", "update", "unchanged", "conflict"]),
  reason: z.string().nullable(),
  addedVersions: z.array(z.number().int()),
  published: z.number().int().nullable(),
  schemaChanged: z.boolean(),
}).openapi("ImportItem");

const ImportResult = z.object({
  dryRun: z.boolean(),
  from: z.object({ app: z.string(), env: z.string() }),
  to: z.object({ app: z.string(), env: z.string() }),
  items: z.array(ImportItemSchema),
  summary: z.record(z.string(), z.number().int()),
}).openapi("ImportResult");

const importRoute = defineRoute({
  method: "post",
  path: "/import",
  tags: TAGS,
  summary:
    "Apply a bundle to this env, element by element (?dryRun=true: only say what it would do)",
  permission: "element.write",
  request: {
    params: EnvParams,
    query: z.object({ dryRun: Flag.openapi({ description: "Answer the change, write nothing" }) }),
    body: jsonBody(Bundle),
  },
  responses: {
    200: jsonResponse(ImportResult, "What was (or would be) done to each element"),
    ...errorResponses(404, 409, 413, 422),
  },
});

function summarize(items: ImportItem[]): Record<string, number> {
  const out: Record<string, number> = { create: 0, update: 0, unchanged: 0, conflict: 0 };
  for (const i of items) out[i.action] = (out[i.action] ?? 0) + 1;
  return out;
}

/** The import/export routes, mounted at `/api/apps/:app/envs/:env`. */
export function transferRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });

  r.openapi(exportRoute, async (c) => {
    const { app, env } = c.req.valid("param");
    const secrets = c.req.valid("query").secrets === "true";
    if (secrets) {
      demand(c, "secret.read", app);
      requireKeyring(deps.keyring, "export secrets");
    }
    if (!await readRecord(deps.db, EnvRecord, envKey(app, env))) {
      throw new NotFoundError(`Cannot export env ${env} of app ${app} as it does not exist`);
    }
    const bundle = await exportEnv(deps.db, app, env, {
      secrets,
      keyring: deps.keyring,
      exportedBy: operatorOf(principalOf(c)),
      exportedAt: new Date(deps.clock()).toISOString(),
    });
    return c.json(bundle, 200);
  });

  r.openapi(importRoute, async (c) => {
    const { app, env } = c.req.valid("param");
    const dryRun = c.req.valid("query").dryRun === "true";
    const bundle = c.req.valid("json");
    checkBundle(bundle);
    if (!await readRecord(deps.db, EnvRecord, envKey(app, env))) {
      throw new NotFoundError(`Cannot import into env ${env} of app ${app} as it does not exist`);
    }
    const actor = actorOf(c);
    const source = `${bundle.app}/${bundle.env}`;
    // The change, element by element, staged in Txns that are never committed.
    const planned: ImportItem[] = [];
    for (const el of bundle.elements) {
      const tx = new AdmTxn(deps, actor);
      planned.push(await importElement(tx, deps.keyring, { app, env, key: el.key }, el, source));
    }
    let items = planned;
    if (!dryRun) {
      if (planned.some((i) => i.published !== null)) demand(c, "element.publish", app);
      items = [];
      for (const el of bundle.elements) {
        const ref = { app, env, key: el.key };
        const { value } = await runTxn(
          deps,
          actor,
          `import element ${el.key}`,
          (tx) => importElement(tx, deps.keyring, ref, el, source),
        );
        items.push(value);
      }
    }
    return c.json({
      dryRun,
      from: { app: bundle.app, env: bundle.env },
      to: { app, env },
      items,
      summary: summarize(items),
    }, 200);
  });

  return r;
}
