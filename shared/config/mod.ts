/**
 * The cassem config layout: every cassemdb key cassem uses and the zod
 * schema of every record stored under it, plus the pure logic that adm,
 * cassemagent and the SDK share. `layout.md` (beside this file) describes
 * each key and record. Nothing outside this module spells a key.
 *
 * - `names.ts`: app ids, env names, element keys, accounts, client and agent
 *   ids: one pattern each ({@linkcode nameProblem}, {@linkcode checkName}).
 * - `keys.ts`: key builders and parsers ({@linkcode appKey},
 *   {@linkcode serveLiveKey}, {@linkcode parseServeKey}, …) and what to
 *   remove with an app, env or element ({@linkcode appTrees}, …).
 * - `records.ts` and `codec.ts`: record schemas ({@linkcode AppRecord},
 *   {@linkcode ServeLiveRecord}, …) and {@linkcode encodeRecord} /
 *   {@linkcode decodeRecord}.
 * - `content_rules.ts`, `content_types.ts` and `parse_content.ts`: content
 *   types, MIME types, the raw-text rule ({@linkcode MAX_RAW_BYTES},
 *   {@linkcode rawProblem}), the zod schema of a content type and
 *   {@linkcode parseContent} with line and column errors (the first and the
 *   last need no zod: the SDK and the dashboard's browser script import them).
 * - `gray.ts`: gray rules and {@linkcode grayApplies}.
 * - `hashing.ts`: fingerprints, secret hashes, ids, base64.
 * - `secret_crypto.ts`: AES-256-GCM keyring for secret elements.
 * - `operations.ts`: the operation names of the oplog.
 *
 * @module
 */

export * from "./names.ts";
export * from "./keys.ts";
export * from "./records.ts";
export * from "./codec.ts";
export * from "./content_types.ts";
export * from "./parse_content.ts";
export { type JsonSyntaxError, locateJsonError } from "./json_locate.ts";
export {
  parseProperties,
  type PropertiesResult,
  type PropertiesSyntaxError,
} from "./properties.ts";
export * from "./agent_wire.ts";
export * from "./gray.ts";
export * from "./hashing.ts";
export * from "./secret_crypto.ts";
export * from "./operations.ts";
