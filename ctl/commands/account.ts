/**
 * `login`, `logout`, `whoami`, `passwd`: the caller's session. The token a
 * login returns is saved per server in the config file (mode 0600); the
 * password comes from `--password-stdin`, `CASSEM_PASSWORD` or a prompt
 * on the terminal, never from a flag (it would show in `ps`).
 *
 * @module
 */

import { bool, type Command, type Ctx, type Parsed, str } from "../command.ts";
import { AuthError, UsageError } from "../errors.ts";
import { dash, time } from "../output.ts";

interface Session {
  token: string;
  expiresAt: string;
}

/** The password: the first line of stdin, CASSEM_PASSWORD, or a prompt. */
async function readPassword(ctx: Ctx, p: Parsed, what: string): Promise<string> {
  if (bool(p, "password-stdin")) {
    const text = (await ctx.io.readStdin()).split(/\r?\n/)[0] ?? "";
    if (text === "") {
      throw new UsageError(`Cannot ${what} as --password-stdin read an empty password`);
    }
    return text;
  }
  const env = ctx.io.env("CASSEM_PASSWORD");
  if (env) return env;
  if (!ctx.io.stdinIsTty) {
    throw new UsageError(
      `Cannot ${what} as no password was given and stdin is not a terminal: pipe it with --password-stdin, or set CASSEM_PASSWORD`,
    );
  }
  return await ctx.io.promptSecret("Password: ");
}

const login: Command = {
  path: ["login"],
  summary: "log in and keep the token for this server",
  usage: "",
  details: `The password comes from --password-stdin, else CASSEM_PASSWORD, else a prompt.
The token is saved in the config file (mode 0600) and this server becomes the
default one. Example: echo "$PW" | cassemctl login --server http://10.0.0.5:7061 --password-stdin`,
  flags: {
    account: { type: "string", value: "NAME", help: "the account (default admin)" },
    "password-stdin": { type: "boolean", help: "read the password from the first line of stdin" },
  },
  arity: [0, 0],
  async run(ctx, p) {
    const account = str(p, "account") ?? "admin";
    const password = await readPassword(ctx, p, `log in as ${account}`);
    const adm = await ctx.adm();
    let session: Session;
    try {
      session = await adm.json<Session>("POST", "/api/account/login", {
        body: { account, password },
        auth: false,
      });
    } catch (e) {
      // The server's sentence says it all; no advice to log in.
      if (e instanceof AuthError) {
        throw new AuthError(e.message.replace(/ \(cassemctl login; or set CASSEM_TOKEN\)$/, ""));
      }
      throw e;
    }
    const cfg = await ctx.config();
    cfg.config.servers[adm.server] = {
      account,
      token: session.token,
      expiresAt: session.expiresAt,
    };
    cfg.config.current = adm.server;
    await ctx.saveConfig();
    if (ctx.out.json) {
      ctx.out.data({ server: adm.server, account, expiresAt: session.expiresAt, config: cfg.path });
    } else {
      ctx.out.line(
        `Logged in to ${adm.server} as ${account} until ${
          time(session.expiresAt)
        } (token in ${cfg.path})`,
      );
    }
  },
};

const logout: Command = {
  path: ["logout"],
  summary: "end the session and forget its token",
  usage: "",
  flags: {},
  arity: [0, 0],
  async run(ctx) {
    const adm = await ctx.adm();
    const cfg = await ctx.config();
    const saved = cfg.config.servers[adm.server];
    if (adm.hasToken) {
      try {
        await adm.json("POST", "/api/account/logout");
      } catch (e) {
        // An expired or revoked session is as good as ended.
        if (!(e instanceof AuthError) || saved === undefined) throw e;
      }
    }
    if (saved) {
      delete cfg.config.servers[adm.server];
      await ctx.saveConfig();
    }
    if (ctx.out.json) ctx.out.data({ server: adm.server, loggedOut: true });
    else ctx.out.line(`Logged out of ${adm.server}`);
  },
};

interface Me {
  kind: "user" | "token";
  account?: string;
  nickname?: string;
  admin?: boolean;
  lastLoginAt?: string | null;
  id?: string;
  name?: string;
  app?: string;
  role?: string;
}

const whoami: Command = {
  path: ["whoami"],
  summary: "who the saved token (or CASSEM_TOKEN) is",
  usage: "",
  flags: {},
  arity: [0, 0],
  async run(ctx) {
    const adm = await ctx.adm();
    const me = await adm.json<Me>("GET", "/api/account/me");
    if (me.kind === "token") {
      ctx.out.fields([
        ["server", adm.server],
        ["api token", `${me.name} (${me.id})`],
        ["app", dash(me.app)],
        ["role", dash(me.role)],
      ], me);
    } else {
      ctx.out.fields([
        ["server", adm.server],
        ["account", dash(me.account)],
        ["nickname", dash(me.nickname)],
        ["admin", me.admin ? "yes (global admin)" : "no"],
        ["last login", time(me.lastLoginAt)],
      ], me);
    }
  },
};

const passwd: Command = {
  path: ["passwd"],
  summary: "change your own password (every session ends; this one is renewed)",
  usage: "",
  details: `Prompts for the current and the new password (twice) on a terminal;
with --password-stdin, reads the current one from the first line and the new one
from the second.`,
  flags: {
    "password-stdin": { type: "boolean", help: "read both passwords from stdin, one a line" },
  },
  arity: [0, 0],
  async run(ctx, p) {
    let current: string, next: string;
    if (bool(p, "password-stdin")) {
      const lines = (await ctx.io.readStdin()).split(/\r?\n/);
      [current, next] = [lines[0] ?? "", lines[1] ?? ""];
      if (current === "" || next === "") {
        throw new UsageError(
          "Cannot change the password as --password-stdin needs two lines: the current password, then the new one",
        );
      }
    } else {
      if (!ctx.io.stdinIsTty) {
        throw new UsageError(
          "Cannot change the password as stdin is not a terminal: pipe both passwords with --password-stdin",
        );
      }
      current = await ctx.io.promptSecret("Current password: ");
      next = await ctx.io.promptSecret("New password: ");
      if ((await ctx.io.promptSecret("New password again: ")) !== next) {
        throw new UsageError("Cannot change the password as the two new passwords differ");
      }
    }
    const adm = await ctx.adm();
    const session = await adm.json<Session>("PUT", "/api/account/password", {
      body: { currentPassword: current, newPassword: next },
    });
    const cfg = await ctx.config();
    const saved = cfg.config.servers[adm.server];
    if (saved) {
      cfg.config.servers[adm.server] = {
        ...saved,
        token: session.token,
        expiresAt: session.expiresAt,
      };
      await ctx.saveConfig();
    } else {
      ctx.note("cassemctl: the session that changed it has ended too: log in again");
    }
    if (ctx.out.json) {
      ctx.out.data({ server: adm.server, changed: true, expiresAt: session.expiresAt });
    } else ctx.out.line(`Password changed; every other session of this account has ended`);
  },
};

/** The account commands. */
export const ACCOUNT_COMMANDS: Command[] = [login, logout, whoami, passwd];
