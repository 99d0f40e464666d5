/**
 * Releases: `publish` (to everyone, or a gray release to chosen clients,
 * labels or a percentage), `gray` (show or widen the running one),
 * `promote`, `abort`, `rollback`, and the four-eyes `approvals`, `approve`
 * and `reject`. In an env that requires approval, a publish, rollback or
 * gray start files a request instead; the command says so.
 *
 * @module
 */

import { parseLabels } from "../../shared/config/mod.ts";
import { seg } from "../adm_client.ts";
import { type Command, type Ctx, int, type Parsed, str } from "../command.ts";
import { NotFoundError, UsageError } from "../errors.ts";
import { dash, time } from "../output.ts";
import { type ElementTarget, elementTarget, envTarget } from "../target.ts";
import { type Element, elementPath, stateOf, type Version } from "./elements.ts";

interface Approval {
  id: string;
  app: string;
  env: string;
  key: string;
  action: "publish" | "rollback" | "gray";
  version: number;
  rule: Record<string, unknown> | null;
  requestedBy: string;
  requestedAt: string;
  remark: string;
}

interface Released {
  applied: boolean;
  element: Element | null;
  request: Approval | null;
}

interface Gray {
  version: number;
  fingerprint: string;
  rule: Record<string, unknown>;
  startedAt: string;
  liveVersion: number | null;
  element: Element;
}

const REMARK = { type: "string", value: "TEXT", help: "why (kept in the oplog)" } as const;
const IF_MATCH = {
  type: "string",
  value: "ETAG",
  help: "only if the element is still at this ETag (elements get shows it)",
} as const;

const RULE_FLAGS = {
  "gray-clients": { type: "string", value: "ID,...", help: "gray release to these client ids" },
  "gray-labels": {
    type: "string",
    value: "K=V,...",
    help: "gray release to clients whose labels hold all of these",
  },
  "gray-percent": {
    type: "string",
    value: "P",
    help: "gray release to P% of clients (a stable hash of the client id)",
  },
} as const;

/**
 * The gray rule the flags describe, or undefined when none is given.
 * @throws {UsageError} naming the flag when more than one is given or one is malformed.
 */
function ruleOf(p: Parsed): Record<string, unknown> | undefined {
  const given = Object.keys(RULE_FLAGS).filter((f) => str(p, f) !== undefined);
  if (given.length > 1) {
    throw new UsageError(
      `Cannot combine ${given.map((f) => `--${f}`).join(" and ")} as a gray release has one rule`,
    );
  }
  const clients = str(p, "gray-clients");
  if (clients !== undefined) {
    const ids = clients.split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (ids.length === 0) {
      throw new UsageError(`Cannot accept --gray-clients as it names no client id`);
    }
    return { kind: "clients", clientIds: ids };
  }
  const labels = str(p, "gray-labels");
  if (labels !== undefined) {
    try {
      const selector = parseLabels(labels);
      if (Object.keys(selector).length === 0) throw new TypeError("it names no label");
      return { kind: "labels", selector };
    } catch (e) {
      throw new UsageError(
        `Cannot accept --gray-labels as ${
          (e as Error).message.replace(/^Cannot parse the labels as /, "")
        }`,
      );
    }
  }
  const percent = str(p, "gray-percent");
  if (percent !== undefined) {
    const n = Number(percent.replace(/%$/, ""));
    if (!Number.isFinite(n) || n <= 0 || n > 100) {
      throw new UsageError(
        `Cannot accept --gray-percent as it must be a number above 0 and at most 100: current value is ${
          JSON.stringify(percent)
        }`,
      );
    }
    return { kind: "percentage", percent: n };
  }
  return undefined;
}

/** A rule in a few words. */
export function describeRule(rule: Record<string, unknown> | null | undefined): string {
  if (!rule) return "-";
  if (rule.kind === "clients") return `clients ${(rule.clientIds as string[]).join(",")}`;
  if (rule.kind === "labels") {
    return `labels ${
      Object.entries(rule.selector as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(",")
    }`;
  }
  if (rule.kind === "percentage") return `${rule.percent}% of clients`;
  return JSON.stringify(rule);
}

/** Says what a release did: `done` (a sentence) and the element's state, or the request filed. */
function report(ctx: Ctx, name: string, r: Released, done: string): void {
  if (ctx.out.json) return ctx.out.data(r);
  if (r.applied && r.element) {
    ctx.out.line(`${done}: ${stateOf(r.element)}`);
  } else if (r.request) {
    ctx.out.line(
      `${name}'s env requires approval: filed request ${r.request.id} (${r.request.action} v${r.request.version}); another releaser approves it with cassemctl approve ${name}`,
    );
  }
}

