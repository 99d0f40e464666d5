/** @jsxImportSource hono/jsx */
/**
 * One env: `GET /apps/{app}/envs/{env}` lists its elements with their
 * versions (`GET .../elements`: live, gray, unpublished, latest), the
 * publish requests waiting for approval (`GET .../approvals`), and a form
 * to create an element (key, content type, content checked as typed,
 * remark), posted to `POST .../elements` (`POST /api/.../elements/{key}`).
 *
 * @module
 */

import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ContentType } from "../../shared/config/mod.ts";
import { ApiError, apiPath } from "./api.ts";
import type { ApprovalView, ElementView, EnvView, Page } from "./api_types.ts";
import { Badges, Time } from "./components.tsx";
import { sessionOf, type UiContext, type UiEnv } from "./context.ts";
import { RawEditor, textareaText } from "./editor.tsx";
import { field, formOf } from "./form.ts";
import { isContentType } from "./client/validate.ts";
import { CsrfField, Layout } from "./layout.tsx";
import { appPage, elementPage, envPage, instancesPage, oplogPage } from "./paths.ts";
import { setFlash } from "./session.ts";

interface CreateForm {
  readonly key: string;
  readonly contentType: ContentType;
  readonly raw: string;
  readonly remark: string;
}

const EMPTY: CreateForm = { key: "", contentType: "json", raw: "", remark: "" };

/** A version number, or a dash. */
function v(n: number | null): string {
  return n === null ? "—" : `v${n}`;
}

async function render(c: UiContext, form: CreateForm, error?: ApiError): Promise<Response> {
  const s = sessionOf(c);
  const app = c.req.param("app")!;
  const env = c.req.param("env")!;
  const seek = c.req.query("seek") ?? "";
  const [envRec, elements, approvals] = await Promise.all([
    s.api.get<EnvView>(apiPath("apps", app, "envs", env)),
    s.api.get<Page<ElementView>>(apiPath("apps", app, "envs", env, "elements"), {
      seek,
      limit: 100,
    }),
    s.api.get<{ items: ApprovalView[] }>(apiPath("apps", app, "envs", env, "approvals")),
  ]);
  const contentError = error?.field === "body.raw" || error?.status === 422;
  return c.html(
    <Layout
      title={`${app} / ${env}`}
      session={s}
      section="apps"
      crumbs={[
        { label: "Apps", href: "/" },
        { label: app, href: appPage(app) },
        { label: env },
      ]}
      error={error?.message}
      script
    >
      <p class="muted">
        {envRec.description ? `${envRec.description} · ` : ""}
        {envRec.requireApproval
          ? "Publishing in this env needs approval by another releaser."
          : "Publishing in this env is direct."} <a href={instancesPage({ app, env })}>Instances</a>
        {" "}
        · <a href={oplogPage({ app, env })}>Operation log</a>
      </p>
      {approvals.items.length > 0
        ? (
          <section aria-labelledby="approvals" class="panel">
            <h2 id="approvals">Waiting for approval ({approvals.items.length})</h2>
            <ul>
              {approvals.items.map((a) => (
                <li>
                  <a href={elementPage(app, env, a.key)}>{a.key}</a>: {a.action} v{a.version}{" "}
                  requested by {a.requestedBy} at <Time iso={a.requestedAt} />
                  {a.remark ? ` (“${a.remark}”)` : ""}
                </li>
              ))}
            </ul>
          </section>
        )
        : null}
      <h2>Elements</h2>
      <div class="scroll">
        <table class="data" data-testid="elements">
          <caption class="sr">Elements of {app} / {env}</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Type</th>
              <th scope="col">Live</th>
              <th scope="col">Gray</th>
              <th scope="col">Unpublished</th>
              <th scope="col">Latest</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {elements.items.length === 0
              ? (
                <tr>
                  <td colspan={7} class="muted">No elements yet.</td>
                </tr>
              )
              : elements.items.map((e) => (
                <tr>
                  <td>
                    <a href={elementPage(app, env, e.key)}>{e.key}</a>{" "}
                    {e.secret ? <span class="badge secret">secret</span> : null}
                  </td>
                  <td>{e.contentType}</td>
                  <td>{v(e.publishedVersion)}</td>
                  <td>{v(e.grayVersion)}</td>
                  <td>{v(e.unpublishedVersion)}</td>
                  <td>
                    v{e.latestVersion}{" "}
                    <Badges
                      live={e.latestVersion === e.publishedVersion}
                      gray={e.latestVersion === e.grayVersion}
                      unpublished={e.latestVersion === e.unpublishedVersion}
                    />
                  </td>
                  <td>
                    <Time iso={e.updatedAt} /> by {e.updatedBy}
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
      {elements.next
        ? (
          <p class="pager">
            <a href={`${envPage(app, env)}?seek=${encodeURIComponent(elements.next)}`}>
              Next elements
            </a>
          </p>
        )
        : null}
      <section aria-labelledby="create-element">
        <h2 id="create-element">Create an element</h2>
        <form
          class="stack"
          method="post"
          action={`${envPage(app, env)}/elements`}
          data-editor
        >
          <CsrfField session={s} />
          <div>
            <label for="element-key">Key</label>
            <input
              id="element-key"
              name="key"
              type="text"
              required
              pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,127}"
              aria-describedby="element-key-hint"
              aria-invalid={error?.field === "path.key" ? "true" : undefined}
              value={form.key}
            />
            <p id="element-key-hint" class="hint">
              e.g. db.json: 1 to 128 of A-Z a-z 0-9 . _ - starting with a letter or digit
            </p>
          </div>
          <RawEditor
            value={form.raw}
            contentType={form.contentType}
            choose
            error={contentError ? error?.message : undefined}
          />
          <div>
            <label for="element-remark">Remark</label>
            <input id="element-remark" name="remark" type="text" value={form.remark} />
          </div>
          <div>
            <button class="primary" type="submit">Create version 1</button>
          </div>
        </form>
      </section>
    </Layout>,
    (error?.status ?? 200) as ContentfulStatusCode,
  );
}

/** The env page's routes, mounted at `/apps/:app/envs/:env`. */
export function envRoutes(): Hono<UiEnv> {
  const r = new Hono<UiEnv>();
  r.get("/", (c) => render(c, EMPTY));
  r.post("/elements", async (c) => {
    const f = await formOf(c);
    const app = c.req.param("app")!;
    const env = c.req.param("env")!;
    const type = field(f, "contentType");
    const form: CreateForm = {
      key: field(f, "key"),
      contentType: isContentType(type) ? type : "json",
      raw: textareaText(f.raw ?? ""),
      remark: field(f, "remark"),
    };
    try {
      await sessionOf(c).api.send("POST", apiPath("apps", app, "envs", env, "elements", form.key), {
        raw: form.raw,
        contentType: type,
        remark: form.remark,
      });
    } catch (e) {
      if (e instanceof ApiError && e.status < 500 && e.status !== 401) return render(c, form, e);
      throw e;
    }
    setFlash(c, `Created ${form.key} version 1 (not live yet: publish it to serve it)`);
    return c.redirect(elementPage(app, env, form.key), 303);
  });
  return r;
}
