/**
 * The mutations that change an element's content: create it (version 1),
 * add a version, set its JSON Schema, delete it. Each is the body of one
 * `runTxn`: it reads through the Txn, stages every write (metadata, version,
 * served record when it publishes) and exactly one oplog entry.
 *
 * A new version is refused (409) while an unpublished one exists, as in
 * the original cassem. `publish: true` adds the version and makes it live
 * in the same Txn (refused where publishing needs approval, and while a
 * gray release runs), so that a pipeline can ship a change in one call.
 *
 * @module
 */

import {
  type ContentType,
  elementKey,
  ElementRecord,
  elementTrees,
  isStructured,
  type Keyring,
  type VersionRecord,
} from "../../shared/config/mod.ts";
import type { AdmTxn, ReadOptions } from "../data/txn.ts";
import { BadRequestError, ConflictError } from "../errors.ts";
import { checkContent } from "./content.ts";
import { compileSchema, type JsonSchema } from "./json_schema.ts";
import {
  describeElement,
  type ElementRef,
  loadElement,
  loadEnvForChange,
  targetOf,
} from "./load.ts";
import { applyRelease, checkRelease } from "./release.ts";
import { newElementRecord, stageVersion, withNewVersion } from "./versions.ts";
import { requireKeyring } from "./sealing.ts";

/** What `POST .../elements/{key}` asks for. */
export interface CreateInput {
  /** The raw text of version 1. */
  readonly raw: string;
  /** Its content type, for good. */
  readonly contentType: ContentType;
  /** Seal its versions (needs the keyring). */
  readonly secret: boolean;
  /** A JSON Schema every version must satisfy (structured types only), or null. */
  readonly schema: JsonSchema | null;
  /** A remark for version 1 and the oplog. */
  readonly remark: string;
  /** Make version 1 live at once. */
  readonly publish: boolean;
}

/** What `PUT .../elements/{key}` asks for. */
export interface UpdateInput {
  /** The raw text of the new version. */
  readonly raw: string;
  /** A remark for the version and the oplog. */
  readonly remark: string;
  /** Make the new version live at once. */
  readonly publish: boolean;
}

/** The element after a change, and the version it made. */
export interface Edited {
  /** The metadata written. */
  readonly meta: ElementRecord;
  /** The version written. */
  readonly version: VersionRecord;
}

/**
 * Refuses a schema on an unstructured type and compiles it (400 naming
 * `field` when it is no valid JSON Schema).
 */
export function checkSchemaFor(
  type: ContentType,
  schema: JsonSchema | null,
  field = "body.schema",
): void {
  if (schema === null) return;
  if (!isStructured(type)) {
    throw new BadRequestError(
      `Cannot use ${field} as only structured content types take a JSON Schema: current content type is ${type}`,
      { field },
    );
  }
  compileSchema(schema, field);
}

function refuseApprovalPublish(ref: ElementRef, requireApproval: boolean, doing: string): void {
  if (!requireApproval) return;
  throw new ConflictError(
    `Cannot ${doing} with publish: true as env ${ref.env} of app ${ref.app} requires approval to publish: current setting is requireApproval=true (publish through POST .../publish, which files a request)`,
    { field: "body.publish" },
  );
}

