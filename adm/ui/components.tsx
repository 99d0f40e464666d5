/** @jsxImportSource hono/jsx */
/**
 * Pieces the pages share: the side-by-side diff table, the structural
 * changes list, version badges and times.
 *
 * @module
 */

import type { FC } from "hono/jsx";
import type { DiffView, PathChange } from "./api_types.ts";
import type { Row, SideBySide } from "./side_by_side.ts";

/** An ISO time as `2025-01-01 10:00:00 UTC` in a `<time>` element. */
export const Time: FC<{ iso: string }> = (p) => (
  <time datetime={p.iso}>{p.iso.replace("T", " ").replace(/\.\d+Z$|Z$/, "")} UTC</time>
);

/** The badges of a version or element: live, gray, unpublished. */
export const Badges: FC<{ live?: boolean; gray?: boolean; unpublished?: boolean }> = (p) => (
  <>
    {p.live ? <span class="badge live">live</span> : null}
    {p.gray ? <span class="badge gray">gray</span> : null}
    {p.unpublished ? <span class="badge unpublished">unpublished</span> : null}
  </>
);

function cells(r: Row) {
  if (r.kind === "gap") return null;
  const l = r.left;
  const rt = r.right;
  const lc = r.kind === "same" ? "" : l ? "del" : "empty";
  const rc = r.kind === "same" ? "" : rt ? "add" : "empty";
  return (
    <>
      <td class={`num ${lc}`}>{l?.line ?? ""}</td>
      <td class={`text ${lc}`}>
        {l && lc === "del" ? <span class="sr">removed:</span> : null}
        {l?.text ?? ""}
      </td>
      <td class={`num ${rc}`}>{rt?.line ?? ""}</td>
      <td class={`text ${rc}`}>
        {rt && rc === "add" ? <span class="sr">added:</span> : null}
        {rt?.text ?? ""}
      </td>
    </>
  );
}

/** Properties of {@linkcode DiffTable}. */
export interface DiffTableProps {
  /** The rows. */
  readonly diff: SideBySide;
  /** The left column's heading ("Live: version 2"). */
  readonly left: string;
  /** The right column's heading ("After: version 3"). */
  readonly right: string;
  /** What the table shows, for its caption. */
  readonly caption: string;
}

/** A side-by-side diff: old on the left, new on the right, changed lines paired. */
export const DiffTable: FC<DiffTableProps> = (p) => (
  <div class="scroll">
    <table class="diff" data-testid="diff">
      <caption class="sr">{p.caption}</caption>
      <colgroup>
        <col class="num" />
        <col />
        <col class="num" />
        <col />
      </colgroup>
      <thead>
        <tr>
          <th colspan={2} scope="colgroup">{p.left}</th>
          <th colspan={2} scope="colgroup">{p.right}</th>
        </tr>
      </thead>
      <tbody>
        {p.diff.rows.length === 0
          ? (
            <tr class="gap">
              <td colspan={4}>No difference in content</td>
            </tr>
          )
          : p.diff.rows.map((r, i) =>
            r.kind === "gap"
              ? (
                <tr class="gap">
                  <td colspan={4}>
                    {r.lines === undefined
                      ? "unchanged lines"
                      : `${r.lines} unchanged ${r.lines === 1 ? "line" : "lines"}`}
                  </td>
                </tr>
              )
              : <tr key={i} class={`row-${r.kind}`}>{cells(r)}</tr>
          )}
      </tbody>
    </table>
  </div>
);

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 120 ? s.slice(0, 117) + "..." : s;
}

function Paths(
  p: { title: string; items: readonly PathChange[]; render: (c: PathChange) => string },
) {
  if (p.items.length === 0) return null;
  return (
    <>
      <h3>{p.title}</h3>
      <ul class="paths">
        {p.items.map((c) => (
          <li>
            <code>{c.path}</code> {p.render(c)}
          </li>
        ))}
      </ul>
    </>
  );
}

/** The structural changes of a diff (paths added, removed, changed), if it has them. */
export const StructuralChanges: FC<{ diff: DiffView }> = (p) => {
  const s = p.diff.structural;
  if (!s) return null;
  const total = s.added.length + s.removed.length + s.changed.length;
  return (
    <section aria-label="Structural changes" class="panel">
      <h2>Structural changes ({total})</h2>
      {total === 0 ? <p class="muted">The parsed values are equal.</p> : null}
      <Paths
        title="Changed"
        items={s.changed}
        render={(c) => `${show(c.base)} → ${show(c.compare)}`}
      />
      <Paths title="Added" items={s.added} render={(c) => `= ${show(c.value)}`} />
      <Paths title="Removed" items={s.removed} render={(c) => `(was ${show(c.value)})`} />
    </section>
  );
};
