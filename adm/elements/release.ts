/**
 * Making versions live: publish, rollback and gray release, staged in the
 * mutation's Txn together with the served records agents watch
 * (`serveLiveKey`, `serveGrayKey`), so an agent never sees a pointer
 * without its body or the other way round.
 *
 * The rules, checked against the metadata read in the same Txn:
 *
 * - **publish** `v`: `v` exists and is newer than the live version (or
 *   nothing is live yet); publishing the unpublished version clears it.
 * - **rollback** `v`: something is live and `v` is older than it.
 * - **gray** `v` under a rule: no gray release is running (at most one per
 *   element) and `v` is not the live version. Its record carries the rule
 *   the agent evaluates per client. Then: change the rule (usually to
 *   widen it), **promote** the gray version to everyone, or **abort** it.
 * - While a gray release runs, publish and rollback are refused: promote
 *   or abort it first, so what is live never moves under a running canary.
 *
 * @module
 */

import {
  type ElementRecord,
  type GrayRule,
  serveGrayKey,
  ServeGrayRecord,
  serveLiveKey,
  ServeLiveRecord,
  type VersionRecord,
} from "../../shared/config/mod.ts";
import type { AdmTxn } from "../data/txn.ts";
import { ConflictError } from "../errors.ts";
import { describeElement, type ElementRef } from "./load.ts";

/** A change of what is live that an env with approval turns into a request. */
export type ReleaseAction =
  | { readonly kind: "publish"; readonly version: number }
  | { readonly kind: "rollback"; readonly version: number }
  | { readonly kind: "gray"; readonly version: number; readonly rule: GrayRule };

/** What a staged release did, for the oplog. */
export interface ReleaseOutcome {
  /** The metadata to write. */
  readonly next: ElementRecord;
  /** The oplog operation. */
  readonly operation: "element.publish" | "element.rollback" | "element.gray.start";
  /** The live version before (for gray: the live version the gray one runs beside). */
  readonly previousVersion: number | null;
  /** The version made live, or put in gray release. */
  readonly newVersion: number;
  /** Small facts for the oplog entry. */
  readonly detail: Record<string, string | number | boolean | null>;
}

/** The words of an action, for messages: `publish version 3`. */
export function describeAction(action: ReleaseAction): string {
  return `${
    action.kind === "gray" ? "start a gray release of" : action.kind
  } version ${action.version}`;
}

/**
 * Refuses `action` when the element's state does not allow it (see the
 * module doc). The version's existence is checked when it is read.
 * @throws {ConflictError} naming the state that forbids it.
 */
export function checkRelease(ref: ElementRef, meta: ElementRecord, action: ReleaseAction): void {
  const what = `Cannot ${describeAction(action)} of ${describeElement(ref)}`;
  const live = meta.publishedVersion;
  if (action.kind !== "gray" && meta.grayVersion !== null) {
    throw new ConflictError(
      `${what} as a gray release runs: current gray version is ${meta.grayVersion} (promote or abort it first)`,
    );
  }
  switch (action.kind) {
    case "publish":
      if (live !== null && action.version <= live) {
        throw new ConflictError(
          action.version === live
            ? `${what} as it is already live: current live version is ${live}`
            : `${what} as publish moves forward only (use rollback): current live version is ${live}`,
          { field: "body.version" },
        );
      }
      return;
    case "rollback":
      if (live === null) {
        throw new ConflictError(`${what} as nothing was published: current live version is none`);
      }
      if (action.version >= live) {
        throw new ConflictError(
          `${what} as rollback goes to an earlier version (use publish): current live version is ${live}`,
          { field: "body.version" },
        );
      }
      return;
    case "gray":
      if (meta.grayVersion !== null) {
        throw new ConflictError(
          `${what} as an element has at most one gray release: current gray version is ${meta.grayVersion}`,
        );
      }
      if (action.version === live) {
        throw new ConflictError(
          `${what} as it is the live version: current live version is ${live}`,
          {
            field: "body.version",
          },
        );
      }
  }
}

