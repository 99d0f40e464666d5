/**
 * JSON Schemas of elements (draft 2020-12, npm:ajv): compiling a schema when
 * it is set (a schema that does not compile is a 400 naming `body.schema`),
 * and listing where a value breaks one. Compiled validators are kept in a
 * small bounded cache keyed by the schema's JSON text, so validating a new
 * version does not recompile.
 *
 * Unknown keywords are refused (so a typo does not silently validate
 * nothing), but ajv's stricter style rules are off: any valid schema is taken; `format` is an annotation only, as the 2020-12
 * specification makes it by default; `$ref` resolves inside the schema only
 * (nothing is fetched).
 *
 * @module
 */

import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { BadRequestError } from "../errors.ts";

/** A JSON Schema document (an object). */
export type JsonSchema = Record<string, unknown>;

/** The largest schema accepted, as JSON text, in bytes. */
export const MAX_SCHEMA_BYTES = 32 * 1024;

/** How many failing paths a 422 lists at most. */
export const MAX_VIOLATIONS = 20;

/** One place where a value breaks a schema. */
export interface Violation {
  /** A JSON Pointer to the failing value (`/db/port`; `/` for the whole value). */
  readonly path: string;
  /** What is wrong there (ajv's message: `must be integer`). */
  readonly message: string;
}

const CACHE_SIZE = 128;
const cache = new Map<string, ValidateFunction>();

/**
 * The validator of `schema`, compiled once per distinct schema text.
 * @throws {BadRequestError} naming `field` when it is too large or does not compile.
 */
export function compileSchema(schema: JsonSchema, field = "body.schema"): ValidateFunction {
  const text = JSON.stringify(schema);
  const hit = cache.get(text);
  if (hit) {
    // Refresh its place: the cache drops the least recently used.
    cache.delete(text);
    cache.set(text, hit);
    return hit;
  }
  const bytes = new TextEncoder().encode(text).byteLength;
  if (bytes > MAX_SCHEMA_BYTES) {
    throw new BadRequestError(
      `Cannot use ${field} as a JSON Schema must be at most ${MAX_SCHEMA_BYTES} bytes as JSON: current size is ${bytes}`,
      { field },
    );
  }
  let validate: ValidateFunction;
  try {
    // One Ajv per schema: schemas with the same $id must not collide in a shared instance.
    const ajv = new Ajv2020({
      allErrors: true,
      // Unknown keywords are refused; valid-but-loose schemas (required without properties) are not.
      strictSchema: true,
      strictNumbers: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      validateFormats: false,
      logger: false,
    });
    validate = ajv.compile(schema);
  } catch (e) {
    throw new BadRequestError(
      `Cannot use ${field} as it is not a valid JSON Schema (draft 2020-12): ${
        e instanceof Error ? e.message : String(e)
      }`,
      { field },
    );
  }
  cache.set(text, validate);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return validate;
}

/**
 * Where `value` (plain JSON data) breaks `schema`, at most
 * {@linkcode MAX_VIOLATIONS} places; empty when it satisfies it.
 */
export function schemaViolations(schema: JsonSchema, value: unknown): Violation[] {
  const validate = compileSchema(schema);
  if (validate(value)) return [];
  const out: Violation[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    const v = violationOf(e);
    const id = `${v.path} ${v.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(v);
    if (out.length >= MAX_VIOLATIONS) break;
  }
  return out;
}

function violationOf(e: ErrorObject): Violation {
  let path = e.instancePath;
  // A missing property fails on its parent: point at the property itself.
  if (e.keyword === "required" && typeof e.params.missingProperty === "string") {
    path += `/${escapePointer(e.params.missingProperty)}`;
  }
  if (e.keyword === "additionalProperties" && typeof e.params.additionalProperty === "string") {
    path += `/${escapePointer(e.params.additionalProperty)}`;
  }
  return { path: path === "" ? "/" : path, message: e.message ?? e.keyword };
}

function escapePointer(s: string): string {
  return s.replace(/~/g, "~0").replace(/\//g, "~1");
}
