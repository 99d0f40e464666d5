/**
 * The route × role matrix. It reads the OpenAPI document, so every route of
 * the app is covered, including routes added later; for every kind of
 * caller the route must answer 401/403 exactly when the expected table
 * below says so. Run in process on `MemoryDb` (`route_roles_test.ts`) and
 * on a real cassemdb node (`real_db_test.ts`).
 *
 * The expected table is written out here on purpose (not computed from
 * `ROLE_PERMISSIONS`): it is the specification the code is checked against.
 * "Allowed" means the permission check let the request through: the route
 * may still answer 400 (the probe sends an empty body) or 404, but never
 * 401 or 403. Each probe runs on a fresh harness, so an allowed DELETE
 * cannot change what the next probe sees.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Role } from "../../shared/config/mod.ts";
import type { KvClient } from "../../shared/db/mod.ts";
import type { TestAdm } from "../../adm/testing.ts";
import { PERMISSION_FIELD } from "../../adm/mod.ts";
import type { MakeAdm, Step } from "./_make_adm.ts";

/** Who may use a permission. */
export type Expected = "public" | "authenticated" | "user" | "admin" | { roles: Role[] };

const ALL: Role[] = ["viewer", "developer", "releaser", "owner"];

/** The specification: who may do what. */
export const EXPECTED: Record<string, Expected> = {
  public: "public",
  authenticated: "authenticated",
  user: "user",
  admin: "admin",
  "app.read": { roles: ALL },
  "element.read": { roles: ALL },
  "oplog.read": { roles: ALL },
  "element.write": { roles: ["developer", "owner"] },
  "secret.read": { roles: ["developer", "releaser", "owner"] },
  "element.publish": { roles: ["releaser", "owner"] },
  "element.approve": { roles: ["releaser", "owner"] },
  "app.write": { roles: ["owner"] },
  "app.delete": { roles: ["owner"] },
  "app.members": { roles: ["owner"] },
  "env.write": { roles: ["owner"] },
};

/** The kinds of callers probed. */
type Caller =
  | { kind: "anonymous" }
  | { kind: "admin" }
  | { kind: "user"; roles: Role[] } // roles on "shop"
  | { kind: "other-app-user" } // owner of "other" only
  | { kind: "token"; role: Role } // API token on "shop"
  | { kind: "other-app-token" }; // owner token of "other"

const CALLERS: Caller[] = [
  { kind: "anonymous" },
  { kind: "admin" },
  { kind: "user", roles: [] },
  ...ALL.map((r): Caller => ({ kind: "user", roles: [r] })),
  { kind: "user", roles: ["developer", "releaser"] },
  { kind: "other-app-user" },
  ...ALL.map((r): Caller => ({ kind: "token", role: r })),
  { kind: "other-app-token" },
];

function expectedAccess(e: Expected, c: Caller): "allowed" | 401 | 403 {
  if (e === "public") return "allowed";
  if (c.kind === "anonymous") return 401;
  if (e === "authenticated") return "allowed";
  if (e === "user") {
    return c.kind === "admin" || c.kind === "user" || c.kind === "other-app-user" ? "allowed" : 403;
  }
  if (e === "admin") return c.kind === "admin" ? "allowed" : 403;
  if (c.kind === "admin") return "allowed";
  if (c.kind === "user") return c.roles.some((r) => e.roles.includes(r)) ? "allowed" : 403;
  if (c.kind === "token") return e.roles.includes(c.role) ? "allowed" : 403;
  return 403;
}

const PARAMS: Record<string, string> = {
  app: "shop",
  env: "prod",
  key: "k",
  account: "someone",
  id: "0123456789abcdef0123456789abcdef",
};

async function tokenFor(t: TestAdm<KvClient>, c: Caller): Promise<string | undefined> {
  switch (c.kind) {
    case "anonymous":
      return undefined;
    case "admin":
      return t.adminToken;
    case "user":
      return await t.userWithRoles("probe", c.roles.length > 0 ? { shop: c.roles } : {});
    case "other-app-user":
      return await t.userWithRoles("probe", { other: ["owner"] });
    case "token":
      return await t.apiToken("shop", c.role);
    case "other-app-token":
      return await t.apiToken("other", "owner");
  }
}

function describe(c: Caller): string {
  if (c.kind === "user") return `user[${c.roles.join("+") || "no roles"}]`;
  if (c.kind === "token") return `token[${c.role}]`;
  return c.kind;
}

/**
 * Every route of the OpenAPI document × every caller of `CALLERS`, one step
 * per route: each probe on a fresh harness from `makeAdm` (so an allowed
 * DELETE cannot change what the next probe sees) is refused (401/403)
 * exactly when `EXPECTED` says, and never answered with a 5xx.
 */
export async function routeRoleMatrix(makeAdm: MakeAdm, step: Step): Promise<void> {
  const probe = await makeAdm();
  const doc = (await probe.request("GET", "/api/openapi.json")).body;
  const ops: [string, string, string][] = [];
  for (
    const [path, item] of Object.entries(
      doc.paths as Record<string, Record<string, Record<string, unknown>>>,
    )
  ) {
    for (const [method, op] of Object.entries(item)) {
      ops.push([method, path, op[PERMISSION_FIELD] as string]);
    }
  }
  let probes = 0;
  for (const [method, path, permission] of ops) {
    await step(`${method.toUpperCase()} ${path} (${permission})`, async () => {
      const expected = EXPECTED[permission]!;
      let url = path.replace(/\{(\w+)\}/g, (_, n: string) => PARAMS[n] ?? "1");
      if (typeof expected === "object" && !path.includes("{app}")) url += "?app=shop";
      for (const caller of CALLERS) {
        const t = await makeAdm();
        await t.createTestApp("shop");
        await t.createTestApp("other");
        const token = await tokenFor(t, caller);
        const hasBody = method === "post" || method === "put" || method === "patch";
        const r = await t.request(method.toUpperCase(), url, {
          token,
          body: hasBody ? {} : undefined,
        });
        const want = expectedAccess(expected, caller);
        const what = `${method.toUpperCase()} ${url} as ${describe(caller)}: ${r.status} ${
          JSON.stringify(r.body)
        }`;
        if (want === "allowed") {
          assert.ok(r.status !== 401 && r.status !== 403, `should be allowed: ${what}`);
        } else assert.equal(r.status, want, `should be ${want}: ${what}`);
        assert.ok(r.status < 500, `no 5xx: ${what}`);
        probes++;
      }
    });
  }
  assert.ok(probes >= ops.length * CALLERS.length);
}