/** The element's unpublished version (else its latest), for a publish without --version. */
async function defaultVersion(ctx: Ctx, t: ElementTarget): Promise<number> {
  const e = (await (await ctx.adm()).json<Version>("GET", elementPath(t))).element;
  return e.unpublishedVersion ?? e.latestVersion;
}

const publish: Command = {
  path: ["publish"],
  summary: "make a version live for everyone, or for some clients (gray)",
  usage: "APP/ENV/KEY",
  details: `--version defaults to the unpublished version (else the latest). With one of
--gray-clients, --gray-labels, --gray-percent it starts a gray release instead:
only the chosen clients get the version until promote or abort. Examples:
  cassemctl publish shop/prod/timeout
  cassemctl publish shop/prod/timeout --version 4 --gray-labels region=eu,tier=canary
  cassemctl publish shop/prod/timeout --gray-percent 10`,
  flags: {
    version: {
      type: "string",
      short: "v",
      value: "N",
      help: "the version (default: the unpublished one)",
    },
    ...RULE_FLAGS,
    remark: REMARK,
    "if-match": IF_MATCH,
  },
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "publish");
    const name = `${t.app}/${t.env}/${t.key}`;
    const rule = ruleOf(p);
    const version = int(p, "version") ?? await defaultVersion(ctx, t);
    const adm = await ctx.adm();
    const r = await adm.json<Released>("POST", `${elementPath(t)}/${rule ? "gray" : "publish"}`, {
      body: { version, remark: str(p, "remark"), ...(rule ? { rule } : {}) },
      ifMatch: str(p, "if-match"),
    });
    report(
      ctx,
      name,
      r,
      rule
        ? `Started a gray release of ${name} v${version} to ${describeRule(rule)}`
        : `Published ${name} v${version}`,
    );
  },
};

const gray: Command = {
  path: ["gray"],
  summary: "show the running gray release, or change its rule (widen it)",
  usage: "APP/ENV/KEY",
  details: `Without a rule flag, shows the gray release. With one, replaces its rule:
  cassemctl gray shop/prod/timeout --gray-percent 50`,
  flags: { ...RULE_FLAGS, remark: REMARK, "if-match": IF_MATCH },
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "gray");
    const name = `${t.app}/${t.env}/${t.key}`;
    const rule = ruleOf(p);
    const adm = await ctx.adm();
    if (rule) {
      const e = await adm.json<Element>("PUT", `${elementPath(t)}/gray`, {
        body: { rule, remark: str(p, "remark") },
        ifMatch: str(p, "if-match"),
      });
      if (ctx.out.json) return ctx.out.data(e);
      ctx.out.line(`Gray release of ${name} now goes to ${describeRule(rule)}: ${stateOf(e)}`);
      return;
    }
    const g = await adm.json<Gray>("GET", `${elementPath(t)}/gray`);
    ctx.out.fields([
      ["element", name],
      ["gray version", String(g.version)],
      ["live version", dash(g.liveVersion)],
      ["rule", describeRule(g.rule)],
      ["started", time(g.startedAt)],
    ], g);
  },
};

const promote: Command = {
  path: ["promote"],
  summary: "make the gray version live for everyone and end the gray release",
  usage: "APP/ENV/KEY",
  flags: { remark: REMARK, "if-match": IF_MATCH },
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "promote");
    const e = await (await ctx.adm()).json<Element>("POST", `${elementPath(t)}/gray/promote`, {
      body: { remark: str(p, "remark") },
      ifMatch: str(p, "if-match"),
    });
    if (ctx.out.json) return ctx.out.data(e);
    ctx.out.line(`Promoted ${t.app}/${t.env}/${t.key}: ${stateOf(e)}`);
  },
};

const abort: Command = {
  path: ["abort"],
  summary: "end the gray release: its clients go back to the live version",
  usage: "APP/ENV/KEY",
  flags: { "if-match": IF_MATCH },
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "abort");
    const e = await (await ctx.adm()).json<Element>("DELETE", `${elementPath(t)}/gray`, {
      ifMatch: str(p, "if-match"),
    });
    if (ctx.out.json) return ctx.out.data(e);
    ctx.out.line(`Aborted the gray release of ${t.app}/${t.env}/${t.key}: ${stateOf(e)}`);
  },
};

