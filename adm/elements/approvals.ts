/**
 * Publish approval (four-eyes). In an env with `requireApproval`, a
 * publish, rollback or gray release start becomes a request (one pending
 * per element, `approvalKey`), checked against the element when it is
 * filed and again when it is approved. A releaser other than its author
 * approves it, which applies the action in the same Txn that removes the
 * request; or someone with the approve permission (its author included:
 * that withdraws it) rejects it.
 *
 * Changing the rule of a running gray release, promoting it and aborting it
 * need no approval: the gray version was approved when it started, and
 * aborting only takes it back.
 *
 * @module
 */

import { approvalKey, ApprovalRecord, ElementRecord, newId } from "../../shared/config/mod.ts";
import type { Stored } from "../data/read.ts";
import type { AdmTxn } from "../data/txn.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors.ts";
import { describeElement, type ElementRef, loadElement, readVersion, targetOf } from "./load.ts";
import {
  applyRelease,
  checkRelease,
  describeAction,
  type ReleaseAction,
  ruleDetail,
} from "./release.ts";

/** The action an approval record asks for. */
export function actionOf(a: ApprovalRecord): ReleaseAction {
  if (a.action === "gray") {
    if (!a.rule) throw new Error(`Cannot read approval ${a.id}: a gray request without a rule`);
    return { kind: "gray", version: a.version, rule: a.rule };
  }
  return { kind: a.action, version: a.version };
}

/**
 * Files `action` on `ref` as a request (the element was loaded and the
 * action checked by the caller in this Txn).
 * @throws {ConflictError} when a request is already pending for the element.
 */
export async function fileRequest(
  tx: AdmTxn,
  ref: ElementRef,
  action: ReleaseAction,
  remark: string,
): Promise<ApprovalRecord> {
  const key = approvalKey(ref.app, ref.env, ref.key);
  const pending = await tx.read(ApprovalRecord, key);
  if (pending) {
    const p = pending.record;
    throw new ConflictError(
      `Cannot request to ${describeAction(action)} of ${
        describeElement(ref)
      } as a request is pending: current request ${p.id} by ${p.requestedBy} is to ${
        describeAction(actionOf(p))
      }`,
    );
  }
  const record: ApprovalRecord = {
    id: newId(),
    app: ref.app,
    env: ref.env,
    key: ref.key,
    action: action.kind,
    version: action.version,
    ...(action.kind === "gray" ? { rule: action.rule } : {}),
    requestedBy: tx.actor.operator,
    requestedAt: tx.time,
    remark,
  };
  tx.put(ApprovalRecord, key, record);
  tx.log({
    operation: "element.approval.request",
    target: targetOf(ref),
    ...ref,
    newVersion: action.version,
    remark,
    detail: {
      action: action.kind,
      approvalId: record.id,
      ...(action.kind === "gray" ? ruleDetail(action.rule) : {}),
    },
  });
  return record;
}

/** The pending request of `ref`, which must be `id`. */
async function requirePending(
  tx: AdmTxn,
  ref: ElementRef,
  id: string,
  doing: string,
): Promise<Stored<ApprovalRecord>> {
  const pending = await tx.read(ApprovalRecord, approvalKey(ref.app, ref.env, ref.key));
  if (!pending) {
    throw new NotFoundError(`Cannot ${doing} as no request is pending for ${describeElement(ref)}`);
  }
  if (pending.record.id !== id) {
    throw new ConflictError(
      `Cannot ${doing} as request ${id} is not the pending one: current request is ${pending.record.id}`,
      { field: "body.id" },
    );
  }
  return pending;
}

/** What an approval applied. */
export interface Approved {
  /** The request, as it was. */
  readonly request: ApprovalRecord;
  /** The element after the action. */
  readonly meta: ElementRecord;
}

/**
 * Approves request `id` of `ref` and applies its action.
 * @throws {ForbiddenError} when the caller requested it (four eyes).
 * @throws {ConflictError} when the action no longer fits the element.
 */
export async function approve(
  tx: AdmTxn,
  ref: ElementRef,
  id: string,
  remark: string,
): Promise<Approved> {
  const doing = `approve request ${id} of ${describeElement(ref)}`;
  const { meta } = await loadElement(tx, ref, doing);
  const pending = await requirePending(tx, ref, id, doing);
  const request = pending.record;
  if (request.requestedBy === tx.actor.operator) {
    throw new ForbiddenError(
      `Cannot ${doing} as its approver must not be its author: current approver is ${request.requestedBy} (another releaser approves)`,
    );
  }
  const action = actionOf(request);
  checkRelease(ref, meta.record, action);
  const v = await readVersion(tx, ref, meta.record, action.version, doing);
  const outcome = applyRelease(tx, ref, meta.record, action, v);
  tx.put(ElementRecord, meta.key, outcome.next);
  await tx.remove(pending.key);
  tx.log({
    operation: "element.approval.approve",
    target: targetOf(ref),
    ...ref,
    previousVersion: outcome.previousVersion,
    newVersion: outcome.newVersion,
    remark,
    detail: {
      action: request.action,
      approvalId: request.id,
      requestedBy: request.requestedBy,
      ...outcome.detail,
    },
  });
  return { request, meta: outcome.next };
}

/** Rejects (or, by its author, withdraws) request `id` of `ref`. */
export async function reject(
  tx: AdmTxn,
  ref: ElementRef,
  id: string,
  remark: string,
): Promise<ApprovalRecord> {
  const doing = `reject request ${id} of ${describeElement(ref)}`;
  await loadElement(tx, ref, doing);
  const pending = await requirePending(tx, ref, id, doing);
  await tx.remove(pending.key);
  tx.log({
    operation: "element.approval.reject",
    target: targetOf(ref),
    ...ref,
    newVersion: pending.record.version,
    remark,
    detail: {
      action: pending.record.action,
      approvalId: pending.record.id,
      requestedBy: pending.record.requestedBy,
    },
  });
  return pending.record;
}
