/**
 * Config elements as the agent sends them ({@linkcode ElementJson}, checked
 * by {@linkcode checkElementJson}) and as the SDK hands them to the
 * application ({@linkcode Element}: the same fields plus `value`, the raw
 * text parsed by its content type with the parsers cassem itself uses, then
 * by the caller's own parser when it gives one).
 *
 * @module
 */

import { parseContent } from "../shared/content/parse_content.ts";
import type { ContentType } from "../shared/config/content_rules.ts";
import { ContentError, ProtocolError } from "./errors.ts";

export type { ContentType };

const TYPES: ReadonlySet<string> = new Set([
  "json",
  "yaml",
  "toml",
  "ini",
  "properties",
  "plaintext",
]);

/** One version of an element, as the agent sends it (JSON reads, SSE, long poll). */
export interface ElementJson {
  /** The element's key. */
  readonly key: string;
  /** Its version number. */
  readonly version: number;
  /** How `raw` is parsed. */
  readonly contentType: ContentType;
  /** The text exactly as published. */
  readonly raw: string;
  /** SHA-256 hex of `raw` (of the ciphertext for a secret element). */
  readonly fingerprint: string;
  /** The cassemdb revision that published this version (orders versions across agents). */
  readonly revision: number;
  /** Whether a gray release picked this client for this version. */
  readonly gray: boolean;
}

/**
 * A caller's parser: takes the value parsed by content type (objects,
 * arrays, strings, numbers, booleans, null; TOML dates as `Date`;
 * properties as a string map; plaintext as the text) and answers the typed
 * value, or throws (a schema's `parse` fits).
 */
export type ValueParser<T> = (value: unknown, element: ElementJson) => T;

/** An element version with its parsed value. */
export interface Element<T = unknown> extends ElementJson {
  /** `raw` parsed by `contentType`, then by the caller's parser if one was given. */
  readonly value: T;
}

function isInt(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/**
 * `x` as an {@linkcode ElementJson} (extra fields dropped).
 * @throws {ProtocolError} naming `where` and the field when `x` does not have the shape.
 */
export function checkElementJson(x: unknown, where: string): ElementJson {
  const o = x as Record<string, unknown> | null;
  const bad = (field: string) =>
    new ProtocolError(
      `Cannot use an element from ${where} as its ${field} is malformed: current value is ${
        JSON.stringify(o?.[field])?.slice(0, 100)
      }`,
    );
  if (typeof o !== "object" || o === null) {
    throw new ProtocolError(
      `Cannot use an element from ${where} as it must be an object: current value is ${
        JSON.stringify(x)?.slice(0, 100)
      }`,
    );
  }
  if (typeof o.key !== "string" || o.key === "") throw bad("key");
  if (!isInt(o.version)) throw bad("version");
  if (typeof o.contentType !== "string" || !TYPES.has(o.contentType)) throw bad("contentType");
  if (typeof o.raw !== "string") throw bad("raw");
  if (typeof o.fingerprint !== "string") throw bad("fingerprint");
  if (!isInt(o.revision)) throw bad("revision");
  if (typeof o.gray !== "boolean") throw bad("gray");
  return {
    key: o.key,
    version: o.version,
    contentType: o.contentType as ContentType,
    raw: o.raw,
    fingerprint: o.fingerprint,
    revision: o.revision,
    gray: o.gray,
  };
}

/**
 * `json` with its value: `raw` parsed by its content type (the same
 * parsers as cassemadm and the agent), then by `parse` when given.
 * @throws {ContentError} naming the key, version, line and column when the raw text does not parse, or when `parse` throws.
 */
export function parseElement<T = unknown>(json: ElementJson, parse?: ValueParser<T>): Element<T> {
  const r = parseContent(json.contentType, json.raw);
  if (!r.ok) {
    throw new ContentError(
      json.key,
      json.version,
      `Cannot use version ${json.version} of ${json.key}: ${r.error.message}`,
    );
  }
  let value: T;
  if (parse) {
    try {
      value = parse(r.value, json);
    } catch (e) {
      throw new ContentError(
        json.key,
        json.version,
        `Cannot use version ${json.version} of ${json.key} as the parser refused it: ${
          e instanceof Error ? e.message : String(e)
        }`,
        { cause: e },
      );
    }
  } else {
    value = r.value as T;
  }
  return { ...json, value };
}

/**
 * Whether `a` and `b` are the same version of an element as this client
 * gets it: version, fingerprint and gray flag (a promote turns a gray
 * version live without changing it, and the agent says so).
 */
export function sameVersion(
  a: Pick<ElementJson, "version" | "fingerprint" | "gray"> | undefined,
  b: Pick<ElementJson, "version" | "fingerprint" | "gray">,
): boolean {
  return a !== undefined && a.version === b.version && a.fingerprint === b.fingerprint &&
    a.gray === b.gray;
}
