/**
 * What the element pages read from the API, in one place: an element with
 * one version's text, its versions, its gray release and pending approval,
 * and the diff between two of its versions laid out side by side (from
 * the API's unified diff; from nothing or to nothing when one side is no
 * version, as for a first publish).
 *
 * @module
 */

import { apiPath, type UiApi } from "./api.ts";
import type {
  ApprovalView,
  DiffView,
  ElementView,
  GrayView,
  Page,
  VersionInfoView,
  VersionView,
} from "./api_types.ts";
import { allAdded, allRemoved, type SideBySide, sideBySide } from "./side_by_side.ts";

/** Which element: app, env and key. */
export interface ElementRef {
  readonly app: string;
  readonly env: string;
  readonly key: string;
}

/** `/api/apps/{app}/envs/{env}/elements/{key}` plus more segments. */
export function elementApi(ref: ElementRef, ...more: string[]): string {
  return apiPath("apps", ref.app, "envs", ref.env, "elements", ref.key, ...more);
}

/** `/api/apps/{app}/envs/{env}/approvals/{key}/{decision}`. */
export function approvalApi(ref: ElementRef, decision: "approve" | "reject"): string {
  return apiPath("apps", ref.app, "envs", ref.env, "approvals", ref.key, decision);
}

/** Version `version` of the element (its live one, else its latest, when undefined). */
export function readVersion(
  api: UiApi,
  ref: ElementRef,
  version?: number,
): Promise<VersionView> {
  return api.get<VersionView>(elementApi(ref), { version });
}

/** Everything the element page shows. */
export interface ElementState {
  /** The metadata (with its ETag for If-Match). */
  readonly element: ElementView;
  /** The version shown (live, else latest, or the one asked for). */
  readonly shown: VersionView;
  /** The newest versions, newest first (at most `limit`). */
  readonly versions: readonly VersionInfoView[];
  /** The running gray release, if any. */
  readonly gray: GrayView | undefined;
  /** The pending approval request of this element, if any. */
  readonly approval: ApprovalView | undefined;
}

/** Reads the element page's state; `show` picks the version whose text is shown. */
export async function readElementState(
  api: UiApi,
  ref: ElementRef,
  show?: number,
  limit = 100,
): Promise<ElementState> {
  const shown = await readVersion(api, ref, show);
  const element = shown.element;
  const from = element.latestVersion - limit;
  const [versions, gray, approvals] = await Promise.all([
    api.get<Page<VersionInfoView>>(elementApi(ref, "versions"), {
      limit,
      seek: from > 0 ? String(from) : undefined,
    }),
    element.grayVersion === null
      ? Promise.resolve(undefined)
      : api.get<GrayView>(elementApi(ref, "gray")),
    api.get<{ items: ApprovalView[] }>(apiPath("apps", ref.app, "envs", ref.env, "approvals")),
  ]);
  return {
    element,
    shown,
    versions: [...versions.items].reverse(),
    gray,
    approval: approvals.items.find((a) => a.key === ref.key),
  };
}

/** A diff between two versions (either may be none), as the pages show it. */
export interface ShownDiff {
  /** The side-by-side rows. */
  readonly rows: SideBySide;
  /** The API's diff (structural changes), when both sides are versions and differ. */
  readonly api: DiffView | undefined;
  /** True when the content is masked (a secret the caller may not read). */
  readonly masked: boolean;
}

/**
 * The diff from version `base` to `compare` (`null`: no version, e.g.
 * nothing live yet), through `GET .../diff` when both are versions.
 */
export async function readDiff(
  api: UiApi,
  ref: ElementRef,
  base: number | null,
  compare: number | null,
): Promise<ShownDiff> {
  if (base !== null && compare !== null) {
    const d = await api.get<DiffView>(elementApi(ref, "diff"), { base, compare });
    return {
      rows: d.unified === null ? { rows: [], added: 0, removed: 0 } : sideBySide(d.unified),
      api: d,
      masked: d.masked,
    };
  }
  const only = base ?? compare;
  if (only === null) {
    return { rows: { rows: [], added: 0, removed: 0 }, api: undefined, masked: false };
  }
  const v = await readVersion(api, ref, only);
  if (v.raw === null) {
    return { rows: { rows: [], added: 0, removed: 0 }, api: undefined, masked: true };
  }
  return {
    rows: base === null ? allAdded(v.raw) : allRemoved(v.raw),
    api: undefined,
    masked: false,
  };
}
