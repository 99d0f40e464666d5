/**
 * `apps`, `envs`, `members` and `tokens`: the containers of configuration
 * and who may touch them (cassemadm's `/api/apps...` routes).
 *
 * @module
 */

import { seg } from "../adm_client.ts";
import { bool, type Command, type Ctx, type Parsed, str } from "../command.ts";
import { UsageError } from "../errors.ts";
import { dash, time } from "../output.ts";
import { appTarget, envTarget } from "../target.ts";

interface App {
  id: string;
  description: string;
  owner: string;
  status: string;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  etag: string;
}

interface Env {
  app: string;
  env: string;
  description: string;
  requireApproval: boolean;
  hasClientSecret: boolean;
  clientSecretUpdatedAt: string | null;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  etag: string;
  clientSecret?: string;
}

/**
 * Asks before a removal that takes everything below it: `--yes`, else a
 * prompt on a terminal where the name must be typed.
 * @throws {UsageError} without `--yes` when stdin is not a terminal, or when the answer differs.
 */
export async function confirmRemoval(
  ctx: Ctx,
  p: Parsed,
  what: string,
  name: string,
): Promise<void> {
  if (bool(p, "yes")) return;
  if (!ctx.io.stdinIsTty) {
    throw new UsageError(
      `Cannot remove ${what} without --yes as stdin is not a terminal to ask on`,
    );
  }
  const answer = await ctx.io.prompt(
    `This removes ${what} and everything in it. Type ${name} to go on: `,
  );
  if (answer.trim() !== name) {
    throw new UsageError(`Cannot remove ${what} as the answer was not ${name}`);
  }
}

const YES = { type: "boolean", short: "y", help: "do not ask" } as const;
const IF_MATCH = {
  type: "string",
  value: "ETAG",
  help: 'apply only if it is still at this ETag (as shown by get, e.g. "r42"), else exit 5',
} as const;

function showApp(ctx: Ctx, a: App): void {
  ctx.out.fields([
    ["app", a.id],
    ["description", dash(a.description)],
    ["owner", a.owner],
    ["status", a.status],
    ["created", `${time(a.createdAt)} by ${a.createdBy}`],
    ["updated", `${time(a.updatedAt)} by ${a.updatedBy}`],
    ["etag", a.etag],
  ], a);
}

function showEnv(ctx: Ctx, e: Env): void {
  ctx.out.fields([
    ["env", `${e.app}/${e.env}`],
    ["description", dash(e.description)],
    ["approval", e.requireApproval ? "required (four-eyes publish)" : "not required"],
    ["client secret", e.hasClientSecret ? `set (${time(e.clientSecretUpdatedAt)})` : "none"],
    ["created", `${time(e.createdAt)} by ${e.createdBy}`],
    ["updated", `${time(e.updatedAt)} by ${e.updatedBy}`],
    ["etag", e.etag],
  ], e);
}

function yesNo(p: Parsed, flag: string): boolean | undefined {
  const v = str(p, flag);
  if (v === undefined) return undefined;
  if (v === "yes" || v === "true") return true;
  if (v === "no" || v === "false") return false;
  throw new UsageError(
    `Cannot accept --${flag} as it must be yes or no: current value is ${JSON.stringify(v)}`,
  );
}

const appsLs: Command = {
  path: ["apps", "ls"],
  summary: "list apps",
  usage: "",
  flags: { prefix: { type: "string", value: "TEXT", help: "only apps whose id starts with it" } },
  arity: [0, 0],
  async run(ctx, p) {
    const apps = await (await ctx.adm()).all<App>("/api/apps", {
      query: { prefix: str(p, "prefix") },
    });
    ctx.out.table(apps, [
      { head: "APP", cell: (a) => a.id },
      { head: "STATUS", cell: (a) => a.status },
      { head: "OWNER", cell: (a) => a.owner },
      { head: "UPDATED", cell: (a) => time(a.updatedAt) },
      { head: "DESCRIPTION", cell: (a) => a.description },
    ], { empty: "No apps." });
  },
};

const appsGet: Command = {
  path: ["apps", "get"],
  summary: "show an app",
  usage: "APP",
  flags: {},
  arity: [1, 1],
  async run(ctx, p) {
    const app = appTarget(p.args[0], "apps get");
    showApp(ctx, await (await ctx.adm()).json<App>("GET", `/api/apps/${seg(app)}`));
  },
};