function bodyOf(
  v: VersionRecord,
): { raw: string } | { sealed: NonNullable<VersionRecord["sealed"]> } {
  return v.sealed !== undefined ? { sealed: v.sealed } : { raw: v.raw! };
}

/** What a serve record says of the version it serves (its body aside). */
function servedVersion(ref: ElementRef, v: VersionRecord) {
  return {
    app: ref.app,
    env: ref.env,
    key: ref.key,
    version: v.version,
    contentType: v.contentType,
    fingerprint: v.fingerprint,
  };
}

/** Stages `v` as the live version everyone gets. */
export function stageLive(tx: AdmTxn, ref: ElementRef, v: VersionRecord): void {
  tx.put(ServeLiveRecord, serveLiveKey(ref.app, ref.env, ref.key), {
    ...servedVersion(ref, v),
    publishedAt: tx.time,
    ...bodyOf(v),
  });
}

/** Stages `v` as the gray version under `rule`, started at `startedAt`. */
export function stageGray(
  tx: AdmTxn,
  ref: ElementRef,
  v: VersionRecord,
  rule: GrayRule,
  startedAt: string,
): void {
  tx.put(ServeGrayRecord, serveGrayKey(ref.app, ref.env, ref.key), {
    ...servedVersion(ref, v),
    rule,
    startedAt,
    ...bodyOf(v),
  });
}

/** Facts about a rule for the oplog (never client ids: just how many). */
export function ruleDetail(rule: GrayRule): Record<string, string | number> {
  switch (rule.kind) {
    case "clients":
      return { rule: "clients", clients: rule.clientIds.length };
    case "labels":
      return {
        rule: "labels",
        selector: Object.entries(rule.selector).map(([k, v]) => `${k}=${v}`).join(","),
      };
    case "percentage":
      return { rule: "percentage", percent: rule.percent };
  }
}

/**
 * Stages `action` on `ref` (already checked with {@linkcode checkRelease};
 * `v` is the version it names) and answers the metadata to write and what
 * to log. The caller writes the metadata.
 */
export function applyRelease(
  tx: AdmTxn,
  ref: ElementRef,
  meta: ElementRecord,
  action: ReleaseAction,
  v: VersionRecord,
): ReleaseOutcome {
  const touched = { updatedBy: tx.actor.operator, updatedAt: tx.time };
  if (action.kind === "gray") {
    stageGray(tx, ref, v, action.rule, tx.time);
    return {
      next: { ...meta, grayVersion: v.version, ...touched },
      operation: "element.gray.start",
      previousVersion: meta.publishedVersion,
      newVersion: v.version,
      detail: ruleDetail(action.rule),
    };
  }
  stageLive(tx, ref, v);
  return {
    next: liveNow(meta, v, touched),
    operation: action.kind === "publish" ? "element.publish" : "element.rollback",
    previousVersion: meta.publishedVersion,
    newVersion: v.version,
    detail: {},
  };
}

/** `meta` with `v` live (and no longer unpublished). */
export function liveNow(
  meta: ElementRecord,
  v: VersionRecord,
  touched: { updatedBy: string; updatedAt: string },
): ElementRecord {
  return {
    ...meta,
    publishedVersion: v.version,
    publishedFingerprint: v.fingerprint,
    unpublishedVersion: meta.unpublishedVersion === v.version ? null : meta.unpublishedVersion,
    ...touched,
  };
}

/**
 * The running gray version of `meta`.
 * @throws {ConflictError} when no gray release runs.
 */
export function requireGray(ref: ElementRef, meta: ElementRecord, doing: string): number {
  if (meta.grayVersion !== null) return meta.grayVersion;
  throw new ConflictError(
    `Cannot ${doing} as no gray release of ${
      describeElement(ref)
    } runs: current gray version is none`,
  );
}
