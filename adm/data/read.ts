/**
 * Reading records from cassemdb: one record, several, or a page under a
 * prefix, decoded and checked by their schemas.
 *
 * @module
 */

import type { z } from "zod";
import { decodeRecord } from "../../shared/config/mod.ts";
import type { Entity, KvClient } from "../../shared/db/mod.ts";

/** A record with the revision it was last written at (its ETag, and its compare-and-swap guard). */
export interface Stored<T> {
  /** The decoded record. */
  readonly record: T;
  /** The cassemdb mod_revision of its key. */
  readonly modRevision: number;
  /** Its cassemdb key. */
  readonly key: string;
}

/** `entity` decoded with `schema`, or `undefined` for a directory. */
export function storedOf<S extends z.ZodType>(
  schema: S,
  entity: Entity,
): Stored<z.output<S>> | undefined {
  if (entity.type !== "ELEMENT") return undefined;
  return {
    record: decodeRecord(schema, entity.key, entity.val),
    modRevision: entity.modRevision,
    key: entity.key,
  };
}

/** The record at `key` (linearizable read), or `undefined` when absent. */
export async function readRecord<S extends z.ZodType>(
  db: KvClient,
  schema: S,
  key: string,
): Promise<Stored<z.output<S>> | undefined> {
  const { entity } = await db.get(key);
  return entity ? storedOf(schema, entity) : undefined;
}

/** One page of records under `prefix`, in key order. */
export interface RecordPage<T> {
  /** The records of this page. */
  readonly items: Stored<T>[];
  /** The key to seek after for the next page, or `undefined` at the end. */
  readonly nextKey: string | undefined;
}

/**
 * One page of at most `limit` (1..100) records under `prefix`, starting
 * strictly after the key `seek`. Directories under the prefix are skipped;
 * a page may then hold fewer than `limit` even when more follow.
 */
export async function readPage<S extends z.ZodType>(
  db: KvClient,
  schema: S,
  prefix: string,
  options: { seek?: string; limit: number },
): Promise<RecordPage<z.output<S>>> {
  const page = await db.range(prefix, { seek: options.seek, limit: options.limit });
  const items: Stored<z.output<S>>[] = [];
  for (const e of page.entities) {
    const s = storedOf(schema, e);
    if (s) items.push(s);
  }
  return { items, nextKey: page.hasMore ? page.nextSeekKey : undefined };
}

/** Every record under `prefix` (one consistent listing), directories skipped. */
export async function readAll<S extends z.ZodType>(
  db: KvClient,
  schema: S,
  prefix: string,
): Promise<Stored<z.output<S>>[]> {
  const { entities } = await db.list(prefix);
  const out: Stored<z.output<S>>[] = [];
  for (const e of entities) {
    const s = storedOf(schema, e);
    if (s) out.push(s);
  }
  return out;
}