const appsCreate: Command = {
  path: ["apps", "create"],
  summary: "create an app (you own it unless --owner says who)",
  usage: "APP",
  flags: {
    description: { type: "string", value: "TEXT", help: "what it is" },
    owner: { type: "string", value: "ACCOUNT", help: "its owner (default: you)" },
  },
  arity: [1, 1],
  async run(ctx, p) {
    const app = appTarget(p.args[0], "apps create");
    const body = { description: str(p, "description"), owner: str(p, "owner") };
    const a = await (await ctx.adm()).json<App>("POST", `/api/apps/${seg(app)}`, { body });
    if (ctx.out.json) ctx.out.data(a);
    else ctx.out.line(`Created app ${a.id} (owner ${a.owner})`);
  },
};

const appsUpdate: Command = {
  path: ["apps", "update"],
  summary: "change an app's description, owner or status",
  usage: "APP",
  flags: {
    description: { type: "string", value: "TEXT", help: "what it is" },
    owner: { type: "string", value: "ACCOUNT", help: "its new owner" },
    status: { type: "string", value: "STATUS", help: "active, or deprecated (read-only)" },
    "if-match": IF_MATCH,
  },
  arity: [1, 1],
  async run(ctx, p) {
    const app = appTarget(p.args[0], "apps update");
    const body = {
      description: str(p, "description"),
      owner: str(p, "owner"),
      status: str(p, "status"),
    };
    if (Object.values(body).every((v) => v === undefined)) {
      throw new UsageError(
        "Cannot update the app as no change was given: pass --description, --owner or --status",
      );
    }
    const a = await (await ctx.adm()).json<App>("PUT", `/api/apps/${seg(app)}`, {
      body,
      ifMatch: str(p, "if-match"),
    });
    if (ctx.out.json) ctx.out.data(a);
    else ctx.out.line(`Updated app ${a.id}`);
  },
};

const appsRm: Command = {
  path: ["apps", "rm"],
  summary: "remove an app with its envs, elements, members and tokens",
  usage: "APP",
  flags: { yes: YES, "if-match": IF_MATCH },
  arity: [1, 1],
  async run(ctx, p) {
    const app = appTarget(p.args[0], "apps rm");
    await confirmRemoval(ctx, p, `app ${app}`, app);
    await (await ctx.adm()).json("DELETE", `/api/apps/${seg(app)}`, {
      ifMatch: str(p, "if-match"),
    });
    if (ctx.out.json) ctx.out.data({ removed: app });
    else ctx.out.line(`Removed app ${app}`);
  },
};

const envsLs: Command = {
  path: ["envs", "ls"],
  summary: "list an app's envs",
  usage: "APP",
  flags: {},
  arity: [1, 1],
  async run(ctx, p) {
    const app = appTarget(p.args[0], "envs ls");
    const { items } = await (await ctx.adm()).json<{ items: Env[] }>(
      "GET",
      `/api/apps/${seg(app)}/envs`,
    );
    ctx.out.table(items, [
      { head: "ENV", cell: (e) => e.env },
      { head: "APPROVAL", cell: (e) => (e.requireApproval ? "required" : "-") },
      { head: "CLIENT SECRET", cell: (e) => (e.hasClientSecret ? "set" : "-") },
      { head: "UPDATED", cell: (e) => time(e.updatedAt) },
      { head: "DESCRIPTION", cell: (e) => e.description },
    ], { json: { items }, empty: `App ${app} has no envs.` });
  },
};

const envsGet: Command = {
  path: ["envs", "get"],
  summary: "show an env",
  usage: "APP/ENV",
  flags: {},
  arity: [1, 1],
  async run(ctx, p) {
    const t = envTarget(p.args[0], "envs get");
    showEnv(
      ctx,
      await (await ctx.adm()).json<Env>("GET", `/api/apps/${seg(t.app)}/envs/${seg(t.env)}`),
    );
  },
};

function printSecret(ctx: Ctx, e: Env): void {
  if (e.clientSecret === undefined || ctx.out.json) return;
  ctx.out.line(`Client secret (shown once; clients send it as X-Cassem-Secret): ${e.clientSecret}`);
}

const envsCreate: Command = {
  path: ["envs", "create"],
  summary: "create an env",
  usage: "APP/ENV",
  flags: {
    description: { type: "string", value: "TEXT", help: "what it is" },
    "require-approval": { type: "boolean", help: "a publish needs a second releaser's approval" },
    "client-secret": {
      type: "boolean",
      help: "generate a client secret agents require (shown once)",
    },
  },
  arity: [1, 1],
  async run(ctx, p) {
    const t = envTarget(p.args[0], "envs create");
    const body = {
      description: str(p, "description"),
      requireApproval: bool(p, "require-approval"),
      clientSecret: bool(p, "client-secret"),
    };
    const e = await (await ctx.adm()).json<Env>(
      "POST",
      `/api/apps/${seg(t.app)}/envs/${seg(t.env)}`,
      {
        body,
      },
    );
    if (ctx.out.json) return ctx.out.data(e);
    ctx.out.line(`Created env ${e.app}/${e.env}`);
    printSecret(ctx, e);
  },
};

