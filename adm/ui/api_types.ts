/**
 * The fields of the API's answers that the dashboard's pages read (see
 * `GET /api/openapi.json` for the whole of each). The pages only ever read
 * these; `ui_test.ts` renders every page against the real API, so a field
 * renamed there fails a test here.
 *
 * @module
 */

import type { ContentType } from "../../shared/config/mod.ts";

/** A page of items and where the next page starts (`seek` or `cursor`). */
export interface Page<T> {
  /** The items. */
  readonly items: readonly T[];
  /** Where the next page starts, or null on the last page. */
  readonly next: string | null;
}

/** An app (`GET /api/apps/{app}`). */
export interface AppView {
  readonly id: string;
  readonly description: string;
  readonly owner: string;
  readonly status: "active" | "deprecated";
  readonly updatedBy: string;
  readonly updatedAt: string;
}

/** An env (`GET /api/apps/{app}/envs/{env}`). */
export interface EnvView {
  readonly app: string;
  readonly env: string;
  readonly description: string;
  readonly requireApproval: boolean;
  readonly hasClientSecret: boolean;
}

/** An element's metadata (`GET .../elements`). */
export interface ElementView {
  readonly app: string;
  readonly env: string;
  readonly key: string;
  readonly contentType: ContentType;
  readonly secret: boolean;
  readonly hasSchema: boolean;
  readonly latestVersion: number;
  readonly publishedVersion: number | null;
  readonly unpublishedVersion: number | null;
  readonly grayVersion: number | null;
  readonly fingerprint: string;
  readonly updatedBy: string;
  readonly updatedAt: string;
  /** Pass as If-Match to act on exactly this state. */
  readonly etag: string;
}

/** A version's facts (`GET .../elements/{key}/versions`). */
export interface VersionInfoView {
  readonly version: number;
  readonly fingerprint: string;
  readonly author: string;
  readonly createdAt: string;
  readonly remark: string;
  readonly live: boolean;
  readonly gray: boolean;
  readonly published: boolean;
}

/** One version with its text (`GET .../elements/{key}?version=N`). */
export interface VersionView extends VersionInfoView {
  readonly contentType: ContentType;
  /** Null when masked (a secret the caller may not read). */
  readonly raw: string | null;
  readonly masked: boolean;
  readonly element: ElementView;
}

/** A running gray release (`GET .../elements/{key}/gray`). */
export interface GrayView {
  readonly version: number;
  readonly rule: unknown;
  readonly startedAt: string;
  readonly liveVersion: number | null;
}

/** A pending approval request (`GET .../approvals`). */
export interface ApprovalView {
  readonly id: string;
  readonly app: string;
  readonly env: string;
  readonly key: string;
  readonly action: "publish" | "rollback" | "gray";
  readonly version: number;
  readonly rule: unknown;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly remark: string;
}

/** What a publish, rollback or gray start answers. */
export interface ReleasedView {
  /** False: the env requires approval and a request was filed. */
  readonly applied: boolean;
}

/** A path of a structural diff. */
export interface PathChange {
  readonly path: string;
  readonly value?: unknown;
  readonly base?: unknown;
  readonly compare?: unknown;
}

/** The diff of two versions (`GET .../elements/{key}/diff`). */
export interface DiffView {
  readonly base: number;
  readonly compare: number;
  readonly masked: boolean;
  /** Unified diff text; null when masked. */
  readonly unified: string | null;
  /** For structured types; null otherwise or when masked. */
  readonly structural: {
    readonly added: readonly PathChange[];
    readonly removed: readonly PathChange[];
    readonly changed: readonly PathChange[];
  } | null;
}

/** A client instance (`GET /api/cluster/instances`). */
export interface InstanceView {
  readonly clientId: string;
  readonly agentId: string;
  readonly clientIp: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly watching: readonly { app: string; env: string; keys: readonly string[] }[];
  readonly running: readonly {
    app: string;
    env: string;
    key: string;
    version: number;
    fingerprint: string;
    gray: boolean;
  }[];
  readonly renewedAt: string;
}

/** An operation log entry (`GET /api/oplog`). */
export interface OplogEntryView {
  readonly id: string;
  readonly time: string;
  readonly operator: string;
  readonly operation: string;
  readonly app: string | null;
  readonly env: string | null;
  readonly key: string | null;
  readonly target: string;
  readonly previousVersion: number | null;
  readonly newVersion: number | null;
  readonly remark: string;
  readonly requestId: string;
}
