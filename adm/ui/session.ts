/**
 * The dashboard's login session: the API's session token (from
 * `POST /api/account/login`) kept in a cookie that scripts cannot read
 * (`HttpOnly`), sent only by same-site navigations (`SameSite=Strict`),
 * `Secure` over HTTPS. The API itself takes only `Authorization: Bearer`,
 * so the cookie is good for the dashboard's pages and nothing else, and a
 * logout or a disabled user ends it at once as it does any session.
 *
 * Forms that change something are protected against cross-site requests
 * twice: the browser's `Sec-Fetch-Site`/`Origin` must name this origin,
 * and the form must carry {@linkcode csrfTokenOf} the session, a hash of
 * the token the page was rendered for (a token that scripts of another
 * site can neither read nor compute). adm stays stateless: nothing is
 * stored for either.
 *
 * @module
 */

import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { constantTimeEqual, sha256Hex } from "../../shared/config/mod.ts";
import { ForbiddenError } from "../errors.ts";

/** The cookie that holds the session token. */
export const SESSION_COOKIE = "cassem_session";
/** A one-time message for the next page (after a redirect), e.g. "Published version 3". */
export const FLASH_COOKIE = "cassem_flash";
/** The form field that carries the CSRF token. */
export const CSRF_FIELD = "_csrf";

function secure(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" ||
    c.req.header("X-Forwarded-Proto") === "https";
}

/** The session token of the request's cookie, if any. */
export function sessionTokenOf(c: Context): string | undefined {
  const t = getCookie(c, SESSION_COOKIE);
  return t === undefined || t === "" ? undefined : t;
}

/** Sets the session cookie to `token`, ending with the session at `expiresAt` (ISO 8601). */
export function setSessionCookie(c: Context, token: string, expiresAt: string, now: number): void {
  const maxAge = Math.max(1, Math.floor((Date.parse(expiresAt) - now) / 1000));
  setCookie(c, SESSION_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "Strict",
    secure: secure(c),
    maxAge: Number.isFinite(maxAge) ? maxAge : 3600,
  });
}

/** Removes the session cookie. */
export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: secure(c) });
}

/** Leaves `message` for the next page the browser loads. */
export function setFlash(c: Context, message: string): void {
  setCookie(c, FLASH_COOKIE, message, {
    path: "/",
    httpOnly: true,
    sameSite: "Strict",
    secure: secure(c),
    maxAge: 60,
  });
}

/** The message left by {@linkcode setFlash}, removed as it is read. */
export function takeFlash(c: Context): string | undefined {
  const m = getCookie(c, FLASH_COOKIE);
  if (m === undefined) return undefined;
  deleteCookie(c, FLASH_COOKIE, { path: "/", secure: secure(c) });
  return m === "" ? undefined : m;
}

/** The CSRF token of session `token`: the SHA-256 hex of a label and the token. */
export function csrfTokenOf(token: string): Promise<string> {
  return sha256Hex(`cassem-dashboard-csrf\0${token}`);
}

/**
 * Refuses a form post that another site may have sent: a `Sec-Fetch-Site`
 * other than `same-origin`, or an `Origin` other than this one.
 * @throws {ForbiddenError} naming the header.
 */
export function checkSameOrigin(c: Context): void {
  const site = c.req.header("Sec-Fetch-Site");
  if (site !== undefined && site !== "same-origin") {
    throw new ForbiddenError(
      `Cannot accept the form as it was sent from another site: Sec-Fetch-Site is ${site}`,
      { field: "header.Sec-Fetch-Site" },
    );
  }
  const origin = c.req.header("Origin");
  const own = new URL(c.req.url).origin;
  if (origin !== undefined && origin !== own) {
    throw new ForbiddenError(
      `Cannot accept the form as it was sent from another origin: current Origin is ${origin}, expected ${own}`,
      { field: "header.Origin" },
    );
  }
}

/**
 * Checks the form's CSRF token against session `token`.
 * @throws {ForbiddenError} when it is missing or another session's.
 */
export async function checkCsrfToken(token: string, presented: unknown): Promise<void> {
  if (typeof presented !== "string" || presented === "") {
    throw new ForbiddenError(
      `Cannot accept the form as it carries no ${CSRF_FIELD} token: reload the page and send it again`,
      { field: `body.${CSRF_FIELD}` },
    );
  }
  if (!constantTimeEqual(presented, await csrfTokenOf(token))) {
    throw new ForbiddenError(
      `Cannot accept the form as its ${CSRF_FIELD} token is not this session's: reload the page and send it again`,
      { field: `body.${CSRF_FIELD}` },
    );
  }
}
