/**
 * `requireLogin`: the middleware in front of every dashboard page but the
 * login page. It reads the session cookie, asks the API who it belongs to
 * (`GET /api/account/me`: an ended session, a logout elsewhere or a
 * disabled user sends the browser to the login page at once), and, for a
 * form post, checks that the form came from this origin with this
 * session's CSRF token.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { ApiError, UiApi } from "./api.ts";
import type { UiEnv } from "./context.ts";
import {
  checkCsrfToken,
  checkSameOrigin,
  clearSessionCookie,
  CSRF_FIELD,
  csrfTokenOf,
  sessionTokenOf,
  setFlash,
  takeFlash,
} from "./session.ts";

/** What `GET /api/account/me` answers for a user session. */
interface Me {
  readonly kind: "user" | "token";
  readonly account?: string;
  readonly admin?: boolean;
}

/** The login page's URL that comes back to `path` afterwards. */
export function loginUrl(path: string): string {
  return path === "/" ? "/login" : `/login?next=${encodeURIComponent(path)}`;
}

/** See the module doc. */
export function requireLogin(): MiddlewareHandler<UiEnv> {
  return async function uiLogin(c, next) {
    const url = new URL(c.req.url);
    const here = url.pathname + url.search;
    const token = sessionTokenOf(c);
    if (token === undefined) return c.redirect(loginUrl(c.req.method === "GET" ? here : "/"), 303);
    const api = new UiApi({
      fetch: c.get("apiFetch"),
      origin: url.origin,
      token,
      requestId: c.get("requestId"),
    });
    let me: Me;
    try {
      me = await api.get<Me>("/api/account/me");
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
      clearSessionCookie(c);
      setFlash(c, "Your session ended: log in again");
      return c.redirect(loginUrl(c.req.method === "GET" ? here : "/"), 303);
    }
    if (me.kind !== "user" || me.account === undefined) {
      clearSessionCookie(c);
      return c.redirect("/login", 303);
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      checkSameOrigin(c);
      const form = await c.req.parseBody();
      await checkCsrfToken(token, form[CSRF_FIELD]);
    }
    c.set("ui", {
      api,
      account: me.account,
      admin: me.admin === true,
      csrf: await csrfTokenOf(token),
      flash: takeFlash(c),
    });
    return await next();
  };
}
