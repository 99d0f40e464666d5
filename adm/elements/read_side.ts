/**
 * Reads of elements outside a mutation (the GET routes): linearizable
 * reads of the metadata and of versions, which are never changed once
 * written.
 *
 * @module
 */

import { elementKey, ElementRecord, versionKey, VersionRecord } from "../../shared/config/mod.ts";
import type { KvClient } from "../../shared/db/mod.ts";
import { readRecord, type Stored } from "../data/read.ts";
import { NotFoundError } from "../errors.ts";
import { describeElement, type ElementRef, versionNotFound } from "./load.ts";

/**
 * The metadata of `ref`.
 * @throws {NotFoundError} when it does not exist.
 */
export async function readElement(
  db: KvClient,
  ref: ElementRef,
  doing: string,
): Promise<Stored<ElementRecord>> {
  const s = await readRecord(db, ElementRecord, elementKey(ref.app, ref.env, ref.key));
  if (!s) throw new NotFoundError(`Cannot ${doing} as ${describeElement(ref)} does not exist`);
  return s;
}

/**
 * Version `version` of `ref` (whose metadata is `meta`).
 * @throws {NotFoundError} naming `field` when it does not exist.
 */
export async function readVersionRecord(
  db: KvClient,
  ref: ElementRef,
  meta: ElementRecord,
  version: number,
  doing: string,
  field: string,
): Promise<VersionRecord> {
  if (version > meta.latestVersion) throw versionNotFound(ref, meta, version, doing, field);
  const s = await readRecord(db, VersionRecord, versionKey(ref.app, ref.env, ref.key, version));
  if (!s) throw versionNotFound(ref, meta, version, doing, field);
  return s.record;
}
