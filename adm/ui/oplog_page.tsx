/** @jsxImportSource hono/jsx */
/**
 * The operation log: `GET /oplog` lists entries newest first
 * (`GET /api/oplog`), filtered by app, env, key, operator, operation (or a
 * prefix such as `element.*`) and a time range (UTC), paged by the API's
 * cursor.
 *
 * @module
 */

import { Hono } from "hono";
import { OPERATIONS } from "../../shared/config/mod.ts";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "./api.ts";
import type { OplogEntryView, Page } from "./api_types.ts";
import { Time } from "./components.tsx";
import { sessionOf, type UiEnv } from "./context.ts";
import { Layout } from "./layout.tsx";
import { elementPage, oplogPage } from "./paths.ts";

/** The operation filter's choices: every operation, after a prefix per resource. */
const OPERATION_CHOICES: readonly string[] = [
  ...[...new Set(OPERATIONS.map((o) => o.split(".")[0]!))].map((p) => `${p}.*`),
  ...OPERATIONS,
];

/** A `datetime-local` value (`2025-01-02T03:04`, read as UTC) as ISO 8601, or undefined. */
export function utcOf(local: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?$/.exec(local.trim());
  return m ? `${m[1]}T${m[2]}${m[3] ?? ":00"}.000Z` : undefined;
}

function versions(e: OplogEntryView): string {
  if (e.previousVersion === null && e.newVersion === null) return "";
  return `${e.previousVersion === null ? "—" : `v${e.previousVersion}`} → ${
    e.newVersion === null ? "—" : `v${e.newVersion}`
  }`;
}

/** The oplog route, mounted at `/`. */
export function oplogRoutes(): Hono<UiEnv> {
  const r = new Hono<UiEnv>();
  r.get("/oplog", async (c) => {
    const s = sessionOf(c);
    const f = {
      app: c.req.query("app") ?? "",
      env: c.req.query("env") ?? "",
      key: c.req.query("key") ?? "",
      operator: c.req.query("operator") ?? "",
      operation: c.req.query("operation") ?? "",
      from: c.req.query("from") ?? "",
      to: c.req.query("to") ?? "",
    };
    const cursor = c.req.query("cursor") ?? "";
    let page: Page<OplogEntryView> = { items: [], next: null };
    let error: ApiError | undefined;
    try {
      page = await s.api.get<Page<OplogEntryView>>("/api/oplog", {
        ...f,
        from: f.from ? utcOf(f.from) ?? f.from : "",
        to: f.to ? utcOf(f.to) ?? f.to : "",
        cursor,
        limit: 50,
      });
    } catch (e) {
      // A bad filter shows with the filters, so it can be fixed.
      if (!(e instanceof ApiError) || e.status === 401 || e.status >= 500) throw e;
      error = e;
    }
    return c.html(
      <Layout title="Operation log" session={s} section="oplog" error={error?.message}>
        <form class="inline" method="get" action="/oplog" role="search" aria-label="Filter the log">
          <div>
            <label for="o-app">App</label>
            <input id="o-app" name="app" type="text" size={12} value={f.app} />
          </div>
          <div>
            <label for="o-env">Env</label>
            <input id="o-env" name="env" type="text" size={10} value={f.env} />
          </div>
          <div>
            <label for="o-key">Key</label>
            <input id="o-key" name="key" type="text" size={14} value={f.key} />
          </div>
          <div>
            <label for="o-operator">Operator</label>
            <input id="o-operator" name="operator" type="text" size={12} value={f.operator} />
          </div>
          <div>
            <label for="o-operation">Operation</label>
            <select id="o-operation" name="operation">
              <option value="" selected={f.operation === ""}>any</option>
              {OPERATION_CHOICES.map((o) => (
                <option value={o} selected={o === f.operation}>{o}</option>
              ))}
            </select>
          </div>
          <div>
            <label for="o-from">From (UTC)</label>
            <input id="o-from" name="from" type="datetime-local" value={f.from} />
          </div>
          <div>
            <label for="o-to">To (UTC)</label>
            <input id="o-to" name="to" type="datetime-local" value={f.to} />
          </div>
          <button type="submit">Filter</button>
          <a class="btn" href="/oplog">Clear</a>
        </form>
        <div class="scroll">
          <table class="data" data-testid="oplog">
            <caption class="sr">Operation log entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Operator</th>
                <th scope="col">Operation</th>
                <th scope="col">Target</th>
                <th scope="col">Versions</th>
                <th scope="col">Remark</th>
                <th scope="col">Request id</th>
              </tr>
            </thead>
            <tbody>
              {page.items.length === 0
                ? (
                  <tr>
                    <td colspan={7} class="muted">No entries.</td>
                  </tr>
                )
                : page.items.map((e) => (
                  <tr>
                    <td>
                      <Time iso={e.time} />
                    </td>
                    <td>{e.operator}</td>
                    <td>{e.operation}</td>
                    <td>
                      {e.app && e.env && e.key
                        ? <a href={elementPage(e.app, e.env, e.key)}>{e.app}/{e.env}/{e.key}</a>
                        : e.target}
                    </td>
                    <td>{versions(e)}</td>
                    <td>{e.remark}</td>
                    <td>
                      <code>{e.requestId}</code>
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
        {page.next
          ? (
            <p class="pager">
              <a href={oplogPage({ ...f, cursor: page.next })}>Older entries</a>
            </p>
          )
          : null}
      </Layout>,
      (error?.status ?? 200) as ContentfulStatusCode,
    );
  });
  return r;
}
