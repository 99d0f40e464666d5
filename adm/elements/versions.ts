/**
 * Writing versions: the metadata of a new element, and a new version
 * record (sealed for a secret element). Versions are numbered 1, 2, … by
 * the metadata's `latestVersion`, read in the same Txn, so two copies
 * adding a version at once cannot both take the same number: one Txn's
 * compare fails and it runs again from the new metadata.
 *
 * @module
 */

import {
  type ContentType,
  type ElementRecord,
  versionKey,
  VersionRecord,
} from "../../shared/config/mod.ts";
import type { AdmTxn } from "../data/txn.ts";
import type { Keyring } from "../../shared/config/mod.ts";
import { type ElementRef } from "./load.ts";
import { bodyFor } from "./sealing.ts";

/** What a new element is made of. */
export interface NewElement {
  /** Its content type, for good. */
  readonly contentType: ContentType;
  /** Whether its versions are sealed. */
  readonly secret: boolean;
  /** Its JSON Schema, or null. */
  readonly schema: Record<string, unknown> | null;
}

/**
 * Stages version `version` of `ref` holding `raw` (sealed when the element
 * is secret) and answers its record. The caller updates the metadata.
 */
export async function stageVersion(
  tx: AdmTxn,
  keyring: Keyring | undefined,
  ref: ElementRef,
  element: Pick<ElementRecord, "contentType" | "secret">,
  version: number,
  raw: string,
  remark: string,
): Promise<VersionRecord> {
  const { body, fingerprint } = await bodyFor(keyring, element.secret, { ...ref, version }, raw);
  const record = {
    app: ref.app,
    env: ref.env,
    key: ref.key,
    version,
    contentType: element.contentType,
    fingerprint,
    author: tx.actor.operator,
    createdAt: tx.time,
    remark,
    ...body,
  } as VersionRecord;
  tx.put(VersionRecord, versionKey(ref.app, ref.env, ref.key, version), record);
  return record;
}

/** The metadata of a new element whose version 1 is `v1` (unpublished). */
export function newElementRecord(
  tx: AdmTxn,
  ref: ElementRef,
  element: NewElement,
  v1: VersionRecord,
): ElementRecord {
  return {
    app: ref.app,
    env: ref.env,
    key: ref.key,
    contentType: element.contentType,
    secret: element.secret,
    schema: element.schema,
    latestVersion: 1,
    latestFingerprint: v1.fingerprint,
    publishedVersion: null,
    publishedFingerprint: null,
    unpublishedVersion: 1,
    grayVersion: null,
    createdBy: tx.actor.operator,
    createdAt: tx.time,
    updatedBy: tx.actor.operator,
    updatedAt: tx.time,
  };
}

/** `meta` with version `v` as its new latest, unpublished version. */
export function withNewVersion(tx: AdmTxn, meta: ElementRecord, v: VersionRecord): ElementRecord {
  return {
    ...meta,
    latestVersion: v.version,
    latestFingerprint: v.fingerprint,
    unpublishedVersion: v.version,
    updatedBy: tx.actor.operator,
    updatedAt: tx.time,
  };
}
