/**
 * Publish approval (four-eyes), under `/api/apps/{app}/envs/{env}/approvals`:
 *
 * - `GET /`: the pending requests of the env (publish, rollback or gray
 *   release start, one per element at most);
 * - `POST /{key}/approve` `{ id, remark? }`: a releaser other than the
 *   request's author approves it, which applies it (403 for the author);
 * - `POST /{key}/reject` `{ id, remark? }`: drops it (its author may
 *   withdraw it this way).
 *
 * `id` names the request being decided, so that a decision never lands on
 * another request filed in the meantime (409).
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import { ApprovalRecord, approvalsPrefix, envKey, EnvRecord } from "../../shared/config/mod.ts";
import { defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import { readAll, readRecord } from "../data/read.ts";
import { runTxn } from "../data/txn.ts";
import { approve, reject } from "../elements/mod.ts";
import { NotFoundError } from "../errors.ts";
import { actorOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";
import { etagOf } from "../http/etag.ts";
import { validationHook } from "../http/validation.ts";
import {
  ApprovalSchema,
  ElementParams,
  ElementSchema,
  Remark,
  showApproval,
  showElement,
  storedElement,
} from "./_element_schemas.ts";
import { EnvParams, errorResponses, jsonBody, jsonResponse } from "./_schemas.ts";

const TAGS = ["approvals"];

const listRoute = defineRoute({
  method: "get",
  path: "/",
  tags: TAGS,
  summary: "The pending publish requests of an env",
  permission: "element.read",
  request: { params: EnvParams },
  responses: {
    200: jsonResponse(z.object({ items: z.array(ApprovalSchema) }), "Pending requests"),
    ...errorResponses(404),
  },
});

const DecisionBody = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{16,64}$/, { error: "must be a request id (16 to 64 hex digits)" })
    .openapi({
      description: "The id of the request being decided",
    }),
  remark: Remark,
});

const approveRoute = defineRoute({
  method: "post",
  path: "/{key}/approve",
  tags: TAGS,
  summary: "Approve a request (not its author): it is applied",
  permission: "element.approve",
  request: { params: ElementParams, body: jsonBody(DecisionBody) },
  responses: {
    200: jsonResponse(
      z.object({ request: ApprovalSchema, element: ElementSchema }),
      "Applied",
    ),
    ...errorResponses(404, 409),
  },
});

const rejectRoute = defineRoute({
  method: "post",
  path: "/{key}/reject",
  tags: TAGS,
  summary: "Reject (or, as its author, withdraw) a request",
  permission: "element.approve",
  request: { params: ElementParams, body: jsonBody(DecisionBody) },
  responses: {
    200: jsonResponse(z.object({ request: ApprovalSchema }), "Rejected"),
    ...errorResponses(404, 409),
  },
});

/** The approval routes, mounted at `/api/apps/:app/envs/:env/approvals`. */
export function approvalsRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });

  r.openapi(listRoute, async (c) => {
    const { app, env } = c.req.valid("param");
    const [envRecord, items] = await Promise.all([
      readRecord(deps.db, EnvRecord, envKey(app, env)),
      readAll(deps.db, ApprovalRecord, approvalsPrefix(app, env)),
    ]);
    if (!envRecord) {
      throw new NotFoundError(
        `Cannot list the requests of env ${env} of app ${app} as it does not exist`,
      );
    }
    return c.json({ items: items.map((s) => showApproval(s.record)) }, 200);
  });

  r.openapi(approveRoute, async (c) => {
    const ref = c.req.valid("param");
    const body = c.req.valid("json");
    const { value, revision } = await runTxn(
      deps,
      actorOf(c),
      `approve request ${body.id}`,
      (tx) => approve(tx, ref, body.id, body.remark),
    );
    c.header("ETag", etagOf(revision));
    const meta = storedElement(ref, value.meta, revision);
    return c.json({ request: showApproval(value.request), element: showElement(meta) }, 200);
  });

  r.openapi(rejectRoute, async (c) => {
    const ref = c.req.valid("param");
    const body = c.req.valid("json");
    const { value } = await runTxn(
      deps,
      actorOf(c),
      `reject request ${body.id}`,
      (tx) => reject(tx, ref, body.id, body.remark),
    );
    return c.json({ request: showApproval(value) }, 200);
  });

  return r;
}
