/** @jsxImportSource hono/jsx */
/**
 * One element: `GET /apps/{app}/envs/{env}/elements/{key}` shows its state
 * (live, gray with its rule, unpublished, latest), one version's text
 * (`?version=N`, else the live one, else the latest), its versions with
 * their badges, a pending approval request, and the forms that start each
 * release action. Every action form leads to the confirm page
 * (`confirm_page.tsx`), which shows the diff it will apply first.
 *
 * @module
 */

import { Hono } from "hono";
import type { Child, FC } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { VersionInfoView } from "./api_types.ts";
import { Badges, Time } from "./components.tsx";
import { sessionOf, type UiContext, type UiEnv } from "./context.ts";
import { type ElementRef, type ElementState, readElementState } from "./element_data.ts";
import { asGrayRule, describeRule, fieldsOf, type GrayFields } from "./gray_form.ts";
import { Layout } from "./layout.tsx";
import { appPage, elementPage, envPage, instancesPage, oplogPage } from "./paths.ts";

/** The element a request is about (its path parameters). */
export function refOf(c: UiContext): ElementRef {
  return { app: c.req.param("app")!, env: c.req.param("env")!, key: c.req.param("key")! };
}

/** The breadcrumbs of a page below element `ref` (`here`: that page's own label). */
export function elementCrumbs(ref: ElementRef, here?: string) {
  return [
    { label: "Apps", href: "/" },
    { label: ref.app, href: appPage(ref.app) },
    { label: ref.env, href: envPage(ref.app, ref.env) },
    here ? { label: ref.key, href: elementPage(ref.app, ref.env, ref.key) } : { label: ref.key },
    ...(here ? [{ label: here }] : []),
  ];
}

const VersionSelect: FC<{
  id: string;
  label: string;
  versions: readonly VersionInfoView[];
  selected?: number | null;
}> = (p) => (
  <div>
    <label for={p.id}>{p.label}</label>
    <select id={p.id} name="version" required>
      {p.versions.map((v) => (
        <option value={String(v.version)} selected={v.version === p.selected}>
          v{v.version}
          {v.live ? " (live)" : v.gray ? " (gray)" : !v.published ? " (unpublished)" : ""}
          {v.remark ? ` — ${v.remark.slice(0, 40)}` : ""}
        </option>
      ))}
    </select>
  </div>
);

/** The fields of a gray rule: mode radios and one input per mode. */
export const GrayRuleFields: FC<{ prefix: string; value: GrayFields }> = (p) => {
  const id = (s: string) => `${p.prefix}-${s}`;
  const mode = p.value.mode ?? "labels";
  return (
    <fieldset>
      <legend>Who gets it</legend>
      <div class="check">
        <input
          type="radio"
          id={id("mode-labels")}
          name="mode"
          value="labels"
          checked={mode === "labels"}
        />{" "}
        <label for={id("mode-labels")}>Clients with labels</label>
      </div>
      <div>
        <label for={id("labels")}>Label selector</label>
        <input
          id={id("labels")}
          name="labels"
          type="text"
          placeholder="region=eu,tier=canary"
          aria-describedby={id("labels-hint")}
          value={p.value.labels ?? ""}
        />
        <p id={id("labels-hint")} class="hint">Clients whose labels hold every name=value pair</p>
      </div>
      <div class="check">
        <input
          type="radio"
          id={id("mode-clients")}
          name="mode"
          value="clients"
          checked={mode === "clients"}
        />{" "}
        <label for={id("mode-clients")}>Chosen client ids</label>
      </div>
      <div>
        <label for={id("client-ids")}>Client ids</label>
        <input
          id={id("client-ids")}
          name="clientIds"
          type="text"
          placeholder="web-1, web-2"
          aria-describedby={id("client-ids-hint")}
          value={p.value.clientIds ?? ""}
        />
        <p id={id("client-ids-hint")} class="hint">Separated by commas or spaces, at most 200</p>
      </div>
      <div class="check">
        <input
          type="radio"
          id={id("mode-percentage")}
          name="mode"
          value="percentage"
          checked={mode === "percentage"}
        />{" "}
        <label for={id("mode-percentage")}>A percentage of clients</label>
      </div>
      <div>
        <label for={id("percent")}>Percent of clients</label>
        <input
          id={id("percent")}
          name="percent"
          type="number"
          min="0.01"
          max="100"
          step="0.01"
          aria-describedby={id("percent-hint")}
          value={p.value.percent ?? ""}
        />
        <p id={id("percent-hint")} class="hint">
          Chosen by a stable hash of the client id; widening only adds clients
        </p>
      </div>
    </fieldset>
  );
};

const GRAY_RUNNING = "A gray release is running: promote or abort it first.";

/** `children`, or the sentence `none` in their place when there is nothing to choose. */
const Choice: FC<{ none: string | undefined; children?: Child }> = (p) =>
  p.none === undefined ? <>{p.children}</> : <p class="muted">{p.none}</p>;

