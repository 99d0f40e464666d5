/**
 * User accounts, for admins: `GET /api/users`, and
 * `GET|POST|PUT /api/users/{account}` (add, change nickname, admin flag or
 * status: `disabled` users are refused at once on every adm copy and their
 * sessions end), `POST /api/users/{account}/password` (reset: every
 * session of the user ends).
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import { userKey, UserRecord, usersPrefix, UserStatus } from "../../shared/config/mod.ts";
import { hashPassword, passwordProblem } from "../auth/passwords.ts";
import { principalOf } from "../http/actor.ts";
import { defineRoute } from "../auth/route.ts";
import { stageEndSessions } from "../auth/sessions.ts";
import type { AdmDeps } from "../deps.ts";
import { requireUser } from "../data/guards.ts";
import { readPage, readRecord, type Stored } from "../data/read.ts";
import { runTxn } from "../data/txn.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../errors.ts";
import { actorOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";
import { etagOf, parseIfMatch } from "../http/etag.ts";
import { validationHook } from "../http/validation.ts";
import {
  errorResponses,
  IfMatchHeader,
  jsonBody,
  jsonResponse,
  nameParam,
  OkSchema,
  pageOf,
  PageQuery,
} from "./_schemas.ts";

/** A user as the API shows it (never the password hash). */
export const UserSchema = z.object({
  account: z.string(),
  nickname: z.string(),
  admin: z.boolean(),
  status: UserStatus,
  createdBy: z.string(),
  createdAt: z.string(),
  updatedBy: z.string(),
  updatedAt: z.string(),
  passwordChangedAt: z.string(),
  lastLoginAt: z.string().nullable(),
  etag: z.string(),
}).openapi("User");

const AccountParams = z.object({ account: nameParam("account", "account") });

function show(s: Stored<UserRecord>): z.infer<typeof UserSchema> {
  const r = s.record;
  return {
    account: r.account,
    nickname: r.nickname,
    admin: r.admin,
    status: r.status,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    updatedBy: r.updatedBy,
    updatedAt: r.updatedAt,
    passwordChangedAt: r.passwordChangedAt,
    lastLoginAt: r.lastLoginAt,
    etag: etagOf(s.modRevision),
  };
}

function checkPassword(password: string, field: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new BadRequestError(`Cannot accept ${field} as ${problem}`, { field });
}

const listUsers = defineRoute({
  method: "get",
  path: "/",
  tags: ["users"],
  summary: "List users, paged",
  permission: "admin",
  request: { query: PageQuery },
  responses: { 200: jsonResponse(pageOf(UserSchema), "A page of users"), ...errorResponses() },
});

const getUser = defineRoute({
  method: "get",
  path: "/{account}",
  tags: ["users"],
  summary: "Get a user",
  permission: "admin",
  request: { params: AccountParams },
  responses: { 200: jsonResponse(UserSchema, "The user"), ...errorResponses(404) },
});

const CreateUserBody = z.strictObject({
  password: z.string().max(1024),
  nickname: z.string().max(128).optional(),
  admin: z.boolean().default(false),
});

const createUser = defineRoute({
  method: "post",
  path: "/{account}",
  tags: ["users"],
  summary: "Add a user",
  permission: "admin",
  request: { params: AccountParams, body: jsonBody(CreateUserBody) },
  responses: { 201: jsonResponse(UserSchema, "The new user"), ...errorResponses(409) },
});

const UpdateUserBody = z.strictObject({
  nickname: z.string().max(128).optional(),
  admin: z.boolean().optional(),
  status: UserStatus.optional().openapi({ description: "disabled: refused at once everywhere" }),
});

const updateUser = defineRoute({
  method: "put",
  path: "/{account}",
  tags: ["users"],
  summary: "Change a user's nickname, admin flag or status (disable, enable)",
  permission: "admin",
  request: { params: AccountParams, headers: IfMatchHeader, body: jsonBody(UpdateUserBody) },
  responses: { 200: jsonResponse(UserSchema, "The user"), ...errorResponses(404, 409, 412) },
});

const ResetBody = z.strictObject({ password: z.string().max(1024) });

const resetPassword = defineRoute({
  method: "post",
  path: "/{account}/password",
  tags: ["users"],
  summary: "Reset a user's password; every session of the user ends",
  permission: "admin",
  request: { params: AccountParams, body: jsonBody(ResetBody) },
  responses: { 200: jsonResponse(OkSchema, "Reset"), ...errorResponses(404) },
});

