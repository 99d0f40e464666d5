/** @jsxImportSource hono/jsx */
/**
 * Logging in and out: `GET /login` shows the form, `POST /login` sends
 * the account and password to `POST /api/account/login` and keeps the
 * session token in the session cookie (`session.ts`), then goes on to the
 * page that asked for a login; `POST /logout` ends the session through
 * the API (on every adm copy at once) and removes the cookie.
 *
 * @module
 */

import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError, UiApi } from "./api.ts";
import type { UiEnv } from "./context.ts";
import { requireLogin } from "./guard.ts";
import { Layout } from "./layout.tsx";
import { isLocalPath } from "./paths.ts";
import {
  checkSameOrigin,
  clearSessionCookie,
  sessionTokenOf,
  setFlash,
  setSessionCookie,
  takeFlash,
} from "./session.ts";

function LoginForm(p: { next: string; account: string; error?: string; notice?: string }) {
  return (
    <Layout title="Log in to cassem" error={p.error} notice={p.notice}>
      <form class="stack narrow" method="post" action="/login">
        <input type="hidden" name="next" value={p.next} />
        <div>
          <label for="account">Account</label>
          <input
            id="account"
            name="account"
            type="text"
            autocomplete="username"
            required
            autofocus={p.account === ""}
            value={p.account}
          />
        </div>
        <div>
          <label for="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            autofocus={p.account !== ""}
          />
        </div>
        <div>
          <button class="primary" type="submit">Log in</button>
        </div>
      </form>
    </Layout>
  );
}

/** The login and logout routes, mounted at `/`. */
export function loginRoutes(): Hono<UiEnv> {
  const r = new Hono<UiEnv>();

  r.get("/login", (c) => {
    const next = c.req.query("next");
    return c.html(
      <LoginForm next={isLocalPath(next) ? next : "/"} account="" notice={takeFlash(c)} />,
    );
  });

  r.post("/login", async (c) => {
    checkSameOrigin(c);
    const form = await c.req.parseBody();
    const account = typeof form.account === "string" ? form.account.trim() : "";
    const password = typeof form.password === "string" ? form.password : "";
    const next = typeof form.next === "string" && isLocalPath(form.next) ? form.next : "/";
    const api = new UiApi({
      fetch: c.get("apiFetch"),
      origin: new URL(c.req.url).origin,
      requestId: c.get("requestId"),
    });
    try {
      const { body } = await api.send<{ token: string; expiresAt: string }>(
        "POST",
        "/api/account/login",
        { account, password },
      );
      setSessionCookie(c, body.token, body.expiresAt, c.get("deps").clock());
      return c.redirect(next, 303);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      return c.html(
        <LoginForm next={next} account={account} error={e.message} />,
        e.status as ContentfulStatusCode,
      );
    }
  });

  r.post("/logout", requireLogin(), async (c) => {
    const token = sessionTokenOf(c);
    try {
      await c.get("ui").api.send("POST", "/api/account/logout", {});
    } catch (e) {
      // An already ended session is logged out all the same.
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
    }
    if (token !== undefined) clearSessionCookie(c);
    setFlash(c, "Logged out");
    return c.redirect("/login", 303);
  });

  return r;
}
