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
 * - `content_rules.ts` and `content_types.ts`: content types, MIME types,
 *   the raw-text rule ({@linkcode MAX_RAW_BYTES}, {@linkcode rawProblem}) and
 *   the zod schema of a content type (the first needs no zod: the SDK and
 *   the dashboard's browser script import it). Parsing content by type is
 *   `shared/content`'s.
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
export * from "./agent_wire.ts";
export * from "./gray.ts";
export * from "./hashing.ts";
export * from "./secret_crypto.ts";
export * from "./operations.ts";
