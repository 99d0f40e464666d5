/**
 * Making versions live, under `/api/apps/{app}/envs/{env}/elements`:
 *
 * - `POST /{key}/publish` `{ version }`: make a newer version live;
 * - `POST /{key}/rollback` `{ version }`: make an earlier version live again
 *   (its own oplog operation, `element.rollback`);
 * - `POST /{key}/gray` `{ version, rule }`: a gray release to chosen client
 *   ids, a label selector or a percentage of clients (at most one per
 *   element); `GET /{key}/gray` shows it; `PUT /{key}/gray` `{ rule }`
 *   changes (widens) its rule; `POST /{key}/gray/promote` makes it live for
 *   everyone; `DELETE /{key}/gray` aborts it.
 *
 * Where the env requires approval, publish, rollback and gray start answer
 * 202 with the request they filed instead (see `elements/approvals.ts`).
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type ElementRecord, serveGrayKey, ServeGrayRecord } from "../../shared/config/mod.ts";
import { defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import { readRecord } from "../data/read.ts";
import { runTxn } from "../data/txn.ts";
import {
  abortGray,
  changeGrayRule,
  type ElementRef,
  promoteGray,
  readElement,
  release,
  type ReleaseAction,
} from "../elements/mod.ts";
import { NotFoundError } from "../errors.ts";
import { actorOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";
import { etagOf, parseIfMatch } from "../http/etag.ts";
import { validationHook } from "../http/validation.ts";
import {
  ElementParams,
  ElementSchema,
  GrayRuleBody,
  GraySchema,
  ReleasedSchema,
  Remark,
  showApproval,
  showElement,
  showGray,
  storedElement,
  VersionNumber,
} from "./_element_schemas.ts";
import { errorResponses, IfMatchHeader, jsonBody, jsonResponse } from "./_schemas.ts";

const TAGS = ["release"];

const VersionBody = z.strictObject({ version: VersionNumber, remark: Remark });

function releaseRoute(path: string, summary: string, body: z.ZodType) {
  return defineRoute({
    method: "post",
    path,
    tags: TAGS,
    summary,
    permission: "element.publish",
    request: { params: ElementParams, headers: IfMatchHeader, body: jsonBody(body) },
    responses: {
      200: jsonResponse(ReleasedSchema, "Applied"),
      202: jsonResponse(ReleasedSchema, "The env requires approval: a request was filed"),
      ...errorResponses(404, 409, 412),
    },
  });
}

const publishRoute = releaseRoute(
  "/{key}/publish",
  "Make a newer version live for everyone",
  VersionBody,
);
const rollbackRoute = releaseRoute(
  "/{key}/rollback",
  "Make an earlier version live again",
  VersionBody,
);
const GrayStartBody = z.strictObject({
  version: VersionNumber,
  rule: GrayRuleBody,
  remark: Remark,
});
const grayStartRoute = releaseRoute(
  "/{key}/gray",
  "Start a gray release of a version to some clients",
  GrayStartBody,
);

const grayGetRoute = defineRoute({
  method: "get",
  path: "/{key}/gray",
  tags: TAGS,
  summary: "The running gray release",
  permission: "element.read",
  request: { params: ElementParams },
  responses: { 200: jsonResponse(GraySchema, "The gray release"), ...errorResponses(404) },
});

const GrayRuleChangeBody = z.strictObject({ rule: GrayRuleBody, remark: Remark });

const grayUpdateRoute = defineRoute({
  method: "put",
  path: "/{key}/gray",
  tags: TAGS,
  summary: "Change the rule of the running gray release (e.g. widen it)",
  permission: "element.publish",
  request: { params: ElementParams, headers: IfMatchHeader, body: jsonBody(GrayRuleChangeBody) },
  responses: { 200: jsonResponse(ElementSchema, "The element"), ...errorResponses(404, 409, 412) },
});

const RemarkBody = z.strictObject({ remark: Remark });

const grayPromoteRoute = defineRoute({
  method: "post",
  path: "/{key}/gray/promote",
  tags: TAGS,
  summary: "Make the gray version live for everyone and end the gray release",
  permission: "element.publish",
  request: { params: ElementParams, headers: IfMatchHeader, body: jsonBody(RemarkBody) },
  responses: { 200: jsonResponse(ElementSchema, "The element"), ...errorResponses(404, 409, 412) },
});

const grayAbortRoute = defineRoute({
  method: "delete",
  path: "/{key}/gray",
  tags: TAGS,
  summary: "Abort the gray release: its clients go back to the live version",
  permission: "element.publish",
  request: { params: ElementParams, headers: IfMatchHeader },
  responses: { 200: jsonResponse(ElementSchema, "The element"), ...errorResponses(404, 409, 412) },
});

/** The release routes, mounted at `/api/apps/:app/envs/:env/elements`. */
export function elementReleaseRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });

  async function run(
    c: Context<AdmEnv>,
    ref: ElementRef,
    action: ReleaseAction,
    remark: string,
  ) {
    const ifMatch = parseIfMatch(c.req.header("If-Match"));
    const { value, revision } = await runTxn(
      deps,
      actorOf(c),
      `${action.kind} element ${ref.key}`,
      (tx) => release(tx, ref, action, remark, { ifMatch }),
    );
    if (!value.applied) {
      return c.json({ applied: false, element: null, request: showApproval(value.request) }, 202);
    }
    c.header("ETag", etagOf(revision));
    const meta = storedElement(ref, value.meta, revision);
    return c.json({ applied: true, element: showElement(meta), request: null }, 200);
  }

  r.openapi(publishRoute, (c) => {
    const body = c.req.valid("json") as z.infer<typeof VersionBody>;
    return run(c, c.req.valid("param"), { kind: "publish", version: body.version }, body.remark);
  });

  r.openapi(rollbackRoute, (c) => {
    const body = c.req.valid("json") as z.infer<typeof VersionBody>;
    return run(c, c.req.valid("param"), { kind: "rollback", version: body.version }, body.remark);
  });

  r.openapi(grayStartRoute, (c) => {
    const body = c.req.valid("json") as z.infer<typeof GrayStartBody>;
    return run(
      c,
      c.req.valid("param"),
      { kind: "gray", version: body.version, rule: body.rule },
      body.remark,
    );
  });

  r.openapi(grayGetRoute, async (c) => {
    const ref = c.req.valid("param");
    const meta = await readElement(deps.db, ref, `get the gray release of ${ref.key}`);
    const gray = await readRecord(
      deps.db,
      ServeGrayRecord,
      serveGrayKey(ref.app, ref.env, ref.key),
    );
    if (meta.record.grayVersion === null || !gray) {
      throw new NotFoundError(
        `Cannot get the gray release of element ${ref.key} as none runs: current gray version is none`,
      );
    }
    return c.json(showGray(gray.record, meta), 200);
  });

  function answer(c: Context<AdmEnv>, ref: ElementRef, record: ElementRecord, revision: number) {
    c.header("ETag", etagOf(revision));
    return c.json(showElement(storedElement(ref, record, revision)), 200);
  }

  r.openapi(grayUpdateRoute, async (c) => {
    const ref = c.req.valid("param");
    const body = c.req.valid("json");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    const { value, revision } = await runTxn(
      deps,
      actorOf(c),
      `change the gray rule of element ${ref.key}`,
      (tx) => changeGrayRule(tx, ref, body.rule, body.remark, { ifMatch }),
    );
    return answer(c, ref, value, revision);
  });

  r.openapi(grayPromoteRoute, async (c) => {
    const ref = c.req.valid("param");
    const body = c.req.valid("json");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    const { value, revision } = await runTxn(
      deps,
      actorOf(c),
      `promote the gray release of element ${ref.key}`,
      (tx) => promoteGray(tx, ref, body.remark, { ifMatch }),
    );
    return answer(c, ref, value, revision);
  });

  r.openapi(grayAbortRoute, async (c) => {
    const ref = c.req.valid("param");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    const { value, revision } = await runTxn(
      deps,
      actorOf(c),
      `abort the gray release of element ${ref.key}`,
      (tx) => abortGray(tx, ref, "", { ifMatch }),
    );
    return answer(c, ref, value, revision);
  });

  return r;
}
