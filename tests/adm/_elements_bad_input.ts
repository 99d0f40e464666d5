/**
 * The bad-input table of the element routes: malformed JSON, wrong types,
 * unknown fields, oversized raws, invalid names and keys, bad content of
 * every type (422 naming line and column), JSON Schema violations (422
 * listing the paths), bad versions, rules, queries, headers and bundles.
 * Each row must get its status, error code and field, never a 500, and
 * no row may change anything in cassemdb. Run in process on `MemoryDb`
 * (`elements_bad_input_test.ts`) and on a real cassemdb node
 * (`real_db_test.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { MAX_RAW_BYTES } from "../../shared/config/mod.ts";
import { appWithEnv, elementsPath } from "./_elements.ts";
import type { MakeAdm, Step } from "./_make_adm.ts";

interface Row {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  field?: string;
  /** More the body must hold (e.g. line and column). */
  extra?: Record<string, unknown>;
}

const E = elementsPath();
const NEW = `${E}/new`;
const deep = (n: number) => "[".repeat(n) + "]".repeat(n);

const ROWS: Row[] = [
  // The request itself.
  {
    name: "malformed JSON",
    method: "POST",
    path: NEW,
    body: '{"raw": ',
    status: 400,
    code: "invalid_request",
    field: "body",
  },
  {
    name: "body not an object",
    method: "POST",
    path: NEW,
    body: "[1]",
    status: 400,
    code: "invalid_request",
    field: "body",
  },
  {
    name: "raw of the wrong type",
    method: "POST",
    path: NEW,
    body: { raw: 5, contentType: "json" },
    status: 400,
    code: "invalid_request",
    field: "body.raw",
  },
  {
    name: "raw missing",
    method: "POST",
    path: NEW,
    body: { contentType: "json" },
    status: 400,
    code: "invalid_request",
    field: "body.raw",
  },
  {
    name: "unknown content type",
    method: "POST",
    path: NEW,
    body: { raw: "x", contentType: "xml" },
    status: 400,
    code: "invalid_request",
    field: "body.contentType",
  },
  {
    name: "unknown field",
    method: "POST",
    path: NEW,
    body: { raw: "x", contentType: "plaintext", color: "red" },
    status: 400,
    code: "invalid_request",
    field: "body.color",
  },
  {
    name: "secret of the wrong type",
    method: "POST",
    path: NEW,
    body: { raw: "x", contentType: "plaintext", secret: "yes" },
    status: 400,
    code: "invalid_request",
    field: "body.secret",
  },
  {
    name: "remark too long",
    method: "POST",
    path: NEW,
    body: { raw: "x", contentType: "plaintext", remark: "r".repeat(1025) },
    status: 400,
    code: "invalid_request",
    field: "body.remark",
  },
  {
    name: "unknown field on update",
    method: "PUT",
    path: `${E}/k`,
    body: { raw: "{}", contentType: "json" },
    status: 400,
    code: "invalid_request",
    field: "body.contentType",
  },
  // Sizes and characters.
  {
    name: "raw over MAX_RAW_BYTES",
    method: "POST",
    path: NEW,
    body: { raw: "x".repeat(MAX_RAW_BYTES + 1), contentType: "plaintext" },
    status: 413,
    code: "payload_too_large",
    field: "body.raw",
  },
  {
    name: "raw over MAX_RAW_BYTES in UTF-8 only",
    method: "POST",
    path: NEW,
    body: { raw: "é".repeat(MAX_RAW_BYTES / 2 + 1), contentType: "plaintext" },
    status: 413,
    code: "payload_too_large",
    field: "body.raw",
  },
  {
    name: "control character",
    method: "POST",
    path: NEW,
    body: { raw: "ok\nx\u0001", contentType: "plaintext" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
    extra: { line: 2, column: 2 },
  },
  {
    name: "lone surrogate",
    method: "POST",
    path: NEW,
    body: '{"raw": "a\\ud800", "contentType": "plaintext"}',
    status: 422,
    code: "invalid_content",
    field: "body.raw",
  },
  // Names.
  {
    name: "key starting with a dash",
    method: "POST",
    path: `${E}/-k`,
    body: { raw: "x", contentType: "plaintext" },
    status: 400,
    code: "invalid_request",
    field: "path.key",
  },
  {
    name: "key starting with _",
    method: "POST",
    path: `${E}/_app`,
    body: { raw: "x", contentType: "plaintext" },
    status: 400,
    code: "invalid_request",
    field: "path.key",
  },
  {
    name: "key too long",
    method: "POST",
    path: `${E}/${"k".repeat(129)}`,
    body: { raw: "x", contentType: "plaintext" },
    status: 400,
    code: "invalid_request",
    field: "path.key",
  },
  {
    name: "key with a space",
    method: "GET",
    path: `${E}/a%20b`,
    status: 400,
    code: "invalid_request",
    field: "path.key",
  },
  {
    name: "uppercase env",
    method: "GET",
    path: elementsPath("shop", "Prod"),
    status: 400,
    code: "invalid_request",
    field: "path.env",
  },
  {
    name: "uppercase app",
    method: "GET",
    path: elementsPath("Shop", "prod"),
    status: 400,
    code: "invalid_request",
    field: "path.app",
  },
  // Content of each type: 422 at the line and column.
  {
    name: "json",
    method: "POST",
    path: NEW,
    body: { raw: '{\n  "a": 1,\n  "b": }', contentType: "json" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
    extra: { line: 3, column: 8 },
  },
  {
    name: "json trailing comma",
    method: "POST",
    path: NEW,
    body: { raw: "[1,]", contentType: "json" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
    extra: { line: 1, column: 4 },
  },
  {
    name: "yaml",
    method: "POST",
    path: NEW,
    body: { raw: "a: 1\nb: [1, 2\n", contentType: "yaml" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
  },
  {
    name: "yaml duplicate key",
    method: "POST",
    path: NEW,
    body: { raw: "a: 1\na: 2\n", contentType: "yaml" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
    extra: { line: 2 },
  },
  {
    name: "toml",
    method: "POST",
    path: NEW,
    body: { raw: 'a = 1\nb = "x\n', contentType: "toml" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
    extra: { line: 2 },
  },
  {
    name: "ini",
    method: "POST",
    path: NEW,
    body: { raw: "a=1\n[sec\nb=2\n", contentType: "ini" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
    extra: { line: 2, column: 1 },
  },
  {
    name: "properties",
    method: "POST",
    path: NEW,
    body: { raw: "a=1\nb=\\u00zz\n", contentType: "properties" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
    extra: { line: 2 },
  },
  {
    name: "json nested too deep",
    method: "POST",
    path: NEW,
    body: { raw: deep(100), contentType: "json" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
  },
  {
    name: "json nested absurdly deep",
    method: "POST",
    path: NEW,
    body: { raw: deep(40_000), contentType: "json" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
  },
  {
    name: "yaml nested absurdly deep",
    method: "POST",
    path: NEW,
    body: { raw: deep(40_000), contentType: "yaml" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
  },
  // JSON Schemas.
  {
    name: "schema violation: wrong type",
    method: "PUT",
    path: `${E}/k`,
    body: { raw: '{"port": "80"}' },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
    extra: { paths: ["/port"] },
  },
  {
    name: "schema violation: two paths",
    method: "PUT",
    path: `${E}/k`,
    body: { raw: '{"port": 0, "extra": 1}' },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
    extra: { paths: ["/extra", "/port"] },
  },
  {
    name: "schema violation: missing",
    method: "PUT",
    path: `${E}/k`,
    body: { raw: "{}" },
    status: 422,
    code: "invalid_content",
    field: "body.raw",
    extra: { paths: ["/port"] },
  },
  {
    name: "schema that does not compile",
    method: "POST",
    path: NEW,
    body: { raw: "{}", contentType: "json", schema: { type: "nope" } },
    status: 400,
    code: "invalid_request",
    field: "body.schema",
  },
  {
    name: "schema with an unknown keyword",
    method: "POST",
    path: NEW,
    body: { raw: "{}", contentType: "json", schema: { typo: 1 } },
    status: 400,
    code: "invalid_request",
    field: "body.schema",
  },
  {
    name: "schema with a remote $ref",
    method: "PUT",
    path: `${E}/k/schema`,
    body: { schema: { $ref: "https://example.com/s.json" } },
    status: 400,
    code: "invalid_request",
    field: "body.schema",
  },
  {
    name: "schema on plaintext",
    method: "POST",
    path: NEW,
    body: { raw: "x", contentType: "plaintext", schema: { type: "string" } },
    status: 400,
    code: "invalid_request",
    field: "body.schema",
  },
  {
    name: "schema not an object",
    method: "PUT",
    path: `${E}/k/schema`,
    body: { schema: [1] },
    status: 400,
    code: "invalid_request",
    field: "body.schema",
  },
  // Versions and rules.
  {
    name: "version 0",
    method: "POST",
    path: `${E}/k/publish`,
    body: { version: 0 },
    status: 400,
    code: "invalid_request",
    field: "body.version",
  },
  {
    name: "version as a string",
    method: "POST",
    path: `${E}/k/publish`,
    body: { version: "1" },
    status: 400,
    code: "invalid_request",
    field: "body.version",
  },
  {
    name: "version 1.5",
    method: "POST",
    path: `${E}/k/rollback`,
    body: { version: 1.5 },
    status: 400,
    code: "invalid_request",
    field: "body.version",
  },
  {
    name: "version that does not exist",
    method: "POST",
    path: `${E}/k/publish`,
    body: { version: 99 },
    status: 404,
    code: "not_found",
    field: "body.version",
  },
  {
    name: "gray without a rule",
    method: "POST",
    path: `${E}/k/gray`,
    body: { version: 1 },
    status: 400,
    code: "invalid_request",
    field: "body.rule",
  },
  {
    name: "gray rule of unknown kind",
    method: "POST",
    path: `${E}/k/gray`,
    body: { version: 1, rule: { kind: "random" } },
    status: 400,
    code: "invalid_request",
    field: "body.rule.kind",
  },
  {
    name: "gray percent 0",
    method: "POST",
    path: `${E}/k/gray`,
    body: { version: 1, rule: { kind: "percentage", percent: 0 } },
    status: 400,
    code: "invalid_request",
    field: "body.rule.percent",
  },
  {
    name: "gray percent with 3 decimals",
    method: "POST",
    path: `${E}/k/gray`,
    body: { version: 1, rule: { kind: "percentage", percent: 1.234 } },
    status: 400,
    code: "invalid_request",
    field: "body.rule.percent",
  },
  {
    name: "gray with no clients",
    method: "POST",
    path: `${E}/k/gray`,
    body: { version: 1, rule: { kind: "clients", clientIds: [] } },
    status: 400,
    code: "invalid_request",
    field: "body.rule.clientIds",
  },
  {
    name: "gray client id invalid",
    method: "POST",
    path: `${E}/k/gray`,
    body: { version: 1, rule: { kind: "clients", clientIds: ["a b"] } },
    status: 400,
    code: "invalid_request",
    field: "body.rule.clientIds.0",
  },
  {
    name: "gray empty selector",
    method: "POST",
    path: `${E}/k/gray`,
    body: { version: 1, rule: { kind: "labels", selector: {} } },
    status: 400,
    code: "invalid_request",
    field: "body.rule.selector",
  },
  {
    name: "gray selector text malformed",
    method: "POST",
    path: `${E}/k/gray`,
    body: { version: 1, rule: { kind: "labels", selector: "region" } },
    status: 400,
    code: "invalid_request",
    field: "body.rule.selector",
  },
  {
    name: "gray rule with an unknown field",
    method: "PUT",
    path: `${E}/k/gray`,
    body: { rule: { kind: "percentage", percent: 5, seed: 1 } },
    status: 400,
    code: "invalid_request",
    field: "body.rule.seed",
  },
  // Queries and headers.
  {
    name: "GET version 0",
    method: "GET",
    path: `${E}/k?version=0`,
    status: 400,
    code: "invalid_request",
    field: "query.version",
  },
  {
    name: "GET version abc",
    method: "GET",
    path: `${E}/k?version=abc`,
    status: 400,
    code: "invalid_request",
    field: "query.version",
  },
  {
    name: "diff without base",
    method: "GET",
    path: `${E}/k/diff?compare=1`,
    status: 400,
    code: "invalid_request",
    field: "query.base",
  },
  {
    name: "diff of a missing version",
    method: "GET",
    path: `${E}/k/diff?base=1&compare=7`,
    status: 404,
    code: "not_found",
    field: "query.compare",
  },
  {
    name: "list limit 0",
    method: "GET",
    path: `${E}?limit=0`,
    status: 400,
    code: "invalid_request",
    field: "query.limit",
  },
  {
    name: "list limit 101",
    method: "GET",
    path: `${E}?limit=101`,
    status: 400,
    code: "invalid_request",
    field: "query.limit",
  },
  {
    name: "list seek not a key",
    method: "GET",
    path: `${E}?seek=a/b`,
    status: 400,
    code: "invalid_request",
    field: "query.seek",
  },
  {
    name: "list keys empty",
    method: "GET",
    path: `${E}?keys=,`,
    status: 400,
    code: "invalid_request",
    field: "query.keys",
  },
  {
    name: "list keys with a bad key",
    method: "GET",
    path: `${E}?keys=a,-b`,
    status: 400,
    code: "invalid_request",
    field: "query.keys",
  },
  {
    name: "versions seek not a number",
    method: "GET",
    path: `${E}/k/versions?seek=x`,
    status: 400,
    code: "invalid_request",
    field: "query.seek",
  },
  {
    name: "If-Match not an ETag",
    method: "PUT",
    path: `${E}/k`,
    body: { raw: '{"port": 1}' },
    headers: { "If-Match": "r1" },
    status: 400,
    code: "invalid_request",
    field: "header.If-Match",
  },
  // Approvals and bundles.
  {
    name: "approval id not hex",
    method: "POST",
    path: "/api/apps/shop/envs/prod/approvals/k/approve",
    body: { id: "xyz" },
    status: 400,
    code: "invalid_request",
    field: "body.id",
  },
  {
    name: "bundle of another format",
    method: "POST",
    path: "/api/apps/shop/envs/prod/import",
    body: { format: "v0", app: "a", env: "b", exportedAt: "", exportedBy: "", elements: [] },
    status: 400,
    code: "invalid_request",
    field: "body.format",
  },
  {
    name: "bundle with a bad key",
    method: "POST",
    path: "/api/apps/shop/envs/prod/import",
    body: bundle([{ ...el("x"), key: "a/b" }]),
    status: 400,
    code: "invalid_request",
    field: "body.elements.0.key",
  },
  {
    name: "bundle repeating a key",
    method: "POST",
    path: "/api/apps/shop/envs/prod/import",
    body: bundle([el("x"), el("x")]),
    status: 400,
    code: "invalid_request",
    field: "body.elements.1.key",
  },
  {
    name: "bundle with a masked raw",
    method: "POST",
    path: "/api/apps/shop/envs/prod/import",
    body: bundle([{ ...el("x"), latest: { version: 1, raw: null, masked: true } }]),
    status: 422,
    code: "invalid_content",
    field: "body.elements.0.latest.raw",
  },
  {
    name: "bundle with bad content",
    method: "POST",
    path: "/api/apps/shop/envs/prod/import?dryRun=true",
    body: bundle([el("x"), { ...el("y"), latest: { version: 1, raw: "{" } }]),
    status: 422,
    code: "invalid_content",
    field: "body.elements.1.latest.raw",
  },
  {
    name: "bundle with a schema violation",
    method: "POST",
    path: "/api/apps/shop/envs/prod/import",
    body: bundle([{ ...el("x"), schema: { type: "array" } }]),
    status: 422,
    code: "invalid_content",
    field: "body.elements.0.latest.raw",
  },
  {
    name: "bundle live newer than latest",
    method: "POST",
    path: "/api/apps/shop/envs/prod/import",
    body: bundle([{ ...el("x"), published: { version: 2, raw: "{}" } }]),
    status: 400,
    code: "invalid_request",
    field: "body.elements.0.latest.version",
  },
  {
    name: "dryRun not a boolean",
    method: "POST",
    path: "/api/apps/shop/envs/prod/import?dryRun=yes",
    body: bundle([]),
    status: 400,
    code: "invalid_request",
    field: "query.dryRun",
  },
];

function el(key: string) {
  return { key, contentType: "json", published: null, latest: { version: 1, raw: "{}" } };
}

function bundle(elements: unknown[]) {
  return {
    format: "cassem.bundle/v1",
    app: "shop",
    env: "dev",
    exportedAt: "2025-01-01T00:00:00.000Z",
    exportedBy: "admin",
    elements,
  };
}

/**
 * On a fresh harness from `makeAdm` with element shop/prod/k (json, a JSON
 * Schema, published): every row of `ROWS`, one step each, gets its status,
 * code, field and extras, never a 500; cassemdb's revision is the same
 * after all of them and k is unchanged.
 */
export async function badInputTable(makeAdm: MakeAdm, step: Step): Promise<void> {
  const t = await makeAdm();
  await appWithEnv(t);
  const admin = { token: t.adminToken };
  const schema = {
    type: "object",
    properties: { port: { type: "integer", minimum: 1 } },
    required: ["port"],
    additionalProperties: false,
  };
  let r = await t.request("POST", `${E}/k`, {
    ...admin,
    body: { raw: '{"port": 80}', contentType: "json", schema, publish: true },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const before = await t.revision();
  for (const row of ROWS) {
    await step(row.name, async () => {
      r = await t.request(row.method, row.path, {
        ...admin,
        body: row.body,
        headers: row.headers,
      });
      const what = `${row.method} ${row.path.slice(0, 80)}: ${r.status} ${
        JSON.stringify(r.body).slice(0, 300)
      }`;
      assert.equal(r.status, row.status, what);
      assert.equal(r.body.error?.code, row.code, what);
      if (row.field !== undefined) assert.equal(r.body.error.field, row.field, what);
      assert.match(r.body.error.message, /^Cannot /, what);
      for (const [k, v] of Object.entries(row.extra ?? {})) {
        assert.deepEqual(r.body.error[k], v, what);
      }
    });
  }
  assert.equal(await t.revision(), before, "no bad request wrote anything");
  r = await t.request("GET", `${E}/k`, admin);
  assert.deepEqual([r.body.version, r.body.raw], [1, '{"port": 80}']);
}
