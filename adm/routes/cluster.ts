/**
 * What runs: `GET /api/cluster/agents`, `GET /api/cluster/instances`
 * (filtered by app, env and key: instances that watch them) and
 * `GET /api/cluster/instances/{id}` (what it watches and which version of
 * each element it runs). cassemagent writes these records with a TTL
 * (`shared/config/layout.md`); adm only reads them.
 *
 * An instance names its client's address, labels and what it reads, so a
 * caller sees an instance only when it may read (`app.read`) one of the apps
 * it watches, and of it only those apps' entries; an admin sees everything.
 * The agents (addresses and annotations, no app data) are shown to anyone
 * logged in.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  AgentRecord,
  agentsPrefix,
  decodeRecord,
  instanceKey,
  InstanceRecord,
  instancesPrefix,
  RoleBindingRecord,
  roleKey,
} from "../../shared/config/mod.ts";
import { rolesGrant } from "../auth/permissions.ts";
import type { Principal } from "../auth/principal.ts";
import { can, defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import { readAll, readRecord } from "../data/read.ts";
import { BadRequestError, NotFoundError } from "../errors.ts";
import { principalOf } from "../http/actor.ts";
import type { AdmEnv } from "../http/context.ts";
import { validationHook } from "../http/validation.ts";
import { errorResponses, jsonResponse, nameParam } from "./_schemas.ts";

const AgentSchema = z.object({
  agentId: z.string(),
  addr: z.string(),
  grpcAddr: z.string().nullable(),
  annotations: z.record(z.string(), z.string()),
  startedAt: z.string(),
  renewedAt: z.string(),
}).openapi("Agent");

const InstanceSchema = z.object({
  clientId: z.string(),
  agentId: z.string(),
  clientIp: z.string(),
  labels: z.record(z.string(), z.string()),
  watching: z.array(z.object({ app: z.string(), env: z.string(), keys: z.array(z.string()) })),
  running: z.array(z.object({
    app: z.string(),
    env: z.string(),
    key: z.string(),
    version: z.number(),
    fingerprint: z.string(),
    gray: z.boolean(),
  })),
  registeredAt: z.string(),
  renewedAt: z.string(),
}).openapi("Instance");

const listAgents = defineRoute({
  method: "get",
  path: "/agents",
  tags: ["cluster"],
  summary: "The running agents",
  permission: "authenticated",
  responses: {
    200: jsonResponse(z.object({ items: z.array(AgentSchema) }), "Agents"),
    ...errorResponses(),
  },
});

const InstancesQuery = z.object({
  app: z.string().max(64).optional(),
  env: z.string().max(64).optional(),
  key: z.string().max(128).optional(),
  seek: z.string().max(128).optional().openapi({ description: "The previous page's next" }),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

const listInstances = defineRoute({
  method: "get",
  path: "/instances",
  tags: ["cluster"],
  summary: "Client instances, optionally those watching an app, env or key",
  permission: "authenticated",
  request: { query: InstancesQuery },
  responses: {
    200: jsonResponse(
      z.object({ items: z.array(InstanceSchema), next: z.string().nullable() }),
      "Instances",
    ),
    ...errorResponses(),
  },
});

const getInstance = defineRoute({
  method: "get",
  path: "/instances/{id}",
  tags: ["cluster"],
  summary: "One instance: what it watches and which version of each element it runs",
  permission: "authenticated",
  request: { params: z.object({ id: nameParam("client", "id") }) },
  responses: { 200: jsonResponse(InstanceSchema, "The instance"), ...errorResponses(404) },
});

/** Whether `inst` watches `app`/`env`/`key` (each optional; empty keys: the whole env). */
export function watches(
  inst: InstanceRecord,
  q: { app?: string; env?: string; key?: string },
): boolean {
  if (q.app === undefined && q.env === undefined && q.key === undefined) return true;
  return inst.watching.some((w) =>
    (q.app === undefined || w.app === q.app) && (q.env === undefined || w.env === q.env) &&
    (q.key === undefined || w.keys.length === 0 || w.keys.includes(q.key))
  );
}

