/**
 * For the dashboard's in-process tests: a tiny "browser" over
 * `app.request` that keeps cookies, sends forms as a same-origin browser
 * does (Origin, Sec-Fetch-Site), follows redirects on demand, and reads a
 * page's text and its CSRF token.
 *
 * @module
 */

import type { AdmApp } from "../app.ts";

/** The origin the test requests are addressed to. */
export const ORIGIN = "http://adm.test";

/** One answer, with its HTML read. */
export interface Page {
  /** HTTP status. */
  readonly status: number;
  /** The `Location` header of a redirect. */
  readonly location: string | null;
  /** The body. */
  readonly html: string;
  /** The body's visible text: tags removed, entities decoded, blanks collapsed. */
  readonly text: string;
  /** The response headers. */
  readonly headers: Headers;
}

/** `html`'s text, as a person reads it (roughly). */
export function textOf(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/g, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

/** A cookie-keeping client of the dashboard. */
export class TestBrowser {
  readonly #app: AdmApp;
  readonly cookies = new Map<string, string>();

  /** A browser of `app` with no cookies. */
  constructor(app: AdmApp) {
    this.#app = app;
  }

  #cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  #keep(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === "";
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async #page(res: Response): Promise<Page> {
    this.#keep(res);
    const html = await res.text();
    return {
      status: res.status,
      location: res.headers.get("Location"),
      html,
      text: textOf(html),
      headers: res.headers,
    };
  }

  /** GET `path`; with `follow`, follows redirects (at most 5). */
  async get(path: string, follow = true): Promise<Page> {
    let p = await this.#page(
      await this.#app.request(new URL(path, ORIGIN).href, {
        headers: { Cookie: this.#cookieHeader() },
      }),
    );
    for (let i = 0; follow && i < 5 && p.location; i++) {
      p = await this.#page(
        await this.#app.request(new URL(p.location, ORIGIN).href, {
          headers: { Cookie: this.#cookieHeader() },
        }),
      );
    }
    return p;
  }

  /**
   * POSTs `fields` as a form from this origin (`headers` adds or overrides
   * headers; an empty value leaves that header out); with `follow`, follows
   * the redirect that answers it.
   */
  async post(
    path: string,
    fields: Record<string, string>,
    opts: { follow?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Page> {
    const headers: Record<string, string> = {
      Cookie: this.#cookieHeader(),
      "Content-Type": "application/x-www-form-urlencoded",
      Origin: ORIGIN,
      "Sec-Fetch-Site": "same-origin",
      ...opts.headers,
    };
    for (const [k, v] of Object.entries(headers)) if (v === "") delete headers[k];
    const res = await this.#app.request(new URL(path, ORIGIN).href, {
      method: "POST",
      headers,
      body: new URLSearchParams(fields).toString(),
    });
    const p = await this.#page(res);
    return opts.follow !== false && p.location ? await this.get(p.location) : p;
  }
}

/** The CSRF token of a page's forms. @throws {Error} when the page has none. */
export function csrfOf(page: Page): string {
  const m = /name="_csrf" value="([0-9a-f]{64})"/.exec(page.html);
  if (!m) throw new Error(`Cannot find the CSRF token in the page: ${page.text.slice(0, 200)}`);
  return m[1]!;
}

/** The text of the element marked `data-testid="<id>"` (a table, list, ...). @throws {Error} when absent. */
export function partText(page: Page, id: string): string {
  const m = new RegExp(`<(\\w+)[^>]*data-testid="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(page.html);
  if (!m) throw new Error(`Cannot find data-testid=${id} in the page: ${page.text.slice(0, 200)}`);
  return textOf(m[2]!);
}

/** The value of hidden field `name` in a page. @throws {Error} when absent. */
export function hiddenOf(page: Page, name: string): string {
  const m = new RegExp(`type="hidden" name="${name}" value="([^"]*)"`).exec(page.html);
  if (!m) throw new Error(`Cannot find hidden field ${name} in the page`);
  return m[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, "&");
}
