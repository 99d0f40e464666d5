/**
 * Builders of the frozen {@linkcode Entity} and {@linkcode Change} objects
 * the store hands out.
 *
 * @module
 */

import type { Change, ChangeReason, Entity } from "./types.ts";

/** The value of every directory (zero bytes, so it cannot be written to). */
export const EMPTY_VAL: Uint8Array = new Uint8Array(0);

/** A frozen copy of `e` with a fixed property order, so that all entities share one shape. */
export function makeEntity(e: Entity): Entity {
  return Object.freeze({
    key: e.key,
    type: e.type,
    val: e.val,
    fingerprint: e.fingerprint,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    ttl: e.ttl,
    expireAt: e.expireAt,
    size: e.size,
    createRevision: e.createRevision,
    modRevision: e.modRevision,
  });
}

/** A directory created at `revision`, `time`. */
export function makeDirectory(key: string, revision: number, time: number): Entity {
  return makeEntity({
    key,
    type: "directory",
    val: EMPTY_VAL,
    fingerprint: "",
    createdAt: time,
    updatedAt: time,
    ttl: 0,
    expireAt: 0,
    size: 0,
    createRevision: revision,
    modRevision: revision,
  });
}

/** A frozen change; `last`/`current` are left out when `undefined`. */
export function makeChange(
  op: "set" | "unset",
  key: string,
  last: Entity | undefined,
  current: Entity | undefined,
  revision: number,
  reason: ChangeReason,
): Change {
  const c: { -readonly [K in keyof Change]: Change[K] } = { op, key, revision, reason };
  if (last) c.last = last;
  if (current) c.current = current;
  return Object.freeze(c);
}