/**
 * Which apps a caller may read (`app.read`), looked up once per app per
 * request: a session's principal carries only the roles of the app its
 * route named, and an instance may name several.
 */
class ReadableApps {
  readonly #known = new Map<string, Promise<boolean>>();
  constructor(readonly principal: Principal, readonly db: AdmDeps["db"]) {}

  /** Whether the caller may read `app`. */
  mayRead(app: string): Promise<boolean> {
    let ok = this.#known.get(app);
    if (ok === undefined) this.#known.set(app, ok = this.#lookUp(app));
    return ok;
  }

  async #lookUp(app: string): Promise<boolean> {
    const p = this.principal;
    if (p.kind === "token" || p.admin) return can(p, "app.read", app);
    const binding = await readRecord(this.db, RoleBindingRecord, roleKey(app, p.account));
    return rolesGrant(binding?.record.roles ?? [], "app.read");
  }

  /** What of `inst` the caller may see: its readable apps' entries, or undefined if none. */
  async visiblePart(inst: InstanceRecord): Promise<InstanceRecord | undefined> {
    const readable = new Set<string>();
    for (const w of inst.watching) if (await this.mayRead(w.app)) readable.add(w.app);
    if (readable.size === 0) return undefined;
    const watching = inst.watching.filter((w) => readable.has(w.app));
    if (watching.length === inst.watching.length) return inst;
    return { ...inst, watching, running: inst.running.filter((r) => readable.has(r.app)) };
  }
}

/** Most instance records one request reads while filtering. */
const SCAN_LIMIT = 5_000;

/** The cluster routes, mounted at `/api/cluster`. */
export function clusterRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });

  r.openapi(listAgents, async (c) => {
    const items = await readAll(deps.db, AgentRecord, agentsPrefix());
    return c.json({ items: items.map((s) => s.record) }, 200);
  });

  r.openapi(listInstances, async (c) => {
    const q = c.req.valid("query");
    const access = new ReadableApps(principalOf(c), deps.db);
    if (q.seek !== undefined) {
      try {
        instanceKey(q.seek);
      } catch {
        throw new BadRequestError("Cannot accept query.seek as it must be a client id", {
          field: "query.seek",
        });
      }
    }
    const prefix = instancesPrefix();
    let seek = q.seek === undefined ? undefined : instanceKey(q.seek);
    const items: InstanceRecord[] = [];
    let scanned = 0;
    let next: string | null = null;
    scan: for (;;) {
      const page = await deps.db.range(prefix, { seek, limit: 100 });
      for (const e of page.entities) {
        if (e.type !== "ELEMENT") continue;
        scanned++;
        const inst = decodeRecord(InstanceRecord, e.key, e.val);
        // The query's filter first: it reads nothing, where the caller's roles may.
        const visible = watches(inst, q) ? await access.visiblePart(inst) : undefined;
        if (visible && watches(visible, q)) items.push(visible);
        if (items.length >= q.limit || scanned >= SCAN_LIMIT) {
          next = inst.clientId;
          break scan;
        }
      }
      if (!page.hasMore) break;
      seek = page.nextSeekKey;
    }
    return c.json({ items, next }, 200);
  });

  r.openapi(getInstance, async (c) => {
    const { id } = c.req.valid("param");
    const s = await readRecord(deps.db, InstanceRecord, instanceKey(id));
    const visible = s && await new ReadableApps(principalOf(c), deps.db).visiblePart(s.record);
    // Not one of the caller's: answered as absent, so ids of other apps' clients are not confirmed.
    if (!visible) throw new NotFoundError(`Cannot get instance ${id} as it is not registered`);
    return c.json(visible, 200);
  });

  return r;
}
