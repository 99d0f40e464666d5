/**
 * The operations the operation log records (`OplogRecord.operation`).
 * Adding one is an additive change; a name is lowercase dotted words.
 *
 * @module
 */

/** Every operation adm records, by resource. */
export const OPERATIONS = [
  "app.create",
  "app.update",
  "app.delete",
  "env.create",
  "env.update",
  "env.delete",
  "env.secret.rotate",
  "env.secret.clear",
  "user.create",
  "user.login",
  "user.logout",
  "user.update",
  "user.disable",
  "user.enable",
  "user.password.reset",
  "user.password.change",
  "role.grant",
  "role.revoke",
  "token.create",
  "token.revoke",
  "element.create",
  "element.update",
  "element.delete",
  "element.schema.set",
  "element.publish",
  "element.rollback",
  "element.gray.start",
  "element.gray.update",
  "element.gray.promote",
  "element.gray.abort",
  "element.approval.request",
  "element.approval.approve",
  "element.approval.reject",
  "env.import",
] as const;

/** An operation adm records. */
export type Operation = typeof OPERATIONS[number];
