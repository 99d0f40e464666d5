/**
 * The `/api/docs` page: one self-contained HTML document (no CDN, no
 * external asset) that fetches `openapi.json` beside it and renders it,
 * with a form per operation to send a request.
 *
 * @module
 */

/** The whole page. */
export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cassemadm API</title>
<style>
  :root { --fg:#1d2330; --muted:#5b6474; --line:#d9dee7; --bg:#f7f8fb; --accent:#2155cd; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, sans-serif; color:var(--fg); background:var(--bg); }
  header { padding:12px 20px; background:#fff; border-bottom:1px solid var(--line); display:flex; gap:16px; align-items:center; flex-wrap:wrap; }
  header h1 { font-size:18px; margin:0; }
  header input { width:420px; max-width:100%; padding:6px 8px; border:1px solid var(--line); border-radius:4px; font-family:monospace; }
  main { display:flex; }
  nav { width:240px; flex:none; padding:12px; border-right:1px solid var(--line); height:calc(100vh - 54px); overflow:auto; position:sticky; top:0; background:#fff; }
  nav a { display:block; color:var(--fg); text-decoration:none; padding:2px 4px; font-size:13px; }
  nav a:hover { background:var(--bg); }
  nav h3 { font-size:12px; text-transform:uppercase; color:var(--muted); margin:12px 0 4px; }
  #ops { flex:1; padding:12px 20px; min-width:0; }
  details.op { background:#fff; border:1px solid var(--line); border-radius:6px; margin:8px 0; }
  details.op > summary { cursor:pointer; padding:8px 12px; display:flex; gap:10px; align-items:center; }
  .m { font:bold 12px monospace; padding:2px 6px; border-radius:3px; color:#fff; min-width:56px; text-align:center; }
  .get { background:#2f8f5b; } .post { background:#2155cd; } .put { background:#b5731a; } .delete { background:#c0392b; }
  .path { font-family:monospace; } .perm { margin-left:auto; font-size:12px; color:var(--muted); }
  .body { padding:8px 14px 14px; border-top:1px solid var(--line); }
  table { border-collapse:collapse; width:100%; margin:6px 0; }
  td, th { text-align:left; border-bottom:1px solid var(--line); padding:4px 6px; vertical-align:top; font-size:13px; }
  pre { background:var(--bg); padding:8px; border-radius:4px; overflow:auto; max-height:360px; font-size:12px; }
  textarea { width:100%; min-height:90px; font-family:monospace; font-size:12px; }
  input.p { width:100%; padding:3px 6px; font-family:monospace; }
  button { background:var(--accent); color:#fff; border:0; padding:6px 14px; border-radius:4px; cursor:pointer; }
  .muted { color:var(--muted); }
</style>
</head>
<body>
<header>
  <h1>cassemadm API</h1>
  <label>Bearer token <input id="token" placeholder="from POST /api/account/login" autocomplete="off"></label>
  <span class="muted" id="info"></span>
</header>
<main><nav id="nav"></nav><section id="ops"><p>Loading openapi.json…</p></section></main>
<script>
"use strict";
const tokenInput = document.getElementById("token");
tokenInput.value = sessionStorage.getItem("cassem-token") || "";
tokenInput.addEventListener("input", () => sessionStorage.setItem("cassem-token", tokenInput.value));
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}
let spec;
function resolve(s, depth = 0) {
  if (!s || depth > 8) return s;
  if (s.$ref) return resolve(spec.components.schemas[s.$ref.split("/").pop()], depth + 1);
  if (Array.isArray(s)) return s.map((x) => resolve(x, depth + 1));
  if (typeof s !== "object") return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) out[k] = typeof v === "object" ? resolve(v, depth + 1) : v;
  return out;
}
function example(s, depth = 0) {
  s = resolve(s);
  if (!s || depth > 6) return null;
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  if (s.anyOf || s.oneOf) return example((s.anyOf || s.oneOf)[0], depth + 1);
  switch (Array.isArray(s.type) ? s.type[0] : s.type) {
    case "object": {
      const o = {};
      for (const [k, v] of Object.entries(s.properties || {})) if ((s.required || []).includes(k)) o[k] = example(v, depth + 1);
      return o;
    }
    case "array": return [];
    case "string": return "";
    case "integer": case "number": return 0;
    case "boolean": return false;
    default: return null;
  }
}
function renderOp(path, method, op) {
  const params = op.parameters || [];
  const inputs = {};
  const table = el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "value"), el("th", {}, "description")));
  for (const p of params) {
    const i = el("input", { class: "p", placeholder: p.required ? "required" : "" });
    inputs[p.in + ":" + p.name] = i;
    table.append(el("tr", {}, el("td", {}, p.name), el("td", {}, p.in), el("td", {}, i), el("td", { class: "muted" }, p.description || "")));
  }
  const bodySchema = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
  const bodyArea = bodySchema ? el("textarea", {}) : null;
  if (bodyArea) bodyArea.value = JSON.stringify(example(bodySchema.schema), null, 2);
  const out = el("pre", {}, "");
  out.hidden = true;
  async function send() {
    let url = path.replace(/\\{(\\w+)\\}/g, (_, n) => encodeURIComponent(inputs["path:" + n]?.value || ""));
    const q = new URLSearchParams();
    for (const p of params) if (p.in === "query" && inputs["query:" + p.name].value !== "") q.set(p.name, inputs["query:" + p.name].value);
    if ([...q].length) url += "?" + q;
    const headers = {};
    if (tokenInput.value) headers.Authorization = "Bearer " + tokenInput.value.trim();
    for (const p of params) if (p.in === "header" && inputs["header:" + p.name].value) headers[p.name] = inputs["header:" + p.name].value;
    if (bodyArea) headers["Content-Type"] = "application/json";
    out.hidden = false;
    out.textContent = "…";
    try {
      const res = await fetch(url, { method: method.toUpperCase(), headers, body: bodyArea ? bodyArea.value : undefined });
      const text = await res.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch {}
      out.textContent = res.status + " " + res.statusText + "\\n" + (res.headers.get("etag") ? "ETag: " + res.headers.get("etag") + "\\n" : "") + "\\n" + shown;
      if (res.ok && path === "/api/account/login") {
        try { tokenInput.value = JSON.parse(text).token; sessionStorage.setItem("cassem-token", tokenInput.value); } catch {}
      }
    } catch (e) { out.textContent = String(e); }
  }
  const responses = el("table", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, "description"), el("th", {}, "schema")));
  for (const [status, r] of Object.entries(op.responses || {})) {
    const c = r.content && (r.content["application/json"] || Object.values(r.content)[0]);
    const schemaView = c ? el("details", {}, el("summary", {}, "schema"), el("pre", {}, JSON.stringify(resolve(c.schema), null, 2))) : "";
    responses.append(el("tr", {}, el("td", {}, status), el("td", {}, r.description || ""), el("td", {}, schemaView)));
  }
  const body = el("div", { class: "body" },
    op.description ? el("p", {}, op.description) : "",
    params.length ? el("div", {}, el("strong", {}, "Parameters"), table) : "",
    bodyArea ? el("div", {}, el("strong", {}, "Body (application/json)"), bodyArea,
      el("details", {}, el("summary", {}, "schema"), el("pre", {}, JSON.stringify(resolve(bodySchema.schema), null, 2)))) : "",
    el("p", {}, el("button", { onclick: send }, "Send")), out,
    el("strong", {}, "Responses"), responses);
  const id = (method + path).replace(/[^a-z0-9]+/gi, "-");
  return el("details", { class: "op", id },
    el("summary", {}, el("span", { class: "m " + method }, method.toUpperCase()), el("span", { class: "path" }, path),
      el("span", {}, op.summary || ""), el("span", { class: "perm" }, op["x-cassem-permission"] || "")), body);
}
fetch("./openapi.json").then((r) => r.json()).then((doc) => {
  spec = doc;
  spec.components = spec.components || { schemas: {} };
  spec.components.schemas = spec.components.schemas || {};
  document.getElementById("info").textContent = "OpenAPI " + doc.openapi + " · " + Object.keys(doc.paths).length + " paths";
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  const ops = document.getElementById("ops");
  const nav = document.getElementById("nav");
  ops.textContent = "";
  for (const [tag, list] of byTag) {
    ops.append(el("h2", {}, tag));
    nav.append(el("h3", {}, tag));
    for (const [path, method, op] of list) {
      const node = renderOp(path, method, op);
      ops.append(node);
      nav.append(el("a", { href: "#" + node.id, onclick: () => { node.open = true; } }, method.toUpperCase() + " " + path));
    }
  }
}).catch((e) => { document.getElementById("ops").textContent = "Cannot load openapi.json: " + e; });
</script>
</body>
</html>
`;