const envsUpdate: Command = {
  path: ["envs", "update"],
  summary: "change an env's description or approval rule",
  usage: "APP/ENV",
  flags: {
    description: { type: "string", value: "TEXT", help: "what it is" },
    "require-approval": {
      type: "string",
      value: "yes|no",
      help: "whether a publish needs approval",
    },
    "if-match": IF_MATCH,
  },
  arity: [1, 1],
  async run(ctx, p) {
    const t = envTarget(p.args[0], "envs update");
    const body = {
      description: str(p, "description"),
      requireApproval: yesNo(p, "require-approval"),
    };
    if (Object.values(body).every((v) => v === undefined)) {
      throw new UsageError(
        "Cannot update the env as no change was given: pass --description or --require-approval",
      );
    }
    const e = await (await ctx.adm()).json<Env>(
      "PUT",
      `/api/apps/${seg(t.app)}/envs/${seg(t.env)}`,
      {
        body,
        ifMatch: str(p, "if-match"),
      },
    );
    if (ctx.out.json) ctx.out.data(e);
    else ctx.out.line(`Updated env ${e.app}/${e.env}`);
  },
};

const envsRm: Command = {
  path: ["envs", "rm"],
  summary: "remove an env with its elements",
  usage: "APP/ENV",
  flags: { yes: YES, "if-match": IF_MATCH },
  arity: [1, 1],
  async run(ctx, p) {
    const t = envTarget(p.args[0], "envs rm");
    await confirmRemoval(ctx, p, `env ${t.app}/${t.env}`, `${t.app}/${t.env}`);
    await (await ctx.adm()).json("DELETE", `/api/apps/${seg(t.app)}/envs/${seg(t.env)}`, {
      ifMatch: str(p, "if-match"),
    });
    if (ctx.out.json) ctx.out.data({ removed: `${t.app}/${t.env}` });
    else ctx.out.line(`Removed env ${t.app}/${t.env}`);
  },
};

const envsSecret: Command = {
  path: ["envs", "secret"],
  summary: "generate (or rotate) an env's client secret, or --clear it",
  usage: "APP/ENV",
  details: "Rotating ends the push streams of clients that hold the old secret.",
  flags: { clear: { type: "boolean", help: "remove the secret: agents serve the env to anyone" } },
  arity: [1, 1],
  async run(ctx, p) {
    const t = envTarget(p.args[0], "envs secret");
    const path = `/api/apps/${seg(t.app)}/envs/${seg(t.env)}/client-secret`;
    const adm = await ctx.adm();
    if (bool(p, "clear")) {
      const e = await adm.json<Env>("DELETE", path);
      if (ctx.out.json) ctx.out.data(e);
      else ctx.out.line(`Cleared the client secret of ${t.app}/${t.env}`);
      return;
    }
    const e = await adm.json<Env>("POST", path);
    if (ctx.out.json) return ctx.out.data(e);
    ctx.out.line(`New client secret of ${t.app}/${t.env}:`);
    printSecret(ctx, e);
  },
};

interface Member {
  account: string;
  roles: string[];
  grantedBy: string;
  grantedAt: string;
}

const membersLs: Command = {
  path: ["members", "ls"],
  summary: "list who holds which roles on an app",
  usage: "APP",
  flags: {},
  arity: [1, 1],
  async run(ctx, p) {
    const app = appTarget(p.args[0], "members ls");
    const { items } = await (await ctx.adm()).json<{ items: Member[] }>(
      "GET",
      `/api/apps/${seg(app)}/members`,
    );
    ctx.out.table(items, [
      { head: "ACCOUNT", cell: (m) => m.account },
      { head: "ROLES", cell: (m) => m.roles.join(",") },
      { head: "GRANTED", cell: (m) => `${time(m.grantedAt)} by ${m.grantedBy}` },
    ], { json: { items }, empty: `App ${app} has no members.` });
  },
};

