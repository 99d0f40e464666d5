/** @jsxImportSource hono/jsx */
/**
 * One app: `GET /apps/{app}` shows it and its envs (`GET /api/apps/{app}`,
 * `GET .../envs`) with a form to create an env (`POST .../envs/{env}`),
 * posted to `POST /apps/{app}/envs`.
 *
 * @module
 */

import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError, apiPath } from "./api.ts";
import type { AppView, EnvView } from "./api_types.ts";
import { Time } from "./components.tsx";
import { sessionOf, type UiContext, type UiEnv } from "./context.ts";
import { field, formOf } from "./form.ts";
import { CsrfField, Layout } from "./layout.tsx";
import { appPage, envPage, instancesPage, oplogPage } from "./paths.ts";
import { setFlash } from "./session.ts";

interface CreateForm {
  readonly env: string;
  readonly description: string;
  readonly requireApproval: boolean;
}

async function render(c: UiContext, form: CreateForm, error?: ApiError): Promise<Response> {
  const s = sessionOf(c);
  const id = c.req.param("app")!;
  const [app, envs] = await Promise.all([
    s.api.get<AppView>(apiPath("apps", id)),
    s.api.get<{ items: EnvView[] }>(apiPath("apps", id, "envs")),
  ]);
  return c.html(
    <Layout
      title={`App ${app.id}`}
      session={s}
      section="apps"
      crumbs={[{ label: "Apps", href: "/" }, { label: app.id }]}
      error={error?.message}
    >
      <dl class="facts panel">
        <dt>Description</dt>
        <dd>{app.description || <span class="muted">none</span>}</dd>
        <dt>Owner</dt>
        <dd>{app.owner}</dd>
        <dt>Status</dt>
        <dd>{app.status}</dd>
        <dt>Updated</dt>
        <dd>
          <Time iso={app.updatedAt} /> by {app.updatedBy}
        </dd>
      </dl>
      <p>
        <a href={instancesPage({ app: app.id })}>Instances of {app.id}</a> ·{" "}
        <a href={oplogPage({ app: app.id })}>Operation log of {app.id}</a>
      </p>
      <h2>Environments</h2>
      <div class="scroll">
        <table class="data" data-testid="envs">
          <caption class="sr">Environments of {app.id}</caption>
          <thead>
            <tr>
              <th scope="col">Env</th>
              <th scope="col">Description</th>
              <th scope="col">Publishing</th>
              <th scope="col">Client secret</th>
            </tr>
          </thead>
          <tbody>
            {envs.items.length === 0
              ? (
                <tr>
                  <td colspan={4} class="muted">No environments yet.</td>
                </tr>
              )
              : envs.items.map((e) => (
                <tr>
                  <td>
                    <a href={envPage(e.app, e.env)}>{e.env}</a>
                  </td>
                  <td>{e.description}</td>
                  <td>{e.requireApproval ? "needs approval" : "direct"}</td>
                  <td>{e.hasClientSecret ? "required" : "none"}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
      <section aria-labelledby="create-env">
        <h2 id="create-env">Create an environment</h2>
        <form class="stack" method="post" action={`${appPage(app.id)}/envs`}>
          <CsrfField session={s} />
          <div>
            <label for="env-name">Env name</label>
            <input
              id="env-name"
              name="env"
              type="text"
              required
              pattern="[a-z0-9][a-z0-9._\-]{0,63}"
              aria-describedby="env-name-hint"
              aria-invalid={error?.field === "path.env" ? "true" : undefined}
              value={form.env}
            />
            <p id="env-name-hint" class="hint">e.g. dev, staging, prod: 1 to 64 of a-z 0-9 . _ -</p>
          </div>
          <div>
            <label for="env-description">Description</label>
            <input id="env-description" name="description" type="text" value={form.description} />
          </div>
          <div class="check">
            <input
              id="env-approval"
              name="requireApproval"
              type="checkbox"
              value="on"
              checked={form.requireApproval}
            />{" "}
            <label for="env-approval">
              Publishing needs approval by another releaser (four-eyes)
            </label>
          </div>
          <div>
            <button class="primary" type="submit">Create environment</button>
          </div>
        </form>
      </section>
    </Layout>,
    (error?.status ?? 200) as ContentfulStatusCode,
  );
}

/** The app page's routes, mounted at `/apps/:app`. */
export function appRoutes(): Hono<UiEnv> {
  const r = new Hono<UiEnv>();
  r.get("/", (c) => render(c, { env: "", description: "", requireApproval: false }));
  r.post("/envs", async (c) => {
    const f = await formOf(c);
    const app = c.req.param("app")!;
    const form = {
      env: field(f, "env"),
      description: field(f, "description"),
      requireApproval: f.requireApproval === "on",
    };
    try {
      await sessionOf(c).api.send("POST", apiPath("apps", app, "envs", form.env), {
        description: form.description,
        requireApproval: form.requireApproval,
      });
    } catch (e) {
      if (e instanceof ApiError && e.status < 500 && e.status !== 401) return render(c, form, e);
      throw e;
    }
    setFlash(c, `Created environment ${form.env}`);
    return c.redirect(envPage(app, form.env), 303);
  });
  return r;
}
