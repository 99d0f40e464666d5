/**
 * Every cassemctl command, one file per group: `account.ts` (login,
 * logout, whoami, passwd), `apps.ts` (apps, envs, members, tokens),
 * `elements.ts`, `edit.ts` (edit, diff), `release.ts` (publish, gray,
 * promote, abort, rollback, approvals), `audit.ts` (instances, agents,
 * oplog), `transfer.ts` (export, import) and `db.ts` (cassemdb directly).
 *
 * @module
 */

import type { Command } from "../command.ts";
import { ACCOUNT_COMMANDS } from "./account.ts";
import { APP_COMMANDS } from "./apps.ts";
import { AUDIT_COMMANDS } from "./audit.ts";
import { DB_COMMANDS } from "./db.ts";
import { EDIT_COMMANDS } from "./edit.ts";
import { ELEMENT_COMMANDS } from "./elements.ts";
import { RELEASE_COMMANDS } from "./release.ts";
import { TRANSFER_COMMANDS } from "./transfer.ts";

/** Every command, in the order of the overview. */
export const COMMANDS: readonly Command[] = [
  ...ACCOUNT_COMMANDS,
  ...APP_COMMANDS,
  ...ELEMENT_COMMANDS,
  ...EDIT_COMMANDS,
  ...RELEASE_COMMANDS,
  ...TRANSFER_COMMANDS,
  ...AUDIT_COMMANDS,
  ...DB_COMMANDS,
];
