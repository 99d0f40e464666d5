/** @jsxImportSource hono/jsx */
/**
 * A new version: `GET .../elements/{key}/edit` opens the editor on the
 * latest version's text (`?from=N`: another version's), checked as the
 * user types with the server's parser; `POST` the same path saves it as a
 * new version (`PUT /api/.../elements/{key}` with the element's ETag of
 * when the editor opened as If-Match, so an edit made meanwhile is not
 * overwritten). A refusal (422 naming line and column, 409, 412) shows in
 * the editor with the text kept.
 *
 * @module
 */

import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "./api.ts";
import type { ElementView, VersionView } from "./api_types.ts";
import { sessionOf, type UiContext, type UiEnv } from "./context.ts";
import { RawEditor, textareaText } from "./editor.tsx";
import { elementApi, readVersion } from "./element_data.ts";
import { elementCrumbs, refOf } from "./element_page.tsx";
import { field, formOf } from "./form.ts";
import { CsrfField, Layout } from "./layout.tsx";
import { elementPage } from "./paths.ts";
import { setFlash } from "./session.ts";

interface EditForm {
  readonly raw: string;
  readonly remark: string;
  readonly etag: string;
  readonly from: number;
}

function render(
  c: UiContext,
  element: ElementView,
  form: EditForm,
  error?: ApiError,
): Response | Promise<Response> {
  const s = sessionOf(c);
  const ref = refOf(c);
  const next = element.latestVersion + 1;
  const contentError = error !== undefined && (error.status === 422 || error.field === "body.raw");
  return c.html(
    <Layout
      title={`Edit ${ref.key}`}
      session={s}
      section="apps"
      crumbs={elementCrumbs(ref, "Edit")}
      error={error?.message}
      script
    >
      <p class="muted">
        Starting from version {form.from}. Saving adds version{" "}
        {next}; it is not live until you publish it.
      </p>
      {element.unpublishedVersion !== null
        ? (
          <p class="alert">
            Version {element.unpublishedVersion}{" "}
            is not published yet: the server refuses a new version until it is.
          </p>
        )
        : null}
      <form
        class="stack wide"
        method="post"
        action={elementPage(ref.app, ref.env, ref.key, "/edit")}
        data-editor
      >
        <CsrfField session={s} />
        <input type="hidden" name="etag" value={form.etag} />
        <input type="hidden" name="from" value={String(form.from)} />
        <RawEditor
          value={form.raw}
          contentType={element.contentType}
          error={contentError ? error?.message : undefined}
        />
        <div>
          <label for="remark">Remark</label>
          <input id="remark" name="remark" type="text" class="full" value={form.remark} />
        </div>
        <div class="inline">
          <button class="primary" type="submit">Save as version {next}</button>
          <a class="btn" href={elementPage(ref.app, ref.env, ref.key)}>Cancel</a>
        </div>
      </form>
    </Layout>,
    (error?.status ?? 200) as ContentfulStatusCode,
  );
}

/** The editor's routes, mounted at `/apps/:app/envs/:env/elements/:key`. */
export function editorRoutes(): Hono<UiEnv> {
  const r = new Hono<UiEnv>();

  r.get("/edit", async (c) => {
    const s = sessionOf(c);
    const ref = refOf(c);
    const from = c.req.query("from");
    let v: VersionView = await readVersion(s.api, ref);
    const start = from !== undefined && /^[0-9]{1,10}$/.test(from)
      ? Number(from)
      : v.element.latestVersion;
    if (start !== v.version) v = await readVersion(s.api, ref, start);
    return render(c, v.element, {
      raw: v.raw ?? "",
      remark: "",
      etag: v.element.etag,
      from: v.version,
    });
  });

  r.post("/edit", async (c) => {
    const s = sessionOf(c);
    const ref = refOf(c);
    const f = await formOf(c);
    const fromText = field(f, "from");
    const from = /^[0-9]{1,10}$/.test(fromText) ? Number(fromText) : undefined;
    const base = from === undefined ? undefined : await readVersion(s.api, ref, from);
    const form: EditForm = {
      raw: textareaText(f.raw ?? "", base?.raw ?? undefined),
      remark: field(f, "remark"),
      etag: field(f, "etag"),
      from: base?.version ?? 0,
    };
    try {
      const { body } = await s.api.send<{ version: number }>(
        "PUT",
        elementApi(ref),
        { raw: form.raw, remark: form.remark },
        form.etag,
      );
      setFlash(c, `Saved version ${body.version} (not live yet: publish it to serve it)`);
      return c.redirect(elementPage(ref.app, ref.env, ref.key), 303);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status === 401 || e.status >= 500) throw e;
      const element = (await readVersion(s.api, ref)).element;
      const err = e.status === 412
        ? new ApiError(
          412,
          e.code,
          `${e.message}. Someone changed ${ref.key} after you opened the editor: your text is kept below; compare it with the latest version before saving again`,
          e.field,
        )
        : e;
      return render(
        c,
        element,
        { ...form, etag: e.status === 412 ? form.etag : element.etag },
        err,
      );
    }
  });

  return r;
}
