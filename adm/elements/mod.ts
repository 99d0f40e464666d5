/**
 * The element side of cassemadm, below its routes: every change of an
 * element as the body of one `runTxn` (metadata, version, served records
 * and oplog entry together), and what those changes check and show.
 *
 * - `edit_ops.ts`: create, add a version (`publish: true` in the same
 *   Txn), delete, set the JSON Schema;
 * - `release.ts`, `release_ops.ts`: publish, rollback, gray release (start,
 *   rule change, promote, abort) and their rules;
 * - `approvals.ts`: four-eyes requests, approve, reject;
 * - `import_ops.ts`, `bundle.ts`: export bundles and the per-element import
 *   (dry runs run the same function uncommitted);
 * - `content.ts`, `json_schema.ts`: raw size, parse, nesting and JSON
 *   Schema checks; `diff.ts`: unified and structural diffs;
 * - `sealing.ts`: secret versions sealed and opened with the keyring;
 * - `load.ts`, `read_side.ts`, `versions.ts`: reads and version records.
 *
 * @module
 */

export { actionOf, approve, type Approved, fileRequest, reject } from "./approvals.ts";
export {
  Bundle,
  BUNDLE_FORMAT,
  BundleElement,
  BundleVersion,
  exportEnv,
  type ExportOptions,
  MAX_BUNDLE_ELEMENTS,
} from "./bundle.ts";
export { checkContent, checkRaw, MAX_NESTING, nestingDepth, toJsonValue } from "./content.ts";
export {
  type Added,
  type Changed,
  type Removed,
  type StructuralDiff,
  structuralDiff,
  unifiedDiff,
} from "./diff.ts";
export {
  checkSchemaFor,
  createElement,
  type CreateInput,
  deleteElement,
  type Edited,
  setSchema,
  updateElement,
  type UpdateInput,
} from "./edit_ops.ts";
export { checkBundle, importElement, type ImportItem } from "./import_ops.ts";
export {
  compileSchema,
  type JsonSchema,
  MAX_SCHEMA_BYTES,
  MAX_VIOLATIONS,
  schemaViolations,
  type Violation,
} from "./json_schema.ts";
export {
  describeElement,
  type ElementRef,
  type LoadedElement,
  loadElement,
  loadEnvForChange,
  readVersion,
  targetOf,
  versionNotFound,
} from "./load.ts";
export { readElement, readVersionRecord } from "./read_side.ts";
export {
  applyRelease,
  checkRelease,
  describeAction,
  liveNow,
  type ReleaseAction,
  type ReleaseOutcome,
  requireGray,
  ruleDetail,
  stageGray,
  stageLive,
} from "./release.ts";
export { abortGray, changeGrayRule, promoteGray, release, type Released } from "./release_ops.ts";
export {
  type Body,
  bodyFor,
  openBody,
  requireKeyring,
  type SealedBody,
  type VersionPlace,
} from "./sealing.ts";
export { type NewElement, newElementRecord, stageVersion, withNewVersion } from "./versions.ts";