/** The user routes, mounted at `/api/users`. */
export function usersRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });

  r.openapi(listUsers, async (c) => {
    const { limit, seek } = c.req.valid("query");
    const page = await readPage(deps.db, UserRecord, usersPrefix(), {
      seek: seek ? userKey(seek) : undefined,
      limit,
    });
    const items = page.items.map(show);
    return c.json({ items, next: page.nextKey ? items.at(-1)?.account ?? null : null }, 200);
  });

  r.openapi(getUser, async (c) => {
    const { account } = c.req.valid("param");
    const s = await readRecord(deps.db, UserRecord, userKey(account));
    if (!s) throw new NotFoundError(`Cannot get user ${account} as it does not exist`);
    c.header("ETag", etagOf(s.modRevision));
    return c.json(show(s), 200);
  });

  r.openapi(createUser, async (c) => {
    const { account } = c.req.valid("param");
    const body = c.req.valid("json");
    checkPassword(body.password, "body.password");
    const hash = await hashPassword(body.password, deps.config.passwordIterations);
    const actor = actorOf(c);
    const { value, revision } = await runTxn(deps, actor, `add user ${account}`, async (tx) => {
      if (await tx.read(UserRecord, userKey(account))) {
        throw new ConflictError(`Cannot add user ${account} as it already exists`);
      }
      const record: UserRecord = {
        account,
        nickname: body.nickname ?? account,
        password: hash,
        status: "normal",
        admin: body.admin,
        createdBy: actor.operator,
        createdAt: tx.time,
        updatedBy: actor.operator,
        updatedAt: tx.time,
        passwordChangedAt: tx.time,
        lastLoginAt: null,
      };
      tx.put(UserRecord, userKey(account), record);
      tx.log({
        operation: "user.create",
        target: `users/${account}`,
        detail: { admin: body.admin },
      });
      return record;
    });
    c.header("ETag", etagOf(revision));
    return c.json(show({ record: value, modRevision: revision, key: userKey(account) }), 201);
  });

  r.openapi(updateUser, async (c) => {
    const { account } = c.req.valid("param");
    const body = c.req.valid("json");
    const ifMatch = parseIfMatch(c.req.valid("header")["if-match"]);
    const actor = actorOf(c);
    const self = principalOf(c).kind === "user" && actor.operator === account;
    const { value, revision } = await runTxn(deps, actor, `update user ${account}`, async (tx) => {
      const cur = await requireUser(tx, account, { ifMatch });
      const was = cur.record;
      const next: UserRecord = {
        ...was,
        nickname: body.nickname ?? was.nickname,
        admin: body.admin ?? was.admin,
        status: body.status ?? was.status,
        updatedBy: actor.operator,
        updatedAt: tx.time,
      };
      // An admin cannot lock themselves out.
      if (self && (next.status !== "normal" || !next.admin)) {
        throw new ConflictError(
          `Cannot update user ${account} as admins cannot disable themselves or drop their own admin flag`,
        );
      }
      tx.put(UserRecord, cur.key, next);
      if (next.status === "disabled" && was.status !== "disabled") {
        await stageEndSessions(tx, account);
      }
      const operation = next.status !== was.status
        ? (next.status === "disabled" ? "user.disable" : "user.enable")
        : "user.update";
      tx.log({
        operation,
        target: `users/${account}`,
        detail: {
          ...(next.admin !== was.admin ? { admin: next.admin } : {}),
          ...(next.nickname !== was.nickname ? { nickname: next.nickname } : {}),
        },
      });
      return next;
    });
    c.header("ETag", etagOf(revision));
    return c.json(show({ record: value, modRevision: revision, key: userKey(account) }), 200);
  });

  r.openapi(resetPassword, async (c) => {
    const { account } = c.req.valid("param");
    const { password } = c.req.valid("json");
    checkPassword(password, "body.password");
    const hash = await hashPassword(password, deps.config.passwordIterations);
    const actor = actorOf(c);
    await runTxn(deps, actor, `reset the password of ${account}`, async (tx) => {
      const cur = await requireUser(tx, account);
      tx.put(UserRecord, cur.key, {
        ...cur.record,
        password: hash,
        passwordChangedAt: tx.time,
        updatedBy: actor.operator,
        updatedAt: tx.time,
      });
      await stageEndSessions(tx, account);
      tx.log({ operation: "user.password.reset", target: `users/${account}` });
    });
    return c.json({ ok: true as const }, 200);
  });

  return r;
}
