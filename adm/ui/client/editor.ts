/**
 * The editor's live validation in the browser. Every form marked
 * `data-editor` holds a textarea `[data-raw]` whose content type comes from
 * a `select[data-content-type-select]` in the form or from the textarea's
 * `data-content-type`. As the user types, the text is checked with the
 * server's parsers ({@linkcode validateRaw}) and the verdict is written to
 * the form's `[data-validation]` live region, the textarea gets
 * `aria-invalid`, and a button moves the caret to the error. A submit of
 * an invalid text is stopped with the message, focus on the error; the
 * server checks again on save anyway.
 *
 * @module
 */

import type { ButtonEl, Doc, FormEl, SelectEl, TextAreaEl } from "./dom.ts";
import { isContentType, lineColumnOf, offsetOf, validateRaw } from "./validate.ts";

/** How long typing must pause before the text is checked, in ms. */
const DEBOUNCE_MS = 120;

/** Wires every `form[data-editor]` of `root`. */
export function enhanceEditors(doc: Doc): void {
  for (const form of doc.querySelectorAll<FormEl>("form[data-editor]")) enhance(doc, form);
}

function enhance(doc: Doc, form: FormEl): void {
  const area = form.querySelector<TextAreaEl>("textarea[data-raw]");
  const status = form.querySelector("[data-validation]");
  if (!area || !status) return;
  const select = form.querySelector<SelectEl>("select[data-content-type-select]");
  const caret = form.querySelector("[data-caret]");
  const typeOf = () => select?.value ?? area.dataset.contentType ?? "plaintext";
  let timer: ReturnType<typeof setTimeout> | undefined;

  const showCaret = () => {
    if (!caret) return;
    const { line, column } = lineColumnOf(area.value, area.selectionStart);
    caret.textContent = `Line ${line}, column ${column}`;
  };

  const check = () => {
    clearTimeout(timer);
    const type = typeOf();
    if (!isContentType(type)) return true;
    const v = validateRaw(type, area.value);
    form.dataset.validation = v.ok ? "valid" : "invalid";
    area.setAttribute("aria-invalid", v.ok ? "false" : "true");
    status.replaceChildren();
    const text = doc.createElement("span");
    text.textContent = v.message;
    status.append(text);
    status.classList.toggle("error", !v.ok);
    if (!v.ok && v.line !== undefined && v.column !== undefined) {
      const { line, column } = v;
      const go = doc.createElement<ButtonEl>("button");
      go.type = "button";
      go.className = "link";
      go.textContent = `Go to line ${line}, column ${column}`;
      go.addEventListener("click", () => {
        moveCaret(area, line, column);
        showCaret();
      });
      status.append(" ", go);
    }
    return v.ok;
  };

  area.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, DEBOUNCE_MS);
    showCaret();
  });
  for (const ev of ["keyup", "click", "focus"]) area.addEventListener(ev, showCaret);
  select?.addEventListener("change", check);
  form.addEventListener("submit", (e) => {
    if (check()) return;
    e.preventDefault();
    const m = /at line (\d+), column (\d+)/.exec(status.textContent ?? "");
    if (m) moveCaret(area, Number(m[1]), Number(m[2]));
    else area.focus();
    showCaret();
  });
  check();
  form.dataset.live = "on";
}

function moveCaret(area: TextAreaEl, line: number, column: number): void {
  const at = offsetOf(area.value, line, column);
  area.focus();
  area.setSelectionRange(at, Math.min(at + 1, area.value.length));
}
