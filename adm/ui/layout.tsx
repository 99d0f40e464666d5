/** @jsxImportSource hono/jsx */
/**
 * The frame of every dashboard page: the document head (one stylesheet,
 * the client script where a page has an editor), a skip link, the main
 * navigation with the account and a logout button, breadcrumbs, the
 * message regions (a polite status for what just happened, an alert for
 * what went wrong) and the page's heading.
 *
 * @module
 */

import type { Child, FC } from "hono/jsx";
import { raw } from "hono/html";
import type { UiSession } from "./context.ts";
import { CSRF_FIELD } from "./session.ts";

/** One breadcrumb: a label and, except for the current page, a link. */
export interface Crumb {
  /** What it says. */
  readonly label: string;
  /** Where it goes (absent: the current page). */
  readonly href?: string;
}

/** Which main navigation entry a page belongs to. */
export type Section = "apps" | "instances" | "oplog" | "none";

/** Properties of {@linkcode Layout}. */
export interface LayoutProps {
  /** The page's title and heading. */
  readonly title: string;
  /** The logged-in session (absent on the login and error pages). */
  readonly session?: UiSession | undefined;
  /** The navigation entry to mark current. */
  readonly section?: Section;
  /** Breadcrumbs above the heading. */
  readonly crumbs?: readonly Crumb[];
  /** An error to show in the alert region. */
  readonly error?: string | undefined;
  /** A message for the status region (default: the session's flash). */
  readonly notice?: string | undefined;
  /** Whether the page needs the client script (editors). */
  readonly script?: boolean;
  /** The page's content. */
  readonly children?: Child;
}

const NAV: readonly { section: Section; href: string; label: string }[] = [
  { section: "apps", href: "/", label: "Apps" },
  { section: "instances", href: "/instances", label: "Instances" },
  { section: "oplog", href: "/oplog", label: "Operation log" },
];

/** The CSRF field every form that changes something carries. */
export const CsrfField: FC<{ session: UiSession }> = (p) => (
  <input type="hidden" name={CSRF_FIELD} value={p.session.csrf} />
);

/** A whole page (see the module doc). */
export const Layout: FC<LayoutProps> = (p) => {
  const notice = p.notice ?? p.session?.flash;
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{p.title} · cassem</title>
          <link rel="stylesheet" href="/ui/style.css" />
          {p.script ? <script type="module" src="/ui/client.js"></script> : null}
        </head>
        <body>
          <a class="skip" href="#main">Skip to content</a>
          <header class="top">
            <a class="brand" href="/">cassem</a>
            {p.session
              ? (
                <nav aria-label="Main">
                  <ul>
                    {NAV.map((n) => (
                      <li>
                        <a
                          href={n.href}
                          aria-current={n.section === p.section ? "page" : undefined}
                        >
                          {n.label}
                        </a>
                      </li>
                    ))}
                    <li>
                      <a href="/api/docs">API reference</a>
                    </li>
                  </ul>
                </nav>
              )
              : null}
            {p.session
              ? (
                <form class="who" method="post" action="/logout">
                  <CsrfField session={p.session} />
                  <span>
                    Signed in as <strong>{p.session.account}</strong>
                    {p.session.admin ? " (admin)" : ""}
                  </span>
                  <button class="btn small" type="submit">Log out</button>
                </form>
              )
              : null}
          </header>
          <main id="main" tabindex={-1}>
            {p.crumbs && p.crumbs.length > 0
              ? (
                <nav aria-label="Breadcrumb" class="crumbs">
                  <ol>
                    {p.crumbs.map((c) => (
                      <li>
                        {c.href
                          ? <a href={c.href}>{c.label}</a>
                          : <span aria-current="page">{c.label}</span>}
                      </li>
                    ))}
                  </ol>
                </nav>
              )
              : null}
            <h1>{p.title}</h1>
            <div id="status" role="status" aria-live="polite">
              {notice ? <p class="notice">{notice}</p> : null}
            </div>
            <div id="alert" role="alert">
              {p.error ? <p class="alert">{p.error}</p> : null}
            </div>
            {p.children}
          </main>
        </body>
      </html>
    </>
  );
};
