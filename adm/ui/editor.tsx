/** @jsxImportSource hono/jsx */
/**
 * The content editor, shared by the create-element form and the new
 * version page: a labelled monospace textarea, a content type (a select, or
 * fixed), the caret's line and column, and a live region where the client
 * script (`client/editor.ts`) says, as the user types, whether the text
 * parses with the server's own parser and where it does not. Without the
 * script the server checks on save and the page shows its verdict in the
 * same place.
 *
 * @module
 */

import type { FC } from "hono/jsx";
import { CONTENT_TYPES, type ContentType } from "../../shared/config/mod.ts";

/**
 * A textarea's text as the user meant it: browsers send its line breaks as
 * CRLF whatever they were, so they become LF again, or CRLF when the text
 * it was loaded with (`original`) used CRLF throughout.
 */
export function textareaText(posted: string, original?: string): string {
  const lf = posted.replace(/\r\n?/g, "\n");
  const crlf = original !== undefined && original.includes("\r\n") &&
    !/(^|[^\r])\n/.test(original);
  return crlf ? lf.replace(/\n/g, "\r\n") : lf;
}

/** Properties of {@linkcode RawEditor}. */
export interface RawEditorProps {
  /** The text. */
  readonly value: string;
  /** The content type: fixed (an existing element), or chosen with a select when `choose`. */
  readonly contentType: ContentType;
  /** Whether the user picks the content type (a new element). */
  readonly choose?: boolean;
  /** The server's refusal of the text, if it refused it. */
  readonly error?: string | undefined;
}

/** The editor's fields (place inside a `<form data-editor>`). */
export const RawEditor: FC<RawEditorProps> = (p) => (
  <>
    {p.choose
      ? (
        <div>
          <label for="content-type">Content type</label>
          <select id="content-type" name="contentType" data-content-type-select>
            {CONTENT_TYPES.map((t) => (
              <option key={t} value={t} selected={t === p.contentType}>{t}</option>
            ))}
          </select>
        </div>
      )
      : null}
    <div>
      <label for="raw">
        Content{p.choose ? "" : ` (${p.contentType})`}
      </label>
      <textarea
        id="raw"
        name="raw"
        class="code"
        rows={18}
        spellcheck={false}
        autocapitalize="off"
        autocomplete="off"
        data-raw
        data-content-type={p.contentType}
        aria-describedby="raw-validation raw-caret"
        aria-invalid={p.error ? "true" : undefined}
      >
        {/* A newline first: HTML drops one leading newline of a textarea's text. */}
        {"\n" + p.value}
      </textarea>
      <p id="raw-caret" class="hint" data-caret>Line 1, column 1</p>
      <div
        id="raw-validation"
        class={`validation${p.error ? " error" : ""}`}
        role="status"
        aria-live="polite"
        data-validation
      >
        {p.error ??
          "Checked as you type with the server's parser, and again by the server on save."}
      </div>
    </div>
  </>
);
