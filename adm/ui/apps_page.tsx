/** @jsxImportSource hono/jsx */
/**
 * The apps: `GET /` lists them (`GET /api/apps`, filtered by a name prefix,
 * paged) with a form to create one (admins: `POST /api/apps/{app}`),
 * posted to `POST /apps`.
 *
 * @module
 */

import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError, apiPath } from "./api.ts";
import type { AppView, Page } from "./api_types.ts";
import { Time } from "./components.tsx";
import { sessionOf, type UiContext, type UiEnv } from "./context.ts";
import { field, formOf } from "./form.ts";
import { CsrfField, Layout } from "./layout.tsx";
import { appPage } from "./paths.ts";
import { setFlash } from "./session.ts";

interface CreateForm {
  readonly id: string;
  readonly description: string;
}

async function render(c: UiContext, form: CreateForm, error?: ApiError): Promise<Response> {
  const s = sessionOf(c);
  const prefix = c.req.query("prefix") ?? "";
  const seek = c.req.query("seek") ?? "";
  const page = await s.api.get<Page<AppView>>("/api/apps", { prefix, seek, limit: 50 });
  return c.html(
    <Layout title="Apps" session={s} section="apps" error={error?.message}>
      <form class="inline" method="get" action="/" role="search" aria-label="Filter apps">
        <div>
          <label for="prefix">App id starts with</label>
          <input id="prefix" name="prefix" type="text" value={prefix} />
        </div>
        <button type="submit">Filter</button>
      </form>
      <div class="scroll">
        <table class="data" data-testid="apps">
          <caption class="sr">Apps</caption>
          <thead>
            <tr>
              <th scope="col">App</th>
              <th scope="col">Description</th>
              <th scope="col">Owner</th>
              <th scope="col">Status</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {page.items.length === 0
              ? (
                <tr>
                  <td colspan={5} class="muted">
                    No apps{prefix ? ` starting with ${prefix}` : ""}.
                  </td>
                </tr>
              )
              : page.items.map((a) => (
                <tr>
                  <td>
                    <a href={appPage(a.id)}>{a.id}</a>
                  </td>
                  <td>{a.description}</td>
                  <td>{a.owner}</td>
                  <td>{a.status}</td>
                  <td>
                    <Time iso={a.updatedAt} /> by {a.updatedBy}
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
      {page.next
        ? (
          <p class="pager">
            <a
              href={`/?prefix=${encodeURIComponent(prefix)}&seek=${encodeURIComponent(page.next)}`}
            >
              Next apps
            </a>
          </p>
        )
        : null}
      {s.admin
        ? (
          <section aria-labelledby="create-app">
            <h2 id="create-app">Create an app</h2>
            <form class="stack" method="post" action="/apps">
              <CsrfField session={s} />
              <div>
                <label for="app-id">App id</label>
                <input
                  id="app-id"
                  name="id"
                  type="text"
                  required
                  pattern="[a-z0-9][a-z0-9._\-]{0,63}"
                  aria-describedby="app-id-hint"
                  aria-invalid={error?.field === "path.app" ? "true" : undefined}
                  value={form.id}
                />
                <p id="app-id-hint" class="hint">
                  1 to 64 of a-z 0-9 . _ - starting with a letter or digit
                </p>
              </div>
              <div>
                <label for="app-description">Description</label>
                <input
                  id="app-description"
                  name="description"
                  type="text"
                  value={form.description}
                />
              </div>
              <div>
                <button class="primary" type="submit">Create app</button>
              </div>
            </form>
          </section>
        )
        : null}
    </Layout>,
    (error?.status ?? 200) as ContentfulStatusCode,
  );
}

/** The apps routes, mounted at `/`. */
export function appsRoutes(): Hono<UiEnv> {
  const r = new Hono<UiEnv>();
  r.get("/", (c) => render(c, { id: "", description: "" }));
  r.post("/apps", async (c) => {
    const f = await formOf(c);
    const form = { id: field(f, "id"), description: field(f, "description") };
    try {
      await sessionOf(c).api.send("POST", apiPath("apps", form.id), {
        description: form.description,
      });
    } catch (e) {
      if (e instanceof ApiError && e.status < 500 && e.status !== 401) return render(c, form, e);
      throw e;
    }
    setFlash(c, `Created app ${form.id}`);
    return c.redirect(appPage(form.id), 303);
  });
  return r;
}
