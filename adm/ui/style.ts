/**
 * The dashboard's stylesheet (`/ui/style.css`), kept in a module so that
 * adm serves it without reading files. Laid out for a laptop screen
 * (1366×768 and up, tables scroll sideways rather than squeeze), with a
 * visible focus ring on everything that takes focus.
 *
 * @module
 */

/** The stylesheet's text. */
export const STYLE_CSS = `
:root {
  --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de;
  --accent: #0b57d0; --accent-fg: #ffffff; --danger: #b3261e; --ok: #1a7f37;
  --add: #dafbe1; --add-strong: #aceebb; --del: #ffebe9; --del-strong: #ffcecb;
  --focus: #e8a300; --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
header.top { display: flex; align-items: center; gap: 1.5rem; padding: .5rem 1.5rem;
  background: #1d2430; color: #e6edf3; flex-wrap: wrap; }
header.top a { color: #e6edf3; text-decoration: none; }
header.top a:hover, header.top a[aria-current="page"] { text-decoration: underline; text-underline-offset: 4px; }
.brand { font-weight: 700; font-size: 1.15rem; letter-spacing: .02em; }
header.top nav ul { display: flex; gap: 1.25rem; list-style: none; margin: 0; padding: 0; }
.who { margin-left: auto; display: flex; align-items: center; gap: .75rem; }
main { max-width: 1320px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: .25rem 0 .75rem; word-break: break-word; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
.crumbs ol { display: flex; flex-wrap: wrap; list-style: none; padding: 0; margin: 0; gap: .25rem; color: var(--muted); }
.crumbs li + li::before { content: "/"; margin-right: .25rem; }
.notice { background: #e6f4ea; border: 1px solid #a6d8b4; padding: .5rem .75rem; border-radius: 6px; }
.alert { background: var(--del); border: 1px solid #f1aeb5; color: #6e0b06; padding: .5rem .75rem; border-radius: 6px; }
.muted { color: var(--muted); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; margin: .75rem 0; }
.panel > h2:first-child, .panel > h3:first-child { margin-top: 0; }
.actions > .panel { margin: 0; }
.cols { display: grid; grid-template-columns: minmax(0, 3fr) minmax(300px, 2fr); gap: 1.25rem; align-items: start; }
@media (max-width: 1000px) { .cols { grid-template-columns: minmax(0, 1fr); } }
.scroll { overflow-x: auto; }
table.data { border-collapse: collapse; width: 100%; font-size: .93rem; }
table.data th, table.data td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
table.data th { background: var(--panel); font-weight: 600; white-space: nowrap; }
table.data caption { text-align: left; font-weight: 600; padding: .25rem 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-word; }
form.stack { display: grid; gap: .6rem; max-width: 760px; }
form.stack.wide { max-width: none; }
form.stack.narrow { max-width: 360px; }
input.full { width: 100%; }
form.inline, .inline { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; }
label { font-weight: 600; display: block; margin-bottom: .15rem; }
.check label, label.check { display: inline; font-weight: 400; }
input[type=text], input[type=password], input[type=number], input[type=datetime-local], input:not([type]), select, textarea {
  font: inherit; padding: .35rem .5rem; border: 1px solid #8c959f; border-radius: 6px; background: #fff; color: var(--fg); }
textarea.code, pre.code, .diff td.text { font-family: var(--mono); font-size: 13px; }
textarea.code { width: 100%; min-height: 16rem; max-height: 55vh; resize: vertical; tab-size: 2; white-space: pre; }
textarea[aria-invalid="true"] { border-color: var(--danger); box-shadow: 0 0 0 1px var(--danger); }
pre.code { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .75rem; overflow: auto; max-height: 50vh; margin: 0; }
.hint { color: var(--muted); font-size: .87rem; margin: .1rem 0 0; }
.validation { min-height: 1.5rem; font-size: .93rem; }
.validation.error { color: var(--danger); font-weight: 600; }
fieldset { border: 1px solid var(--line); border-radius: 8px; padding: .5rem .9rem .8rem; margin: 0; }
legend { font-weight: 600; padding: 0 .3rem; }
.btn, button { font: inherit; cursor: pointer; border-radius: 6px; padding: .4rem .9rem; border: 1px solid #8c959f; background: #fff; color: var(--fg); text-decoration: none; display: inline-block; }
.btn.primary, button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-fg); font-weight: 600; }
.btn.danger, button.danger { background: var(--danger); border-color: var(--danger); color: #fff; font-weight: 600; }
.btn.small, button.small { padding: .15rem .55rem; font-size: .87rem; }
header.top .btn { background: transparent; color: #e6edf3; border-color: #6e7681; }
button.link { border: none; background: none; color: var(--accent); text-decoration: underline; padding: 0; }
.badge { display: inline-block; font-size: .78rem; font-weight: 600; border-radius: 999px; padding: .05rem .5rem; margin-right: .25rem; border: 1px solid; white-space: nowrap; }
.badge.live { color: #0a5c26; background: #dafbe1; border-color: #4ac26b; }
.badge.gray { color: #5b3a00; background: #fff1c2; border-color: #d4a72c; }
.badge.unpublished { color: #3b3f46; background: #eef1f4; border-color: #8c959f; }
.badge.secret { color: #6e0b06; background: #ffebe9; border-color: #f1aeb5; }
table.diff { border-collapse: collapse; width: 100%; table-layout: fixed; }
table.diff col.num { width: 3.5rem; }
table.diff th { background: var(--panel); text-align: left; padding: .3rem .5rem; border: 1px solid var(--line); font-size: .9rem; }
table.diff td { border-left: 1px solid var(--line); border-right: 1px solid var(--line); padding: 0 .5rem; vertical-align: top; }
table.diff td.num { color: var(--muted); text-align: right; user-select: none; font-family: var(--mono); font-size: 12px; }
table.diff td.text { white-space: pre-wrap; word-break: break-all; }
table.diff td.del { background: var(--del); }
table.diff td.del.text { background: var(--del-strong); }
table.diff td.add { background: var(--add); }
table.diff td.add.text { background: var(--add-strong); }
table.diff td.empty { background: #f3f4f6; }
table.diff tr.gap td { background: #eef3fb; color: var(--muted); text-align: center; font-size: .85rem; padding: .15rem; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.actions { display: grid; gap: .75rem; }
.pager { margin-top: .75rem; }
`;
