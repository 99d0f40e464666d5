/** @jsxImportSource hono/jsx */
/**
 * The one place the dashboard turns an error into a page: an API refusal
 * ({@linkcode ApiError}) keeps the API's status and message, adm's own
 * errors (a form from another site) their status, anything else is a 500
 * whose cause is logged with the request id and never shown. An ended
 * session sends the browser to the login page instead.
 *
 * @module
 */

import type { ErrorHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { httpStatusOf, toAdmError } from "../errors.ts";
import { ApiError } from "./api.ts";
import type { UiEnv } from "./context.ts";
import { loginUrl } from "./guard.ts";
import { Layout } from "./layout.tsx";
import { clearSessionCookie, setFlash } from "./session.ts";

const TITLES: Record<number, string> = {
  400: "Bad request",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  412: "Changed meanwhile",
  413: "Too large",
  422: "Invalid content",
  429: "Too many attempts",
  503: "cassemdb is unavailable",
};

/** `onError` of the dashboard's routes (see the module doc). */
export const uiOnError: ErrorHandler<UiEnv> = (err, c) => {
  let status: number;
  let message: string;
  if (err instanceof ApiError) {
    if (err.status === 401) {
      clearSessionCookie(c);
      setFlash(c, "Your session ended: log in again");
      const url = new URL(c.req.url);
      return c.redirect(loginUrl(c.req.method === "GET" ? url.pathname + url.search : "/"), 303);
    }
    status = err.status;
    message = err.message;
  } else {
    const e = toAdmError(err);
    status = httpStatusOf(e);
    message = e.message;
    if (status >= 500) {
      const cause = e.cause ?? err;
      c.get("deps")?.logger.error(e.message, {
        requestId: c.get("requestId"),
        path: c.req.path,
        cause: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause),
      });
    }
  }
  const session = c.get("ui");
  return c.html(
    <Layout
      title={TITLES[status] ?? (status >= 500 ? "Something went wrong" : "Cannot do that")}
      session={session}
      section="none"
      error={message}
    >
      <p>
        <a href="/">Back to the apps</a>
        {c.get("requestId") ? <span class="muted">· request id {c.get("requestId")}</span> : null}
      </p>
    </Layout>,
    status as ContentfulStatusCode,
  );
};
