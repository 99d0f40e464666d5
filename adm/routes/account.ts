/**
 * The caller's own account: `POST /api/account/login` (`{ account,
 * password }` → `{ token, expiresAt }`), `POST /api/account/logout`,
 * `GET /api/account/me` and `PUT /api/account/password`.
 *
 * Login is rate limited per account across adm copies
 * (`auth/login_limit.ts`); an unknown account costs the same PBKDF2 work as
 * a known one and gets the same answer.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  Account,
  bootstrapKey,
  RoleSchema,
  sessionKey,
  userKey,
  UserRecord,
} from "../../shared/config/mod.ts";
import { clearLoginAttempts, countLoginAttempt } from "../auth/login_limit.ts";
import { DECOY_HASH, hashPassword, passwordProblem, verifyPassword } from "../auth/passwords.ts";
import { defineRoute } from "../auth/route.ts";
import { stageEndSessions, stageSession } from "../auth/sessions.ts";
import type { AdmDeps } from "../deps.ts";
import { requireUser } from "../data/guards.ts";
import { readRecord } from "../data/read.ts";
import { runTxn } from "../data/txn.ts";
import { BadRequestError, ForbiddenError, UnauthorizedError, UnavailableError } from "../errors.ts";
import { actorOf, principalOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";
import { validationHook } from "../http/validation.ts";
import { errorResponses, jsonBody, jsonResponse, OkSchema } from "./_schemas.ts";

const LoginBody = z.strictObject({
  account: z.string().min(1).max(128).openapi({ example: "admin" }),
  password: z.string().min(1).max(1024),
}).openapi("LoginRequest");

const SessionSchema = z.object({
  token: z.string().openapi({ description: "Send as Authorization: Bearer <token>" }),
  expiresAt: z.string(),
}).openapi("Session");

const login = defineRoute({
  method: "post",
  path: "/login",
  tags: ["account"],
  summary: "Log in: a session token for Authorization: Bearer",
  permission: "public",
  request: { body: jsonBody(LoginBody) },
  responses: { 200: jsonResponse(SessionSchema, "Logged in"), ...errorResponses(429) },
});

const logout = defineRoute({
  method: "post",
  path: "/logout",
  tags: ["account"],
  summary: "Log out: the session ends on every adm copy at once",
  permission: "user",
  responses: { 200: jsonResponse(OkSchema, "Logged out"), ...errorResponses() },
});

const MeSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("user"),
    account: Account,
    nickname: z.string(),
    admin: z.boolean(),
    lastLoginAt: z.string().nullable(),
  }),
  z.object({
    kind: z.literal("token"),
    id: z.string(),
    name: z.string(),
    app: z.string(),
    role: RoleSchema,
  }),
]).openapi("Me");

const me = defineRoute({
  method: "get",
  path: "/me",
  tags: ["account"],
  summary: "Who the caller is",
  permission: "authenticated",
  responses: { 200: jsonResponse(MeSchema, "The caller"), ...errorResponses() },
});

const PasswordBody = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().max(1024),
});

const changePassword = defineRoute({
  method: "put",
  path: "/password",
  tags: ["account"],
  summary: "Change your own password: every session ends, a new one is returned",
  permission: "user",
  request: { body: jsonBody(PasswordBody) },
  responses: { 200: jsonResponse(SessionSchema, "Changed"), ...errorResponses(429) },
});

function wrongCredentials(): UnauthorizedError {
  return new UnauthorizedError("Cannot log in as the account or the password is wrong");
}

/** The account routes, mounted at `/api/account`. */
export function accountRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });
  /** Whether the bootstrap record was seen: it is written once and never removed. */
  let bootstrapped = false;

  r.openapi(login, async (c) => {
    const { account, password } = c.req.valid("json");
    const known = Account.safeParse(account).success;
    // Until the first start has created the admin account (cassemdb only just became
    // reachable), no login can succeed: a 503 to retry, not a wrong password counted
    // toward the account's login limit.
    if (!bootstrapped) {
      bootstrapped = !!(await deps.db.get(bootstrapKey())).entity;
      if (!bootstrapped) {
        throw new UnavailableError(
          "Cannot log in as cassemadm has not created its first account yet: retry in a second",
        );
      }
    }
    // Count the attempt before checking anything, so that concurrent guesses
    // through several adm copies cannot get past the limit.
    if (known) await countLoginAttempt(deps, account);
    const stored = known ? await readRecord(deps.db, UserRecord, userKey(account)) : undefined;
    const ok = await verifyPassword(password, stored?.record.password ?? DECOY_HASH);
    if (!stored || !ok) throw wrongCredentials();
    if (stored.record.status !== "normal") {
      throw new UnauthorizedError(`Cannot log in as account ${account} is disabled`);
    }
    const actor = { operator: account, requestId: c.get("requestId") };
    const { value } = await runTxn(deps, actor, `log in ${account}`, async (tx) => {
      const user = await requireUser(tx, account);
      // The password may have changed (or the user been disabled) since it was checked.
      if (user.record.password.hash !== stored.record.password.hash) throw wrongCredentials();
      if (user.record.status !== "normal") {
        throw new UnauthorizedError(`Cannot log in as account ${account} is disabled`);
      }
      const session = await stageSession(tx, user, deps.config.sessionTtlSeconds);
      tx.log({
        operation: "user.login",
        target: `users/${account}`,
        detail: { session: session.expiresAt },
      });
      return session;
    });
    await clearLoginAttempts(deps, account);
    return c.json(value, 200);
  });

  r.openapi(logout, async (c) => {
    const p = principalOf(c);
    if (p.kind !== "user") {
      throw new ForbiddenError("Cannot log out as the caller is an API token: revoke it instead");
    }
    await runTxn(deps, actorOf(c), `log out ${p.account}`, async (tx) => {
      await tx.remove(sessionKey(p.account, p.sessionId));
      tx.log({ operation: "user.logout", target: `users/${p.account}` });
    });
    return c.json({ ok: true as const }, 200);
  });

  r.openapi(me, async (c) => {
    const p = principalOf(c);
    if (p.kind === "token") {
      return c.json(
        { kind: "token" as const, id: p.id, name: p.name, app: p.app, role: p.role },
        200,
      );
    }
    const s = await readRecord(deps.db, UserRecord, userKey(p.account));
    if (!s) throw new UnauthorizedError(`Cannot authenticate as account ${p.account} was removed`);
    return c.json({
      kind: "user" as const,
      account: s.record.account,
      nickname: s.record.nickname,
      admin: s.record.admin,
      lastLoginAt: s.record.lastLoginAt,
    }, 200);
  });

  r.openapi(changePassword, async (c) => {
    const p = principalOf(c);
    if (p.kind !== "user") throw new ForbiddenError("Cannot change a password as an API token");
    const { currentPassword, newPassword } = c.req.valid("json");
    const problem = passwordProblem(newPassword);
    if (problem) {
      throw new BadRequestError(`Cannot accept body.newPassword as ${problem}`, {
        field: "body.newPassword",
      });
    }
    // Guessing the current password through this route counts as logins do.
    await countLoginAttempt(deps, p.account);
    const stored = await readRecord(deps.db, UserRecord, userKey(p.account));
    if (!stored || !(await verifyPassword(currentPassword, stored.record.password))) {
      throw new BadRequestError("Cannot change the password as the current password is wrong", {
        field: "body.currentPassword",
      });
    }
    const hash = await hashPassword(newPassword, deps.config.passwordIterations);
    const { value } = await runTxn(
      deps,
      actorOf(c),
      `change the password of ${p.account}`,
      async (tx) => {
        const user = await requireUser(tx, p.account);
        if (user.record.password.hash !== stored.record.password.hash) {
          throw new BadRequestError("Cannot change the password as it changed meanwhile", {
            field: "body.currentPassword",
          });
        }
        await stageEndSessions(tx, p.account);
        const changed = {
          ...user,
          record: {
            ...user.record,
            password: hash,
            passwordChangedAt: tx.time,
            updatedAt: tx.time,
            updatedBy: p.account,
          },
        };
        const session = await stageSession(tx, changed, deps.config.sessionTtlSeconds);
        tx.log({ operation: "user.password.change", target: `users/${p.account}` });
        return session;
      },
    );
    await clearLoginAttempts(deps, p.account);
    return c.json(value, 200);
  });

  return r;
}