/** Creates `ref` with version 1 (see the module doc). */
export async function createElement(
  tx: AdmTxn,
  keyring: Keyring | undefined,
  ref: ElementRef,
  input: CreateInput,
): Promise<Edited> {
  const doing = `create ${describeElement(ref)}`;
  const env = await loadEnvForChange(tx, ref, doing);
  if (input.publish) refuseApprovalPublish(ref, env.record.requireApproval, doing);
  if (input.secret) requireKeyring(keyring, doing);
  checkSchemaFor(input.contentType, input.schema);
  checkContent(input.contentType, input.raw, input.schema, "body.raw");
  const key = elementKey(ref.app, ref.env, ref.key);
  const existing = await tx.read(ElementRecord, key);
  if (existing) {
    throw new ConflictError(
      `Cannot ${doing} as it already exists: current latest version is ${existing.record.latestVersion} (add a version with PUT)`,
    );
  }
  const v1 = await stageVersion(tx, keyring, ref, input, 1, input.raw, input.remark);
  let meta = newElementRecord(tx, ref, input, v1);
  if (input.publish) meta = applyRelease(tx, ref, meta, { kind: "publish", version: 1 }, v1).next;
  tx.put(ElementRecord, key, meta);
  tx.log({
    operation: "element.create",
    target: targetOf(ref),
    ...ref,
    previousVersion: null,
    newVersion: 1,
    remark: input.remark,
    detail: {
      contentType: input.contentType,
      secret: input.secret,
      schema: input.schema !== null,
      published: input.publish,
    },
  });
  return { meta, version: v1 };
}

/** Adds the next version of `ref` (see the module doc). */
export async function updateElement(
  tx: AdmTxn,
  keyring: Keyring | undefined,
  ref: ElementRef,
  input: UpdateInput,
  options: ReadOptions = {},
): Promise<Edited> {
  const doing = `add a version to ${describeElement(ref)}`;
  const { env, meta } = await loadElement(tx, ref, doing, options);
  const cur = meta.record;
  if (cur.unpublishedVersion !== null) {
    throw new ConflictError(
      `Cannot ${doing} as an unpublished version exists: current unpublished version is ${cur.unpublishedVersion} (publish it first)`,
    );
  }
  const n = cur.latestVersion + 1;
  if (input.publish) {
    refuseApprovalPublish(ref, env.record.requireApproval, doing);
    checkRelease(ref, cur, { kind: "publish", version: n });
  }
  checkContent(cur.contentType, input.raw, cur.schema, "body.raw");
  const v = await stageVersion(tx, keyring, ref, cur, n, input.raw, input.remark);
  let next = withNewVersion(tx, cur, v);
  if (input.publish) next = applyRelease(tx, ref, next, { kind: "publish", version: n }, v).next;
  tx.put(ElementRecord, meta.key, next);
  tx.log({
    operation: "element.update",
    target: targetOf(ref),
    ...ref,
    previousVersion: cur.latestVersion,
    newVersion: n,
    remark: input.remark,
    detail: { published: input.publish },
  });
  return { meta: next, version: v };
}

/** Deletes `ref` with its versions, served records and pending request. */
export async function deleteElement(
  tx: AdmTxn,
  ref: ElementRef,
  options: ReadOptions = {},
): Promise<void> {
  const doing = `delete ${describeElement(ref)}`;
  const { meta } = await loadElement(tx, ref, doing, options);
  await tx.remove(meta.key);
  await tx.removeTrees(elementTrees(ref.app, ref.env, ref.key));
  tx.log({
    operation: "element.delete",
    target: targetOf(ref),
    ...ref,
    previousVersion: meta.record.publishedVersion,
    newVersion: null,
    detail: { latestVersion: meta.record.latestVersion },
  });
}

/**
 * Sets (or with null, clears) the JSON Schema of `ref`. It applies to the
 * versions added from now on; existing versions are kept as they are.
 */
export async function setSchema(
  tx: AdmTxn,
  ref: ElementRef,
  schema: JsonSchema | null,
  remark: string,
  options: ReadOptions = {},
): Promise<ElementRecord> {
  const doing = `set the JSON Schema of ${describeElement(ref)}`;
  const { meta } = await loadElement(tx, ref, doing, options);
  checkSchemaFor(meta.record.contentType, schema);
  const next: ElementRecord = {
    ...meta.record,
    schema,
    updatedBy: tx.actor.operator,
    updatedAt: tx.time,
  };
  tx.put(ElementRecord, meta.key, next);
  tx.log({
    operation: "element.schema.set",
    target: targetOf(ref),
    ...ref,
    remark,
    detail: { schema: schema !== null },
  });
  return next;
}
