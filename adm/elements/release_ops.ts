/**
 * The mutations behind the release routes: publish, rollback and gray
 * release start (each a request instead where the env requires approval),
 * and a running gray release's rule change, promotion and abort. Each is
 * the body of one `runTxn` with its one oplog entry.
 *
 * @module
 */

import {
  type ApprovalRecord,
  ElementRecord,
  type GrayRule,
  serveGrayKey,
  ServeGrayRecord,
} from "../../shared/config/mod.ts";
import type { AdmTxn, ReadOptions } from "../data/txn.ts";
import { InternalError } from "../errors.ts";
import { fileRequest } from "./approvals.ts";
import { describeElement, type ElementRef, loadElement, readVersion, targetOf } from "./load.ts";
import {
  applyRelease,
  checkRelease,
  describeAction,
  liveNow,
  type ReleaseAction,
  requireGray,
  ruleDetail,
  stageGray,
  stageLive,
} from "./release.ts";

/** What a release call did: applied it, or filed a request. */
export type Released =
  | { readonly applied: true; readonly meta: ElementRecord }
  | { readonly applied: false; readonly request: ApprovalRecord };

/**
 * Publishes, rolls back or starts a gray release on `ref`, or, where the
 * env requires approval, files the request for it (after the same checks).
 */
export async function release(
  tx: AdmTxn,
  ref: ElementRef,
  action: ReleaseAction,
  remark: string,
  options: ReadOptions = {},
): Promise<Released> {
  const doing = `${describeAction(action)} of ${describeElement(ref)}`;
  const { env, meta } = await loadElement(tx, ref, doing, options);
  checkRelease(ref, meta.record, action);
  const v = await readVersion(tx, ref, meta.record, action.version, doing);
  if (env.record.requireApproval) {
    return { applied: false, request: await fileRequest(tx, ref, action, remark) };
  }
  const outcome = applyRelease(tx, ref, meta.record, action, v);
  tx.put(ElementRecord, meta.key, outcome.next);
  tx.log({
    operation: outcome.operation,
    target: targetOf(ref),
    ...ref,
    previousVersion: outcome.previousVersion,
    newVersion: outcome.newVersion,
    remark,
    detail: outcome.detail,
  });
  return { applied: true, meta: outcome.next };
}

/** Changes the rule of the running gray release of `ref` (widen it, usually). */
export async function changeGrayRule(
  tx: AdmTxn,
  ref: ElementRef,
  rule: GrayRule,
  remark: string,
  options: ReadOptions = {},
): Promise<ElementRecord> {
  const doing = `change the gray rule of ${describeElement(ref)}`;
  const { meta } = await loadElement(tx, ref, doing, options);
  const gray = requireGray(ref, meta.record, doing);
  const served = await tx.read(ServeGrayRecord, serveGrayKey(ref.app, ref.env, ref.key));
  if (!served || served.record.version !== gray) {
    throw new InternalError(`Cannot ${doing} as its served gray record is missing or stale`);
  }
  const v = await readVersion(tx, ref, meta.record, gray, doing);
  stageGray(tx, ref, v, rule, served.record.startedAt);
  const next = { ...meta.record, updatedBy: tx.actor.operator, updatedAt: tx.time };
  tx.put(ElementRecord, meta.key, next);
  tx.log({
    operation: "element.gray.update",
    target: targetOf(ref),
    ...ref,
    previousVersion: meta.record.publishedVersion,
    newVersion: gray,
    remark,
    detail: ruleDetail(rule),
  });
  return next;
}

/** Makes the gray version of `ref` live for everyone and ends the gray release. */
export async function promoteGray(
  tx: AdmTxn,
  ref: ElementRef,
  remark: string,
  options: ReadOptions = {},
): Promise<ElementRecord> {
  const doing = `promote the gray release of ${describeElement(ref)}`;
  const { meta } = await loadElement(tx, ref, doing, options);
  const gray = requireGray(ref, meta.record, doing);
  const v = await readVersion(tx, ref, meta.record, gray, doing);
  stageLive(tx, ref, v);
  await tx.remove(serveGrayKey(ref.app, ref.env, ref.key));
  const next = {
    ...liveNow(meta.record, v, { updatedBy: tx.actor.operator, updatedAt: tx.time }),
    grayVersion: null,
  };
  tx.put(ElementRecord, meta.key, next);
  tx.log({
    operation: "element.gray.promote",
    target: targetOf(ref),
    ...ref,
    previousVersion: meta.record.publishedVersion,
    newVersion: gray,
    remark,
  });
  return next;
}

/** Ends the gray release of `ref`: its clients go back to the live version. */
export async function abortGray(
  tx: AdmTxn,
  ref: ElementRef,
  remark: string,
  options: ReadOptions = {},
): Promise<ElementRecord> {
  const doing = `abort the gray release of ${describeElement(ref)}`;
  const { meta } = await loadElement(tx, ref, doing, options);
  const gray = requireGray(ref, meta.record, doing);
  await tx.remove(serveGrayKey(ref.app, ref.env, ref.key));
  const next = {
    ...meta.record,
    grayVersion: null,
    updatedBy: tx.actor.operator,
    updatedAt: tx.time,
  };
  tx.put(ElementRecord, meta.key, next);
  tx.log({
    operation: "element.gray.abort",
    target: targetOf(ref),
    ...ref,
    previousVersion: gray,
    newVersion: meta.record.publishedVersion,
    remark,
  });
  return next;
}