/** `text` for a `<pre>`: HTML drops one leading newline of a pre's text, so one is added. */
function leadingNewline(text: string): string {
  return "\n" + text;
}

function ActionsPanel(p: { ref: ElementRef; st: ElementState }) {
  const { ref, st } = p;
  const e = st.element;
  const confirm = elementPage(ref.app, ref.env, ref.key, "/confirm");
  const live = e.publishedVersion;
  const newer = st.versions.filter((v) => live === null || v.version > live);
  const older = st.versions.filter((v) => live !== null && v.version < live && v.published);
  const grayRule = st.gray ? asGrayRule(st.gray.rule) : undefined;
  return (
    <section aria-labelledby="actions-h" class="actions">
      <h2 id="actions-h">Actions</h2>
      {st.approval
        ? (
          <div class="panel" data-testid="approval">
            <h3>Waiting for approval</h3>
            <p>
              {st.approval.requestedBy} asked to {st.approval.action} version {st.approval.version}
              {" "}
              at <Time iso={st.approval.requestedAt} />
              {st.approval.remark ? ` (“${st.approval.remark}”)` : ""}.
            </p>
            <div class="inline">
              <a class="btn primary" href={`${confirm}?action=approve&id=${st.approval.id}`}>
                Review and approve
              </a>
              <a class="btn" href={`${confirm}?action=reject&id=${st.approval.id}`}>Reject</a>
            </div>
          </div>
        )
        : null}
      <div class="panel">
        <h3>Edit</h3>
        {e.unpublishedVersion === null
          ? (
            <p>
              <a class="btn" href={elementPage(ref.app, ref.env, ref.key, "/edit")}>
                Edit as version {e.latestVersion + 1}
              </a>
            </p>
          )
          : (
            <p class="muted">
              Version {e.unpublishedVersion}{" "}
              is not published yet: publish it (or a gray release of it) before adding another.
            </p>
          )}
      </div>
      <form class="panel stack" method="get" action={confirm} aria-labelledby="publish-h">
        <h3 id="publish-h">Publish</h3>
        <input type="hidden" name="action" value="publish" />
        {st.gray ? <p class="muted">{GRAY_RUNNING}</p> : (
          <Choice
            none={newer.length === 0 ? "No version newer than the live one." : undefined}
          >
            <VersionSelect
              id="publish-version"
              label="Version to publish"
              versions={newer}
              selected={e.unpublishedVersion ?? e.latestVersion}
            />
            <div>
              <button class="primary" type="submit">Review publish…</button>
            </div>
          </Choice>
        )}
      </form>
      {st.gray
        ? (
          <div class="panel" data-testid="gray">
            <h3>Gray release running</h3>
            <p>
              Version {st.gray.version} goes to{" "}
              {grayRule ? describeRule(grayRule) : "some clients"}, since{" "}
              <Time iso={st.gray.startedAt} />.
            </p>
            <div class="inline">
              <a class="btn primary" href={`${confirm}?action=promote`}>Review promote…</a>
              <a class="btn" href={`${confirm}?action=abort`}>Review abort…</a>
            </div>
            <form class="stack" method="get" action={confirm} aria-labelledby="widen-h">
              <h3 id="widen-h">Change who gets it</h3>
              <input type="hidden" name="action" value="widen" />
              <GrayRuleFields prefix="widen" value={grayRule ? fieldsOf(grayRule) : {}} />
              <div>
                <button type="submit">Review change…</button>
              </div>
            </form>
          </div>
        )
        : (
          <form class="panel stack" method="get" action={confirm} aria-labelledby="gray-h">
            <h3 id="gray-h">Gray release</h3>
            <input type="hidden" name="action" value="gray" />
            {newer.length === 0 ? <p class="muted">No version newer than the live one.</p> : (
              <>
                <VersionSelect
                  id="gray-version"
                  label="Version to release to some clients"
                  versions={newer}
                  selected={e.unpublishedVersion ?? e.latestVersion}
                />
                <GrayRuleFields prefix="gray" value={{}} />
                <div>
                  <button type="submit">Review gray release…</button>
                </div>
              </>
            )}
          </form>
        )}
      <form class="panel stack" method="get" action={confirm} aria-labelledby="rollback-h">
        <h3 id="rollback-h">Roll back</h3>
        <input type="hidden" name="action" value="rollback" />
        {st.gray ? <p class="muted">{GRAY_RUNNING}</p> : (
          <Choice
            none={older.length === 0 ? "No earlier published version to go back to." : undefined}
          >
            <VersionSelect
              id="rollback-version"
              label="Earlier version to make live again"
              versions={older}
              selected={older[0]?.version}
            />
            <div>
              <button class="danger" type="submit">Review rollback…</button>
            </div>
          </Choice>
        )}
      </form>
    </section>
  );
}