const membersSet: Command = {
  path: ["members", "set"],
  summary: "set an account's roles on an app (viewer, developer, releaser, owner)",
  usage: "APP ACCOUNT ROLE[,ROLE...]",
  flags: {},
  arity: [3, 3],
  async run(ctx, p) {
    const app = appTarget(p.args[0], "members set");
    const roles = p.args[2]!.split(",").map((r) => r.trim()).filter((r) => r !== "");
    await (await ctx.adm()).json("PUT", `/api/apps/${seg(app)}/members/${seg(p.args[1]!)}`, {
      body: { roles },
    });
    if (ctx.out.json) ctx.out.data({ app, account: p.args[1], roles });
    else ctx.out.line(`${p.args[1]} is ${roles.join(", ")} of ${app}`);
  },
};

const membersRm: Command = {
  path: ["members", "rm"],
  summary: "revoke every role of an account on an app",
  usage: "APP ACCOUNT",
  flags: {},
  arity: [2, 2],
  async run(ctx, p) {
    const app = appTarget(p.args[0], "members rm");
    await (await ctx.adm()).json("DELETE", `/api/apps/${seg(app)}/members/${seg(p.args[1]!)}`);
    if (ctx.out.json) ctx.out.data({ app, account: p.args[1], roles: [] });
    else ctx.out.line(`${p.args[1]} has no role on ${app} any more`);
  },
};

interface Token {
  id: string;
  app: string;
  role: string;
  name: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  token?: string;
}

const tokensLs: Command = {
  path: ["tokens", "ls"],
  summary: "list an app's API tokens (never their secrets)",
  usage: "APP",
  flags: {},
  arity: [1, 1],
  async run(ctx, p) {
    const app = appTarget(p.args[0], "tokens ls");
    const { items } = await (await ctx.adm()).json<{ items: Token[] }>(
      "GET",
      `/api/apps/${seg(app)}/tokens`,
    );
    ctx.out.table(items, [
      { head: "ID", cell: (t) => t.id },
      { head: "NAME", cell: (t) => t.name },
      { head: "ROLE", cell: (t) => t.role },
      { head: "CREATED", cell: (t) => `${time(t.createdAt)} by ${t.createdBy}` },
      { head: "EXPIRES", cell: (t) => time(t.expiresAt) },
    ], { json: { items }, empty: `App ${app} has no API tokens.` });
  },
};

const tokensCreate: Command = {
  path: ["tokens", "create"],
  summary: "create an API token for automation (CI), scoped to one app and one role",
  usage: "APP NAME",
  details: "The token is shown once; scripts send it as CASSEM_TOKEN.",
  flags: {
    role: {
      type: "string",
      value: "ROLE",
      help: "viewer, developer, releaser or owner (required)",
    },
    "expires-in-days": { type: "string", value: "N", help: "expire after N days (default never)" },
  },
  arity: [2, 2],
  async run(ctx, p) {
    const app = appTarget(p.args[0], "tokens create");
    const role = str(p, "role");
    if (!role) {
      throw new UsageError(
        "Cannot create a token as --role is required: viewer, developer, releaser or owner",
      );
    }
    const days = str(p, "expires-in-days");
    const t = await (await ctx.adm()).json<Token>("POST", `/api/apps/${seg(app)}/tokens`, {
      body: {
        name: p.args[1],
        role,
        ...(days !== undefined ? { expiresInDays: Number(days) } : {}),
      },
    });
    if (ctx.out.json) return ctx.out.data(t);
    ctx.out.line(`Created token ${t.id} (${t.role} of ${t.app}). Shown once:`);
    ctx.out.line(t.token ?? "");
  },
};

const tokensRm: Command = {
  path: ["tokens", "rm"],
  summary: "revoke an API token (refused at once by every adm copy)",
  usage: "APP ID",
  flags: {},
  arity: [2, 2],
  async run(ctx, p) {
    const app = appTarget(p.args[0], "tokens rm");
    await (await ctx.adm()).json("DELETE", `/api/apps/${seg(app)}/tokens/${seg(p.args[1]!)}`);
    if (ctx.out.json) ctx.out.data({ app, revoked: p.args[1] });
    else ctx.out.line(`Revoked token ${p.args[1]}`);
  },
};

/** The apps, envs, members and tokens commands. */
export const APP_COMMANDS: Command[] = [
  appsLs,
  appsGet,
  appsCreate,
  appsUpdate,
  appsRm,
  envsLs,
  envsGet,
  envsCreate,
  envsUpdate,
  envsRm,
  envsSecret,
  membersLs,
  membersSet,
  membersRm,
  tokensLs,
  tokensCreate,
  tokensRm,
];
