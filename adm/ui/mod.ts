/**
 * The cassemadm web dashboard, served at `/` by `createApp`: Hono JSX
 * pages rendered on the server (one file per page), which read and change
 * everything through adm's own REST API in process (`api.ts`), with the
 * login session in an HttpOnly, SameSite=Strict cookie (`session.ts`) and
 * a small client script that checks content as it is typed with the
 * server's own parsers (`client/`, bundled at runtime by `bundle.ts`).
 *
 * | path                                             | page                             |
 * | ------------------------------------------------ | -------------------------------- |
 * | `/login`, `/logout`                              | `login_page.tsx`                 |
 * | `/`, `/apps`                                     | `apps_page.tsx`                  |
 * | `/apps/{app}`, `.../envs`                        | `app_page.tsx`                   |
 * | `/apps/{app}/envs/{env}`, `.../elements`         | `env_page.tsx`                   |
 * | `.../elements/{key}`                             | `element_page.tsx`               |
 * | `.../elements/{key}/edit`                        | `editor_page.tsx`                |
 * | `.../elements/{key}/diff`                        | `diff_page.tsx`                  |
 * | `.../elements/{key}/confirm`, `.../act`          | `confirm_page.tsx`               |
 * | `/instances`                                     | `instances_page.tsx`             |
 * | `/oplog`                                         | `oplog_page.tsx`                 |
 * | `/ui/style.css`, `/ui/client.js`                 | `assets.ts`                      |
 *
 * @module
 */

import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { MAX_RAW_BYTES } from "../../shared/config/mod.ts";
import { PayloadTooLargeError } from "../errors.ts";
import type { ApiFetch } from "./api.ts";
import { appRoutes } from "./app_page.tsx";
import { appsRoutes } from "./apps_page.tsx";
import { assetRoutes } from "./assets.ts";
import { confirmRoutes } from "./confirm_page.tsx";
import type { UiEnv } from "./context.ts";
import { diffRoutes } from "./diff_page.tsx";
import { editorRoutes } from "./editor_page.tsx";
import { elementRoutes } from "./element_page.tsx";
import { envRoutes } from "./env_page.tsx";
import { uiOnError } from "./error_page.tsx";
import { requireLogin } from "./guard.ts";
import { instancesRoutes } from "./instances_page.tsx";
import { loginRoutes } from "./login_page.tsx";
import { oplogRoutes } from "./oplog_page.tsx";

export type { ApiFetch } from "./api.ts";

/** The paths behind the login (every page but `/login` and the assets). */
const LOGGED_IN = ["/", "/apps", "/apps/*", "/instances", "/oplog"] as const;

/**
 * What the dashboard's pages may load and where they may be shown: only
 * this origin's script and stylesheet, no inline script or style, forms
 * posted only here, and never inside another site's frame (a confirm
 * button cannot be clickjacked).
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** A form body's limit: the largest raw text, six times over (percent-encoding), plus room. */
const MAX_FORM_BYTES = MAX_RAW_BYTES * 6 + 64 * 1024;

/**
 * The dashboard's routes, to mount at `/` after the API. `apiFetch` is the
 * adm app's own `fetch`: the pages call the API through it.
 */
export function dashboardRoutes(apiFetch: ApiFetch): Hono<UiEnv> {
  const ui = new Hono<UiEnv>();
  ui.onError(uiOnError);
  ui.use("*", async function provideApi(c, next) {
    c.set("apiFetch", apiFetch);
    await next();
  });
  ui.use(
    "*",
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: () => {
        throw new PayloadTooLargeError(
          `Cannot read the form as it must be at most ${MAX_FORM_BYTES} bytes`,
          { field: "body" },
        );
      },
    }),
  );
  ui.use("*", async function securityHeaders(c, next) {
    await next();
    c.header("Content-Security-Policy", CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "same-origin");
  });
  ui.route("/ui", assetRoutes());
  ui.route("/", loginRoutes());
  for (const path of LOGGED_IN) ui.use(path, requireLogin());
  ui.route("/", appsRoutes());
  ui.route("/", instancesRoutes());
  ui.route("/", oplogRoutes());
  ui.route("/apps/:app", appRoutes());
  ui.route("/apps/:app/envs/:env", envRoutes());
  const element = "/apps/:app/envs/:env/elements/:key";
  ui.route(element, elementRoutes());
  ui.route(element, editorRoutes());
  ui.route(element, diffRoutes());
  ui.route(element, confirmRoutes());
  return ui;
}
