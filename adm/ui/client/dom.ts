/**
 * The few parts of the browser's DOM the client script uses, as local
 * types. The project is type-checked as one Deno program, where the `dom`
 * library would clash with Deno's own types (its `TextDecoderStream`, for
 * one), so the client names what it touches instead of loading that
 * library; {@linkcode browserDocument} is the one place it meets the
 * browser's globals.
 *
 * @module
 */

/** A DOM element: the members the script uses. */
export interface El {
  textContent: string | null;
  className: string;
  readonly classList: { toggle(token: string, force?: boolean): boolean };
  readonly dataset: Record<string, string | undefined>;
  setAttribute(name: string, value: string): void;
  addEventListener(type: string, listener: (event: Ev) => void): void;
  append(...nodes: (El | string)[]): void;
  replaceChildren(...nodes: (El | string)[]): void;
  querySelector<T extends El = El>(selector: string): T | null;
  focus(): void;
}

/** An event: the members the script uses. */
export interface Ev {
  preventDefault(): void;
}

/** A `<form>`. */
export type FormEl = El;

/** A `<textarea>`. */
export interface TextAreaEl extends El {
  value: string;
  readonly selectionStart: number;
  setSelectionRange(start: number, end: number): void;
}

/** A `<select>`. */
export interface SelectEl extends El {
  readonly value: string;
}

/** A `<button>`. */
export interface ButtonEl extends El {
  type: string;
}

/** The document: the members the script uses. */
export interface Doc {
  readonly documentElement: El;
  querySelectorAll<T extends El = El>(selector: string): Iterable<T>;
  createElement<T extends El = El>(tag: string): T;
}

/** The page's document (the script runs in a browser). */
export function browserDocument(): Doc {
  return (globalThis as unknown as { document: Doc }).document;
}
