/**
 * The first start: against an empty cassemdb, create the `admin` account
 * with the password from `CASSEM_ADMIN_PASSWORD`, or a generated one the
 * caller prints once. One Txn writes the bootstrap record and the user with
 * `mustNotExist` compares, so when several adm copies start at once exactly
 * one creates the account; the others see the record and create nothing.
 * There is no built-in default password.
 *
 * @module
 */

import {
  bootstrapKey,
  BootstrapRecord,
  newId,
  newSecret,
  userKey,
  UserRecord,
} from "../../shared/config/mod.ts";
import type { AdmDeps } from "../deps.ts";
import { runTxn } from "../data/txn.ts";
import { hashPassword, passwordProblem } from "./passwords.ts";

/** The account the first start creates. */
export const BOOTSTRAP_ACCOUNT = "admin";

/** What {@linkcode bootstrapAdmin} did. */
export type BootstrapResult =
  | { readonly created: false }
  | { readonly created: true; readonly generatedPassword: string | undefined };

/**
 * Creates the `admin` account unless the bootstrap already happened.
 * `password` (from `CASSEM_ADMIN_PASSWORD`) is used when given; otherwise a
 * random one is generated and returned (print it once).
 * @throws {RangeError} when `password` is too short or too long.
 */
export async function bootstrapAdmin(
  deps: AdmDeps,
  password: string | undefined,
): Promise<BootstrapResult> {
  if (password !== undefined) {
    const problem = passwordProblem(password);
    if (problem) throw new RangeError(`Cannot use CASSEM_ADMIN_PASSWORD as ${problem}`);
  }
  const existing = await deps.db.get(bootstrapKey());
  if (existing.entity) return { created: false };
  const pw = password ?? newSecret();
  const hash = await hashPassword(pw, deps.config.passwordIterations);
  const nonce = newId();
  const actor = { operator: "system", requestId: `bootstrap-${nonce}` };
  const { value } = await runTxn(deps, actor, "create the admin account", async (tx) => {
    const marker = await tx.read(BootstrapRecord, bootstrapKey());
    if (marker) return false;
    const user = await tx.read(UserRecord, userKey(BOOTSTRAP_ACCOUNT));
    tx.put(BootstrapRecord, bootstrapKey(), {
      account: BOOTSTRAP_ACCOUNT,
      createdAt: tx.time,
      nonce,
    });
    if (!user) {
      tx.put(UserRecord, userKey(BOOTSTRAP_ACCOUNT), {
        account: BOOTSTRAP_ACCOUNT,
        nickname: "Administrator",
        password: hash,
        status: "normal",
        admin: true,
        createdBy: "system",
        createdAt: tx.time,
        updatedBy: "system",
        updatedAt: tx.time,
        passwordChangedAt: tx.time,
        lastLoginAt: null,
      });
    }
    tx.log({
      operation: "user.create",
      target: `users/${BOOTSTRAP_ACCOUNT}`,
      detail: { bootstrap: true, generatedPassword: password === undefined },
    });
    return !user;
  });
  if (!value) return { created: false };
  return { created: true, generatedPassword: password === undefined ? pw : undefined };
}
