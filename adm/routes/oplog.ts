/**
 * The operation log: `GET /api/oplog`, newest first, filtered by app, env,
 * key, operator, operation (exact, or a prefix as `element.*`) and time
 * range (`from`, `to`, ISO 8601). Every mutation of adm wrote its entry in
 * the same Txn as the change (`data/txn.ts`).
 *
 * Paging: entries are keyed by inverted time, so a range read walks them
 * newest first and `to` is a seek. One request reads at most
 * `config.oplogScanLimit` entries while filtering; the answer's `next`
 * cursor continues where it stopped (a page may hold fewer than `limit`
 * entries when the filter is narrow). Non-admins must name an app they can
 * read (`?app=`).
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import {
  decodeRecord,
  oplogPrefix,
  OplogRecord,
  oplogSeekAt,
  parseOplogKey,
} from "../../shared/config/mod.ts";
import { defineRoute } from "../auth/route.ts";
import type { AdmDeps } from "../deps.ts";
import { BadRequestError } from "../errors.ts";
import type { AdmEnv } from "../http/context.ts";
import { validationHook } from "../http/validation.ts";
import { errorResponses, jsonResponse, nameParam } from "./_schemas.ts";

const EntrySchema = z.object({
  id: z.string(),
  time: z.string(),
  operator: z.string(),
  operation: z.string(),
  app: z.string().nullable(),
  env: z.string().nullable(),
  key: z.string().nullable(),
  target: z.string(),
  previousVersion: z.number().nullable(),
  newVersion: z.number().nullable(),
  remark: z.string(),
  requestId: z.string(),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
}).openapi("OplogEntry");

const CURSOR = /^\d{13}-[0-9a-f]{16,64}$/;

const OplogQuery = z.object({
  app: nameParam("app", "app").optional().openapi({ param: { name: "app", in: "query" } }),
  env: z.string().max(64).optional(),
  key: z.string().max(128).optional(),
  operator: z.string().max(200).optional(),
  operation: z.string().regex(/^[a-z]+(\.[a-z]+)*(\.\*)?$/, {
    error: "must be an operation such as element.publish, or a prefix such as element.*",
  }).optional(),
  from: z.iso.datetime().optional().openapi({ description: "Only entries at or after (ISO 8601)" }),
  to: z.iso.datetime().optional().openapi({ description: "Only entries at or before (ISO 8601)" }),
  cursor: z.string().regex(CURSOR, { error: "must be a next cursor of this API" }).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

const listOplog = defineRoute({
  method: "get",
  path: "/",
  tags: ["oplog"],
  summary: "The operation log, newest first, filtered",
  permission: "oplog.read",
  request: { query: OplogQuery },
  responses: {
    200: jsonResponse(
      z.object({
        items: z.array(EntrySchema),
        next: z.string().nullable().openapi({ description: "Pass as cursor to go on" }),
      }),
      "Entries",
    ),
    ...errorResponses(),
  },
});

/** The oplog route, mounted at `/api/oplog`. */
export function oplogRoutes(deps: AdmDeps): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });
  r.openapi(listOplog, async (c) => {
    const q = c.req.valid("query");
    const fromMs = q.from === undefined ? undefined : Date.parse(q.from);
    const toMs = q.to === undefined ? undefined : Date.parse(q.to);
    if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) {
      throw new BadRequestError(
        `Cannot accept query.from as it is after query.to: ${q.from} > ${q.to}`,
        {
          field: "query.from",
        },
      );
    }
    const prefix = oplogPrefix();
    let seek = q.cursor !== undefined
      ? prefix + q.cursor
      : toMs !== undefined
      ? oplogSeekAt(toMs)
      : undefined;
    const opPrefix = q.operation?.endsWith(".*") ? q.operation.slice(0, -1) : undefined;
    const items: OplogRecord[] = [];
    let scanned = 0;
    let next: string | null = null;
    scan: for (;;) {
      const page = await deps.db.range(prefix, { seek, limit: 100 });
      for (const e of page.entities) {
        const at = parseOplogKey(e.key);
        if (!at) continue;
        if (fromMs !== undefined && at.timeMs < fromMs) break scan;
        scanned++;
        const rec = decodeRecord(OplogRecord, e.key, e.val);
        const match = (q.app === undefined || rec.app === q.app) &&
          (q.env === undefined || rec.env === q.env) &&
          (q.key === undefined || rec.key === q.key) &&
          (q.operator === undefined || rec.operator === q.operator) &&
          (q.operation === undefined ||
            (opPrefix !== undefined
              ? rec.operation.startsWith(opPrefix)
              : rec.operation === q.operation));
        if (match) items.push(rec);
        if (items.length >= q.limit || scanned >= deps.config.oplogScanLimit) {
          next = e.key.slice(prefix.length);
          break scan;
        }
      }
      if (!page.hasMore) break;
      seek = page.nextSeekKey;
    }
    return c.json({ items, next }, 200);
  });
  return r;
}
