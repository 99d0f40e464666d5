/**
 * Who holds which roles on an app: `GET /api/apps/{app}/members`,
 * `PUT /api/apps/{app}/members/{account}` (`{ roles }`: replaces the
 * account's roles) and `DELETE` (revokes them). Bindings are data in
 * cassemdb, read on every request, so a change applies at once on every adm
 * copy. The app's owner (its `owner` field) always keeps the `owner` role:
 * change the owner first.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import { RoleBindingRecord, roleKey, ROLES, rolesPrefix } from "../../shared/config/mod.ts";
import { defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import { requireActiveApp, requireApp } from "../data/guards.ts";
import { readAll, readRecord } from "../data/read.ts";
import { runTxn } from "../data/txn.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../errors.ts";
import { actorOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";
import { etagOf, parseIfMatch } from "../http/etag.ts";
import { validationHook } from "../http/validation.ts";
import { appKey, AppRecord, userKey, UserRecord } from "../../shared/config/mod.ts";
import {
  AppParams,
  errorResponses,
  IfMatchHeader,
  jsonBody,
  jsonResponse,
  nameParam,
  OkSchema,
} from "./_schemas.ts";

const RoleEnum = z.enum(ROLES);

/** A role binding as the API shows it. */
export const MemberSchema = z.object({
  account: z.string(),
  roles: z.array(RoleEnum),
  grantedBy: z.string(),
  grantedAt: z.string(),
  etag: z.string(),
}).openapi("Member");

const MemberParams = AppParams.extend({ account: nameParam("account", "account") });

const listMembers = defineRoute({
  method: "get",
  path: "/",
  tags: ["members"],
  summary: "List who holds which roles on the app",
  permission: "app.read",
  request: { params: AppParams },
  responses: {
    200: jsonResponse(z.object({ items: z.array(MemberSchema) }), "The members"),
    ...errorResponses(404),
  },
});

const SetRolesBody = z.strictObject({
  roles: z.array(RoleEnum).min(1).max(ROLES.length),
});

const setRoles = defineRoute({
  method: "put",
  path: "/{account}",
  tags: ["members"],
  summary: "Set an account's roles on the app (replaces them)",
  permission: "app.members",
  request: { params: MemberParams, headers: IfMatchHeader, body: jsonBody(SetRolesBody) },
  responses: { 200: jsonResponse(MemberSchema, "The binding"), ...errorResponses(404, 409, 412) },
});

const revokeRoles = defineRoute({
  method: "delete",
  path: "/{account}",
  tags: ["members"],
  summary: "Revoke every role of an account on the app",
  permission: "app.members",
  request: { params: MemberParams, headers: IfMatchHeader },
  responses: { 200: jsonResponse(OkSchema, "Revoked"), ...errorResponses(404, 409, 412) },
});

/** The member routes, mounted at `/api/apps/:app/members`. */
export function membersRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });

  r.openapi(listMembers, async (c) => {
    const { app } = c.req.valid("param");
    const [owner, items] = await Promise.all([
      readRecord(deps.db, AppRecord, appKey(app)),
      readAll(deps.db, RoleBindingRecord, rolesPrefix(app)),
    ]);
    if (!owner) {
      throw new NotFoundError(`Cannot list the members of app ${app} as it does not exist`);
    }
    return c.json({
      items: items.map((s) => ({
        account: s.record.account,
        roles: s.record.roles,
        grantedBy: s.record.grantedBy,
        grantedAt: s.record.grantedAt,
        etag: etagOf(s.modRevision),
      })),
    }, 200);
  });

  r.openapi(setRoles, async (c) => {
    const { app, account } = c.req.valid("param");
    const { roles } = c.req.valid("json");
    if (new Set(roles).size !== roles.length) {
      throw new BadRequestError(`Cannot accept body.roles as it repeats a role`, {
        field: "body.roles",
      });
    }
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    const actor = actorOf(c);
    const { value, revision } = await runTxn(
      deps,
      actor,
      `set the roles of ${account}`,
      async (tx) => {
        const a = await requireActiveApp(tx, app, `set the roles of ${account}`);
        if (!(await tx.read(UserRecord, userKey(account)))) {
          throw new NotFoundError(`Cannot give roles to ${account} as no such user exists`);
        }
        const cur = await tx.read(RoleBindingRecord, roleKey(app, account), { ifMatch });
        if (a.record.owner === account && !roles.includes("owner")) {
          throw new ConflictError(
            `Cannot drop the owner role of ${account} as it owns app ${app}: change the app's owner first`,
          );
        }
        const record: RoleBindingRecord = {
          app,
          account,
          roles,
          grantedBy: actor.operator,
          grantedAt: tx.time,
        };
        tx.put(RoleBindingRecord, roleKey(app, account), record);
        tx.log({
          operation: "role.grant",
          app,
          target: `apps/${app}/members/${account}`,
          detail: { roles: roles.join(","), previous: cur?.record.roles.join(",") ?? null },
        });
        return record;
      },
    );
    return c.json({ ...value, etag: etagOf(revision) }, 200);
  });

  r.openapi(revokeRoles, async (c) => {
    const { app, account } = c.req.valid("param");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    await runTxn(deps, actorOf(c), `revoke the roles of ${account}`, async (tx) => {
      // Allowed on a deprecated app too: taking access away is never blocked.
      const a = await requireApp(tx, app);
      if (a.record.owner === account) {
        throw new ConflictError(
          `Cannot revoke the roles of ${account} as it owns app ${app}: change the app's owner first`,
        );
      }
      const cur = await tx.require(
        RoleBindingRecord,
        roleKey(app, account),
        () => `Cannot revoke the roles of ${account} as it holds none on app ${app}`,
        { ifMatch },
      );
      await tx.remove(cur.key);
      tx.log({
        operation: "role.revoke",
        app,
        target: `apps/${app}/members/${account}`,
        detail: { previous: cur.record.roles.join(",") },
      });
    });
    return c.json({ ok: true as const }, 200);
  });

  return r;
}
