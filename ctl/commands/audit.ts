/**
 * `instances`, `agents` and `oplog`: who runs what (as cassemagent
 * registers it), and who changed what (the operation log).
 *
 * @module
 */

import { seg } from "../adm_client.ts";
import { type Command, int, str } from "../command.ts";
import { dash, time } from "../output.ts";

interface Running {
  app: string;
  env: string;
  key: string;
  version: number;
  fingerprint?: string;
  gray?: boolean;
}

interface Instance {
  clientId: string;
  agentId: string;
  clientIp: string;
  labels: Record<string, string>;
  watching: { app: string; env: string; keys: string[] }[];
  running: Running[];
  registeredAt: string;
  renewedAt: string;
}

interface Agent {
  agentId: string;
  addr: string;
  grpcAddr: string | null;
  annotations: Record<string, string>;
  startedAt: string;
  renewedAt: string;
}

function labels(l: Record<string, string>): string {
  const s = Object.entries(l).map(([k, v]) => `${k}=${v}`).join(",");
  return s === "" ? "-" : s;
}

function running(r: Running[]): string {
  if (r.length === 0) return "-";
  return r.map((x) => `${x.app}/${x.env}/${x.key}@v${x.version}${x.gray ? "(gray)" : ""}`).join(
    " ",
  );
}

const instances: Command = {
  path: ["instances"],
  summary: "list client instances and the version of each element they run",
  usage: "[CLIENT-ID]",
  details: `With CLIENT-ID, shows that instance: what it watches and runs. Filters narrow
the list to instances of an app, env or element:
  cassemctl instances --app shop --env prod --key timeout`,
  flags: {
    app: { type: "string", value: "APP", help: "only instances of this app" },
    env: { type: "string", value: "ENV", help: "only of this env (with --app)" },
    key: { type: "string", value: "KEY", help: "only those running this element (with --env)" },
  },
  arity: [0, 1],
  async run(ctx, p) {
    const adm = await ctx.adm();
    if (p.args[0] !== undefined) {
      const i = await adm.json<Instance>("GET", `/api/cluster/instances/${seg(p.args[0])}`);
      ctx.out.fields([
        ["client", i.clientId],
        ["agent", i.agentId],
        ["ip", i.clientIp],
        ["labels", labels(i.labels)],
        [
          "watches",
          i.watching.map((w) => `${w.app}/${w.env}:${w.keys.join(",")}`).join(" ") || "-",
        ],
        ["runs", running(i.running)],
        ["registered", time(i.registeredAt)],
        ["renewed", time(i.renewedAt)],
      ], i);
      return;
    }
    const items = await adm.all<Instance>("/api/cluster/instances", {
      query: { app: str(p, "app"), env: str(p, "env"), key: str(p, "key") },
    });
    ctx.out.table(items, [
      { head: "CLIENT", cell: (i) => i.clientId },
      { head: "AGENT", cell: (i) => i.agentId },
      { head: "IP", cell: (i) => i.clientIp },
      { head: "LABELS", cell: (i) => labels(i.labels) },
      { head: "RENEWED", cell: (i) => time(i.renewedAt) },
      { head: "RUNS", cell: (i) => running(i.running) },
    ], { json: { items }, empty: "No client instances." });
  },
};

const agents: Command = {
  path: ["agents"],
  summary: "list the running cassemagents",
  usage: "",
  flags: {},
  arity: [0, 0],
  async run(ctx) {
    const { items } = await (await ctx.adm()).json<{ items: Agent[] }>(
      "GET",
      "/api/cluster/agents",
    );
    ctx.out.table(items, [
      { head: "AGENT", cell: (a) => a.agentId },
      { head: "HTTP", cell: (a) => a.addr },
      { head: "GRPC", cell: (a) => dash(a.grpcAddr) },
      { head: "STARTED", cell: (a) => time(a.startedAt) },
      { head: "RENEWED", cell: (a) => time(a.renewedAt) },
    ], { json: { items }, empty: "No agents are running." });
  },
};

interface OplogEntry {
  id: string;
  time: string;
  operator: string;
  operation: string;
  app: string | null;
  env: string | null;
  key: string | null;
  target: string;
  previousVersion: number | null;
  newVersion: number | null;
  remark: string;
  requestId: string;
}

const oplog: Command = {
  path: ["oplog"],
  summary: "show the operation log, newest first",
  usage: "",
  details: `Filters combine. --operation takes a name (element.publish) or a family
(element.*). Times are ISO 8601 (2026-01-31T12:00:00Z). Example:
  cassemctl oplog --app shop --operation element.* --limit 20`,
  flags: {
    app: { type: "string", value: "APP", help: "only this app" },
    env: { type: "string", value: "ENV", help: "only this env" },
    key: { type: "string", value: "KEY", help: "only this element" },
    operator: {
      type: "string",
      value: "WHO",
      help: "only this operator (an account, or token:APP/ID)",
    },
    operation: {
      type: "string",
      value: "OP",
      help: "only this operation, or a family (element.*)",
    },
    from: { type: "string", value: "TIME", help: "only entries at or after" },
    to: { type: "string", value: "TIME", help: "only entries at or before" },
    limit: { type: "string", short: "n", value: "N", help: "at most N entries (default 50)" },
  },
  arity: [0, 0],
  async run(ctx, p) {
    const items = await (await ctx.adm()).all<OplogEntry>("/api/oplog", {
      cursor: "cursor",
      max: int(p, "limit", 1, 100_000) ?? 50,
      query: {
        app: str(p, "app"),
        env: str(p, "env"),
        key: str(p, "key"),
        operator: str(p, "operator"),
        operation: str(p, "operation"),
        from: str(p, "from"),
        to: str(p, "to"),
      },
    });
    ctx.out.table(items, [
      { head: "TIME", cell: (e) => time(e.time) },
      { head: "OPERATOR", cell: (e) => e.operator },
      { head: "OPERATION", cell: (e) => e.operation },
      { head: "TARGET", cell: (e) => e.target },
      {
        head: "VERSION",
        cell: (e) =>
          e.previousVersion === null && e.newVersion === null
            ? "-"
            : `${dash(e.previousVersion)} → ${dash(e.newVersion)}`,
      },
      { head: "REQUEST", cell: (e) => e.requestId },
      { head: "REMARK", cell: (e) => e.remark },
    ], { json: { items }, empty: "No entries." });
  },
};

/** `instances`, `agents`, `oplog`. */
export const AUDIT_COMMANDS: Command[] = [instances, agents, oplog];