async function render(c: UiContext, error?: string, status = 200): Promise<Response> {
  const s = sessionOf(c);
  const ref = refOf(c);
  const asked = c.req.query("version");
  const st = await readElementState(
    s.api,
    ref,
    asked !== undefined && /^[0-9]{1,10}$/.test(asked) ? Number(asked) : undefined,
  );
  const e = st.element;
  const grayRule = st.gray ? asGrayRule(st.gray.rule) : undefined;
  const diffBase = e.publishedVersion ?? undefined;
  return c.html(
    <Layout
      title={e.key}
      session={s}
      section="apps"
      crumbs={elementCrumbs(ref)}
      error={error}
    >
      <div class="cols">
        <div>
          <dl class="facts panel" data-testid="element-facts">
            <dt>Content type</dt>
            <dd>
              {e.contentType}
              {e.secret ? <span class="badge secret">secret</span> : null}
              {e.hasSchema ? " · checked against a JSON Schema" : ""}
            </dd>
            <dt>Live</dt>
            <dd data-testid="live-version">
              {e.publishedVersion === null ? "nothing yet" : `version ${e.publishedVersion}`}
            </dd>
            <dt>Gray</dt>
            <dd data-testid="gray-version">
              {st.gray
                ? `version ${st.gray.version} to ${
                  grayRule ? describeRule(grayRule) : "some clients"
                }`
                : "none"}
            </dd>
            <dt>Unpublished</dt>
            <dd>{e.unpublishedVersion === null ? "none" : `version ${e.unpublishedVersion}`}</dd>
            <dt>Latest</dt>
            <dd>version {e.latestVersion}</dd>
            <dt>Fingerprint</dt>
            <dd>
              <code>{e.fingerprint.slice(0, 16)}</code>
            </dd>
            <dt>Updated</dt>
            <dd>
              <Time iso={e.updatedAt} /> by {e.updatedBy}
            </dd>
          </dl>
          <p>
            <a href={instancesPage({ app: ref.app, env: ref.env, key: ref.key })}>
              Instances watching {ref.key}
            </a>{" "}
            ·{" "}
            <a href={oplogPage({ app: ref.app, env: ref.env, key: ref.key })}>Its operation log</a>
            {" · "}
            <a
              href={elementPage(ref.app, ref.env, ref.key, "/diff", {
                base: diffBase ?? Math.max(1, e.latestVersion - 1),
                compare: e.latestVersion,
              })}
            >
              Compare versions
            </a>
          </p>
          <h2>
            Version {st.shown.version}{" "}
            <Badges live={st.shown.live} gray={st.shown.gray} unpublished={!st.shown.published} />
          </h2>
          {st.shown.raw === null
            ? <p class="muted">This secret's content is hidden from you.</p>
            : (
              <pre
                class="code"
                data-testid="content"
                tabindex={0}
                aria-label={`Content of version ${st.shown.version}`}
              >
                {leadingNewline(st.shown.raw)}
              </pre>
            )}
          <p class="hint">
            By {st.shown.author} at <Time iso={st.shown.createdAt} />
            {st.shown.remark ? ` — ${st.shown.remark}` : ""}
          </p>
          <h2>Versions</h2>
          <div class="scroll">
            <table class="data" data-testid="versions">
              <caption class="sr">Versions of {e.key}, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">State</th>
                  <th scope="col">Author</th>
                  <th scope="col">Created</th>
                  <th scope="col">Remark</th>
                  <th scope="col">Compare</th>
                </tr>
              </thead>
              <tbody>
                {st.versions.map((v) => (
                  <tr>
                    <td>
                      <a href={elementPage(ref.app, ref.env, ref.key, "", { version: v.version })}>
                        v{v.version}
                      </a>
                    </td>
                    <td>
                      <Badges live={v.live} gray={v.gray} unpublished={!v.published} />
                    </td>
                    <td>{v.author}</td>
                    <td>
                      <Time iso={v.createdAt} />
                    </td>
                    <td>{v.remark}</td>
                    <td>
                      {v.version > 1
                        ? (
                          <a
                            href={elementPage(ref.app, ref.env, ref.key, "/diff", {
                              base: v.version - 1,
                              compare: v.version,
                            })}
                          >
                            v{v.version - 1} → v{v.version}
                          </a>
                        )
                        : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
        <ActionsPanel ref={ref} st={st} />
      </div>
    </Layout>,
    status as ContentfulStatusCode,
  );
}

/** Renders the element page with `error` in its alert region (a refused action). */
export function renderElement(c: UiContext, error: string, status: number): Promise<Response> {
  return render(c, error, status);
}

/** The element page's route, mounted at `/apps/:app/envs/:env/elements/:key`. */
export function elementRoutes(): Hono<UiEnv> {
  const r = new Hono<UiEnv>();
  r.get("/", (c) => render(c));
  return r;
}
