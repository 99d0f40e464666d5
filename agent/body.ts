/**
 * Element bodies as the agent holds them, and the answers built from them.
 *
 * A body keeps its raw text as a JSON string literal (`rawJson`), the form
 * the elements route sends, so a cached read only concatenates prepared
 * pieces; the raw text itself (the raw route, pushes, gRPC) is recovered
 * from it — a slice when the text needed no escaping, the common case —
 * so no text is held twice.
 *
 * @module
 */

import type { ServedVersion } from "./serve_records.ts";
import type { ElementJson } from "./subscriptions.ts";

/** The text of one version, held as a JSON string literal. */
export class TextBody {
  /** Always undefined: a text body serves. */
  readonly error: undefined = undefined;
  /** The record revision the text belongs to. */
  readonly modRevision: number;
  /** `JSON.stringify(raw)`. */
  readonly rawJson: string;

  /** A body of `rawJson` (a JSON string literal) at `modRevision`. */
  constructor(modRevision: number, rawJson: string) {
    this.modRevision = modRevision;
    this.rawJson = rawJson;
  }

  /** A body of the raw text `raw`. */
  static of(modRevision: number, raw: string): TextBody {
    return new TextBody(modRevision, JSON.stringify(raw));
  }

  /** The raw text. */
  get raw(): string {
    const j = this.rawJson;
    return j.includes("\\") ? JSON.parse(j) as string : j.slice(1, -1);
  }
}

/** A version the agent cannot serve, and why (a secret it cannot open). */
export interface ErrorBody {
  /** The record revision it belongs to. */
  readonly modRevision: number;
  /** Why it cannot be served ("Cannot serve … as …"). */
  readonly error: string;
  /** Absent. */
  readonly rawJson?: undefined;
}

/** A body as the agent holds it. */
export type Body = TextBody | ErrorBody;

/** The JSON of an element around its raw text: before and after `rawJson`. */
const fragments = new WeakMap<ServedVersion, readonly [string, string]>();

/** The element JSON text of version `v` with body `b` (see {@linkcode elementJson}). */
export function elementText(v: ServedVersion, b: TextBody): string {
  let f = fragments.get(v);
  if (!f) {
    f = [
      `{"key":${
        JSON.stringify(v.key)
      },"version":${v.version},"contentType":"${v.contentType}","raw":`,
      `,"fingerprint":"${v.fingerprint}","revision":${v.modRevision},"gray":${v.kind === "gray"}}`,
    ];
    fragments.set(v, f);
  }
  return f[0] + b.rawJson + f[1];
}

/** The element JSON of version `v` with its raw text `raw`. */
export function elementJson(v: ServedVersion, raw: string): ElementJson {
  return {
    key: v.key,
    version: v.version,
    contentType: v.contentType,
    raw,
    fingerprint: v.fingerprint,
    revision: v.modRevision,
    gray: v.kind === "gray",
  };
}

/** A version found by a read, with its body. */
export interface Found {
  /** The version the client gets. */
  readonly version: ServedVersion;
  /** Its body. */
  readonly body: TextBody;
}

/** What a read answers. */
export class ReadResult {
  /** The versions found, in the order asked. */
  readonly found: readonly Found[];
  /** The keys that have no version for this client. */
  readonly missing: string[];
  /** The agent's revision when it answered. */
  readonly revision: number;
  /** Whether cassemdb is out of reach (the answer may be out of date). */
  readonly stale: boolean;
  #elements: ElementJson[] | undefined;

  /** An answer; `elements`, when given, stands for `found` (a long poll's pushes). */
  constructor(
    found: readonly Found[],
    missing: string[],
    revision: number,
    stale: boolean,
    elements?: ElementJson[],
  ) {
    this.found = found;
    this.missing = missing;
    this.revision = revision;
    this.stale = stale;
    this.#elements = elements;
  }

  /** The elements found, as objects. */
  get elements(): ElementJson[] {
    return this.#elements ??= this.found.map((f) => elementJson(f.version, f.body.raw));
  }

  /** The JSON text `{ "elements", "missing", "revision" }` (the elements route's body). */
  json(): string {
    const els = this.#elements
      ? this.#elements.map((e) => JSON.stringify(e)).join(",")
      : this.found.map((f) => elementText(f.version, f.body)).join(",");
    return `{"elements":[${els}],"missing":${
      JSON.stringify(this.missing)
    },"revision":${this.revision}}`;
  }
}
