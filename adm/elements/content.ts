/**
 * Checking an element's raw text before it is stored: the rule every raw
 * obeys (size, characters), a parse as its content type, and the element's
 * JSON Schema for structured types. Every refusal names the request field
 * at fault: 413 for a raw over `MAX_RAW_BYTES`, 422 with `line` and
 * `column` for text that does not parse, 422 with `paths` for a value that
 * breaks the schema.
 *
 * @module
 */

import { type ContentType, isStructured, rawProblem } from "../../shared/config/mod.ts";
import { parseContent } from "../../shared/content/mod.ts";
import { InvalidContentError, PayloadTooLargeError } from "../errors.ts";
import { type JsonSchema, schemaViolations } from "./json_schema.ts";

/** The deepest nesting of objects and arrays a structured value may have. */
export const MAX_NESTING = 64;

/**
 * Refuses a raw text that no element may hold, whatever its type.
 * @throws {PayloadTooLargeError} (413) when it exceeds `MAX_RAW_BYTES`.
 * @throws {InvalidContentError} (422, with line and column) for a control character or a lone surrogate.
 */
export function checkRaw(raw: string, field: string): void {
  const problem = rawProblem(raw);
  if (!problem) return;
  if (problem.kind === "too-large") throw new PayloadTooLargeError(problem.message, { field });
  throw new InvalidContentError(problem.message, {
    field,
    details: { line: problem.line, column: problem.column },
  });
}

/**
 * The value of `raw` parsed as `type`, made plain JSON (TOML dates become
 * ISO strings, big integers numbers), after checking it against `schema`
 * when one is given and the type is structured. For `plaintext` the value
 * is the text itself.
 * @throws {PayloadTooLargeError} or {@linkcode InvalidContentError} as {@linkcode checkRaw}.
 * @throws {InvalidContentError} (422) naming line and column when it does not parse, or the
 * failing paths (`details.paths`) when it breaks the schema.
 */
export function checkContent(
  type: ContentType,
  raw: string,
  schema: JsonSchema | null,
  field: string,
): unknown {
  checkRaw(raw, field);
  let parsed;
  try {
    parsed = parseContent(type, raw);
  } catch (e) {
    // A parser that recursed past the stack on absurd nesting: still bad content, not a 500.
    if (e instanceof RangeError) throw tooDeep(type, field);
    throw e;
  }
  if (!parsed.ok) {
    throw new InvalidContentError(parsed.error.message, {
      field,
      details: { line: parsed.error.line, column: parsed.error.column },
    });
  }
  if (!isStructured(type)) return parsed.value;
  if (nestingDepth(parsed.value) > MAX_NESTING) throw tooDeep(type, field);
  const value = toJsonValue(parsed.value);
  if (schema !== null) {
    const violations = schemaViolations(schema, value);
    if (violations.length > 0) {
      const first = violations[0]!;
      throw new InvalidContentError(
        `Cannot store raw as its ${type} value does not satisfy the element's JSON Schema: ${first.path} ${first.message}` +
          (violations.length > 1 ? ` (and ${violations.length - 1} more)` : ""),
        { field, details: { paths: violations.map((v) => v.path), violations } },
      );
    }
  }
  return value;
}

function tooDeep(type: ContentType, field: string): InvalidContentError {
  return new InvalidContentError(
    `Cannot store raw as ${type} content must nest objects and arrays at most ${MAX_NESTING} levels deep`,
    { field, details: { line: 1, column: 1 } },
  );
}

/** How deeply objects and arrays nest in `value` (0 for a scalar); iterative, so no stack limit. */
export function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object" || v instanceof Date) continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max > MAX_NESTING) return max;
    for (const child of Object.values(v)) stack.push([child, depth]);
  }
  return max;
}

/**
 * `value` as plain JSON data: objects with own enumerable keys, arrays,
 * strings, finite numbers, booleans, null. Dates become ISO strings, big
 * integers numbers (or strings past 2^53), non-finite numbers strings
 * (`inf`, `-inf`, `nan`: TOML allows them). Depth must already be bounded.
 */
export function toJsonValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value)
        ? value
        : Number.isNaN(value)
        ? "nan"
        : value > 0
        ? "inf"
        : "-inf";
    case "bigint":
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case "object": {
      if (Array.isArray(value)) return value.map(toJsonValue);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v);
      return out;
    }
    default:
      return String(value);
  }
}
