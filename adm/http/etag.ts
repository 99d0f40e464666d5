/**
 * ETags and `If-Match` for adm's own resources (apps, envs, users, role
 * bindings): the ETag is the record's cassemdb mod_revision, `"r{n}"`. A
 * write with `If-Match` applies only when the record is still at that
 * revision (checked in the same Txn), else 412.
 *
 * @module
 */

import { BadRequestError } from "../errors.ts";

/** The ETag of a record last written at `modRevision`. */
export function etagOf(modRevision: number): string {
  return `"r${modRevision}"`;
}

/**
 * The mod_revision an `If-Match` header names, or `undefined` when there is
 * none (or it is `*`: any existing version).
 * @throws {BadRequestError} when it is not one ETag this API handed out.
 */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === "*") return undefined;
  const m = /^\s*(?:W\/)?"r([1-9][0-9]{0,15})"\s*$/.exec(header);
  if (!m) {
    throw new BadRequestError(
      `Cannot use If-Match as it must be one ETag such as "r42": current value is ${header}`,
      { field: "header.If-Match" },
    );
  }
  return Number(m[1]);
}