const rollback: Command = {
  path: ["rollback"],
  summary: "make an earlier version live again (recorded as its own operation)",
  usage: "APP/ENV/KEY",
  flags: {
    version: {
      type: "string",
      short: "v",
      value: "N",
      help: "the version to go back to (required)",
    },
    remark: REMARK,
    "if-match": IF_MATCH,
  },
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "rollback");
    const version = int(p, "version");
    if (version === undefined) {
      throw new UsageError(
        `Cannot roll back ${t.app}/${t.env}/${t.key} as --version is required: see cassemctl elements versions ${t.app}/${t.env}/${t.key}`,
      );
    }
    const r = await (await ctx.adm()).json<Released>("POST", `${elementPath(t)}/rollback`, {
      body: { version, remark: str(p, "remark") },
      ifMatch: str(p, "if-match"),
    });
    const name = `${t.app}/${t.env}/${t.key}`;
    report(ctx, name, r, `Rolled ${name} back to v${version}`);
  },
};

function approvalsPath(app: string, env: string): string {
  return `/api/apps/${seg(app)}/envs/${seg(env)}/approvals`;
}

const approvals: Command = {
  path: ["approvals"],
  summary: "list an env's pending requests (four-eyes)",
  usage: "APP/ENV",
  flags: {},
  arity: [1, 1],
  async run(ctx, p) {
    const t = envTarget(p.args[0], "approvals");
    const { items } = await (await ctx.adm()).json<{ items: Approval[] }>(
      "GET",
      approvalsPath(t.app, t.env),
    );
    ctx.out.table(items, [
      { head: "KEY", cell: (a) => a.key },
      { head: "ACTION", cell: (a) => a.action },
      { head: "VERSION", cell: (a) => String(a.version) },
      { head: "RULE", cell: (a) => describeRule(a.rule) },
      { head: "REQUESTED", cell: (a) => `${time(a.requestedAt)} by ${a.requestedBy}` },
      { head: "ID", cell: (a) => a.id },
      { head: "REMARK", cell: (a) => a.remark },
    ], { json: { items }, empty: `No pending requests in ${t.app}/${t.env}.` });
  },
};

/** The pending request on `t`, or a {@linkcode NotFoundError}. */
async function pendingOf(ctx: Ctx, t: ElementTarget, id: string | undefined): Promise<Approval> {
  const { items } = await (await ctx.adm()).json<{ items: Approval[] }>(
    "GET",
    approvalsPath(t.app, t.env),
  );
  const found = items.find((a) => a.key === t.key && (id === undefined || a.id === id));
  if (!found) {
    throw new NotFoundError(
      `Cannot find a pending request on ${t.app}/${t.env}/${t.key}${
        id ? ` with id ${id}` : ""
      }: see cassemctl approvals ${t.app}/${t.env}`,
    );
  }
  return found;
}

function decision(verb: "approve" | "reject"): Command {
  return {
    path: [verb],
    summary: verb === "approve"
      ? "approve the pending request on an element (not your own): it is applied"
      : "reject the pending request on an element (or withdraw your own)",
    usage: "APP/ENV/KEY",
    flags: {
      id: {
        type: "string",
        value: "ID",
        help: "the request's id (default: the one pending on the element)",
      },
      remark: REMARK,
    },
    arity: [1, 1],
    async run(ctx, p) {
      const t = elementTarget(p.args[0], verb);
      const name = `${t.app}/${t.env}/${t.key}`;
      const req = await pendingOf(ctx, t, str(p, "id"));
      const r = await (await ctx.adm()).json<{ request: Approval; element?: Element }>(
        "POST",
        `${approvalsPath(t.app, t.env)}/${seg(t.key)}/${verb}`,
        { body: { id: req.id, remark: str(p, "remark") } },
      );
      if (ctx.out.json) return ctx.out.data(r);
      const what = `${req.action} of v${req.version} by ${req.requestedBy}`;
      if (verb === "approve") {
        ctx.out.line(
          `Approved the ${what} on ${name}${r.element ? `: ${stateOf(r.element)}` : ""}`,
        );
      } else {
        ctx.out.line(`Rejected the ${what} on ${name}`);
      }
    },
  };
}

/** The release commands. */
export const RELEASE_COMMANDS: Command[] = [
  publish,
  gray,
  promote,
  abort,
  rollback,
  approvals,
  decision("approve"),
  decision("reject"),
];
