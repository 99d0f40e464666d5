/**
 * The API's own description, without credentials: `GET /api/openapi.json`
 * (OpenAPI 3.1, generated from the same zod schemas that validate
 * requests) and `GET /api/docs`, an interactive reference page. The page is
 * self-contained (`docs_page.ts`: its HTML, CSS and script are served from
 * here, nothing from a CDN), so it works offline: it renders every
 * operation with its permission, parameters, body and responses, and can
 * send a request with a bearer token.
 *
 * @module
 */

import { OpenAPIHono, z } from "@hono/zod-openapi";
import { defineRoute } from "../auth/route.ts";
import type { AdmEnv } from "../http/context.ts";
import { validationHook } from "../http/validation.ts";
import { DOCS_HTML } from "./docs_page.ts";

/** The OpenAPI document of `app`, with the bearer security scheme. */
export function openApiDocument(app: OpenAPIHono<AdmEnv>): unknown {
  if (!app.openAPIRegistry.definitions.some((d) => d.type === "component")) {
    app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
      type: "http",
      scheme: "bearer",
      description: "A session token from POST /api/account/login, or an API token",
    });
  }
  return app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "cassemadm",
      version: "1",
      description:
        "The cassem configuration manager. Errors are JSON { error: { code, message, field? } }. " +
        "Each operation's x-cassem-permission says what the caller needs.",
    },
  });
}

const spec = defineRoute({
  method: "get",
  path: "/openapi.json",
  tags: ["docs"],
  summary: "This API as an OpenAPI 3.1 document",
  permission: "public",
  responses: {
    200: {
      description: "The document",
      content: { "application/json": { schema: z.record(z.string(), z.unknown()) } },
    },
  },
});

const docs = defineRoute({
  method: "get",
  path: "/docs",
  tags: ["docs"],
  summary: "An interactive reference page of this API (works offline)",
  permission: "public",
  responses: { 200: { description: "HTML", content: { "text/html": { schema: z.string() } } } },
});

/** The docs routes, mounted at `/api`; `document` builds the OpenAPI document. */
export function docsRoutes(document: () => unknown): OpenAPIHono<AdmEnv> {
  const r = new OpenAPIHono<AdmEnv>({ defaultHook: validationHook });
  let cached: unknown;
  r.openapi(spec, (c) => c.json((cached ??= document()) as Record<string, unknown>, 200));
  r.openapi(docs, (c) => c.html(DOCS_HTML, 200));
  return r;
}
