/** @jsxImportSource hono/jsx */
/**
 * Comparing two versions: `GET .../elements/{key}/diff?base=N&compare=M`
 * shows them side by side (`GET /api/.../diff`: the unified diff laid out
 * in two columns, changed lines paired) with the structural changes, and a
 * form to pick the two versions.
 *
 * @module
 */

import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "./api.ts";
import type { Page, VersionInfoView } from "./api_types.ts";
import { DiffTable, StructuralChanges } from "./components.tsx";
import { sessionOf, type UiEnv } from "./context.ts";
import { elementApi, readDiff, readVersion, type ShownDiff } from "./element_data.ts";
import { elementCrumbs, refOf } from "./element_page.tsx";
import { Layout } from "./layout.tsx";
import { elementPage } from "./paths.ts";

function num(s: string | undefined): number | undefined {
  return s !== undefined && /^[0-9]{1,10}$/.test(s) && Number(s) >= 1 ? Number(s) : undefined;
}

function label(v: VersionInfoView): string {
  return `v${v.version}${
    v.live ? " (live)" : v.gray ? " (gray)" : !v.published ? " (unpublished)" : ""
  }`;
}

/** The diff page's route, mounted at `/apps/:app/envs/:env/elements/:key`. */
export function diffRoutes(): Hono<UiEnv> {
  const r = new Hono<UiEnv>();
  r.get("/diff", async (c) => {
    const s = sessionOf(c);
    const ref = refOf(c);
    const head = await readVersion(s.api, ref);
    const latest = head.element.latestVersion;
    const compare = num(c.req.query("compare")) ?? latest;
    const base = num(c.req.query("base")) ?? head.element.publishedVersion ??
      Math.max(1, compare - 1);
    const from = latest - 100;
    // A refused diff (a version that does not exist) shows on the page with the pickers.
    const tryDiff = async (): Promise<ShownDiff | ApiError> => {
      try {
        return await readDiff(s.api, ref, base, compare);
      } catch (e) {
        if (e instanceof ApiError && e.status < 500 && e.status !== 401) return e;
        throw e;
      }
    };
    const [versions, diff] = await Promise.all([
      s.api.get<Page<VersionInfoView>>(elementApi(ref, "versions"), {
        limit: 100,
        seek: from > 0 ? String(from) : undefined,
      }),
      tryDiff(),
    ]);
    const list = [...versions.items].reverse();
    const failed = diff instanceof ApiError ? diff : undefined;
    return c.html(
      <Layout
        title={`Compare versions of ${ref.key}`}
        session={s}
        section="apps"
        crumbs={elementCrumbs(ref, "Compare")}
        error={failed?.message}
      >
        <form
          class="inline"
          method="get"
          action={elementPage(ref.app, ref.env, ref.key, "/diff")}
          aria-label="Versions to compare"
        >
          <div>
            <label for="base">Left (older)</label>
            <select id="base" name="base">
              {list.map((v) => (
                <option value={String(v.version)} selected={v.version === base}>{label(v)}</option>
              ))}
            </select>
          </div>
          <div>
            <label for="compare">Right (newer)</label>
            <select id="compare" name="compare">
              {list.map((v) => (
                <option value={String(v.version)} selected={v.version === compare}>
                  {label(v)}
                </option>
              ))}
            </select>
          </div>
          <button type="submit">Compare</button>
        </form>
        {diff instanceof ApiError ? null : (
          <>
            <h2>
              Version {base} → version {compare} ({diff.rows.added} added, {diff.rows.removed}{" "}
              removed lines)
            </h2>
            {diff.masked
              ? <p class="muted">This secret's content is hidden from you.</p>
              : (
                <DiffTable
                  diff={diff.rows}
                  left={`Version ${base}`}
                  right={`Version ${compare}`}
                  caption={`Version ${base} compared with version ${compare}`}
                />
              )}
            {diff.api ? <StructuralChanges diff={diff.api} /> : null}
          </>
        )}
      </Layout>,
      (failed?.status ?? 200) as ContentfulStatusCode,
    );
  });
  return r;
}
