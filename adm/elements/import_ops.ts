/**
 * Importing a bundle into an env, element by element. For each element of
 * the bundle, the target element is brought to the bundle's content:
 *
 * - **live**: when the bundle has a live version and the target's live raw
 *   differs (or the target does not exist), a new version with that raw is
 *   added and made live (or, when the target's unpublished version already
 *   holds that raw, that version is made live);
 * - **draft**: when the bundle's latest version is newer than its live one
 *   (or nothing is live), and the target's newest raw differs from it, it
 *   is added as a new, unpublished version;
 * - **schema**: the target's JSON Schema becomes the bundle's.
 *
 * Elements of the env that the bundle does not name are left alone. An
 * element the import cannot bring there is a `conflict` and is skipped:
 * another content type or secret flag, an unpublished version or a running
 * gray release in the way, a live change in an env that requires approval
 * (an import never bypasses four-eyes), a secret without a keyring.
 *
 * Each element is one Txn (its versions, metadata, served record and an
 * `env.import` oplog entry together), run by the same function whether the
 * import is a dry run or not: a dry run stages the writes in a Txn that is
 * never committed, so it answers exactly the change the import makes. The
 * whole bundle is checked (names, content, schemas) before anything runs.
 *
 * @module
 */

import {
  elementKey,
  ElementRecord,
  type Keyring,
  type VersionRecord,
} from "../../shared/config/mod.ts";
import type { AdmTxn } from "../data/txn.ts";
import { BadRequestError, InvalidContentError } from "../errors.ts";
import type { Bundle, BundleElement } from "./bundle.ts";
import { checkContent } from "./content.ts";
import { checkSchemaFor } from "./edit_ops.ts";
import { type ElementRef, loadEnvForChange, readVersion, targetOf } from "./load.ts";
import { applyRelease } from "./release.ts";
import { openBody } from "./sealing.ts";
import { newElementRecord, stageVersion, withNewVersion } from "./versions.ts";

/** What the import does (or did) to one element. */
export interface ImportItem {
  /** The element key. */
  key: string;
  /** `create`, `update`, `unchanged`, or `conflict` (skipped). */
  action: "create" | "update" | "unchanged" | "conflict";
  /** Why a conflict, else null. */
  reason: string | null;
  /** The target version numbers added, oldest first. */
  addedVersions: number[];
  /** The target version made live, or null. */
  published: number | null;
  /** Whether the JSON Schema changes. */
  schemaChanged: boolean;
}

/**
 * Checks the whole bundle before anything is written: distinct keys, a
 * latest version not older than the live one, unmasked raws, schemas that
 * compile, content that parses and satisfies them.
 * @throws {BadRequestError} or {@linkcode InvalidContentError} naming `body.elements.{i}...`.
 */
export function checkBundle(bundle: Bundle): void {
  const seen = new Set<string>();
  bundle.elements.forEach((el, i) => {
    const at = `body.elements.${i}`;
    if (seen.has(el.key)) {
      throw new BadRequestError(
        `Cannot import ${at}.key as each element must appear once: current bundle repeats ${el.key}`,
        { field: `${at}.key` },
      );
    }
    seen.add(el.key);
    if (el.published && el.published.version > el.latest.version) {
      throw new BadRequestError(
        `Cannot import ${at} as its latest version must not be older than its live one: current versions are ${el.latest.version} and ${el.published.version}`,
        { field: `${at}.latest.version` },
      );
    }
    checkSchemaFor(el.contentType, el.schema, `${at}.schema`);
    const parts = [["published", el.published], ["latest", el.latest]] as const;
    for (const [name, v] of parts) {
      if (!v) continue;
      if (v.raw === null) {
        throw new InvalidContentError(
          `Cannot import ${at}.${name} of ${el.key} as its raw is masked: current bundle was exported without ?secrets=true`,
          { field: `${at}.${name}.raw` },
        );
      }
      checkContent(el.contentType, v.raw, el.schema, `${at}.${name}.raw`);
    }
  });
}

/** Whether the bundle element has a draft newer than its live version (or nothing live). */
function hasDraft(el: BundleElement): boolean {
  return el.published === null || el.latest.version > el.published.version;
}

function sameSchema(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Brings `ref` to the bundle element `el` in `tx` (see the module doc) and
 * answers what it does; stages nothing for `unchanged` and `conflict`.
 * `source` (`app/env`) goes into the oplog entry.
 */
export async function importElement(
  tx: AdmTxn,
  keyring: Keyring | undefined,
  ref: ElementRef,
  el: BundleElement,
  source: string,
): Promise<ImportItem> {
  const doing = `import element ${ref.key}`;
  const env = await loadEnvForChange(tx, ref, doing);
  const key = elementKey(ref.app, ref.env, ref.key);
  const cur = await tx.read(ElementRecord, key);
  const live = el.published?.raw ?? null;
  const draft = hasDraft(el) ? el.latest.raw! : null;
  const item: ImportItem = {
    key: ref.key,
    action: cur ? "update" : "create",
    reason: null,
    addedVersions: [],
    published: null,
    schemaChanged: cur ? !sameSchema(cur.record.schema, el.schema) : el.schema !== null,
  };
  const conflict = (reason: string): ImportItem => ({
    ...item,
    action: "conflict",
    reason,
    addedVersions: [],
    published: null,
  });
  if (el.secret && !keyring) return conflict("a secret element needs this adm's keyring");
  const remark = (v: { remark: string }) => v.remark || `import from ${source}`;

  let meta: ElementRecord | undefined = cur?.record;
  let newest: string | undefined; // the target's newest raw, once known
  let liveRaw: string | null = null;
  if (meta) {
    if (meta.contentType !== el.contentType) {
      return conflict(`its content type is ${meta.contentType}, the bundle's ${el.contentType}`);
    }
    if (meta.secret !== el.secret) {
      return conflict(`its secret flag is ${meta.secret}, the bundle's ${el.secret}`);
    }
    const open = async (n: number) => {
      const v = await readVersion(tx, ref, meta!, n, doing);
      return await openBody(keyring, { ...ref, version: n }, v);
    };
    newest = await open(meta.latestVersion);
    liveRaw = meta.publishedVersion === null
      ? null
      : meta.publishedVersion === meta.latestVersion
      ? newest
      : await open(meta.publishedVersion);
  }
  const needLive = live !== null && liveRaw !== live;
  const needDraft = draft !== null && (needLive ? live : newest) !== draft;
  if (meta && !needLive && !needDraft && !item.schemaChanged) {
    return { ...item, action: "unchanged" };
  }
  if (needLive && env.record.requireApproval) {
    return conflict(`env ${ref.env} requires approval to publish`);
  }
  if (meta && needLive && meta.grayVersion !== null) {
    return conflict(`a gray release of version ${meta.grayVersion} runs`);
  }
  // The target's unpublished version already holds the live raw: make it live, add nothing.
  const publishPending = meta !== undefined && needLive && meta.unpublishedVersion !== null &&
    newest === live;
  if (meta && (needLive || needDraft) && meta.unpublishedVersion !== null && !publishPending) {
    return conflict(`it has an unpublished version (${meta.unpublishedVersion})`);
  }

  const add = async (raw: string, remarkText: string): Promise<VersionRecord> => {
    const n = meta ? meta.latestVersion + 1 : 1;
    const v = await stageVersion(tx, keyring, ref, el, n, raw, remarkText);
    meta = meta ? withNewVersion(tx, meta, v) : newElementRecord(tx, ref, el, v);
    item.addedVersions.push(n);
    return v;
  };
  if (needLive) {
    const v = publishPending
      ? await readVersion(tx, ref, meta!, meta!.unpublishedVersion!, doing)
      : await add(live, remark(el.published!));
    meta = applyRelease(tx, ref, meta!, { kind: "publish", version: v.version }, v).next;
    item.published = v.version;
  }
  if (needDraft) await add(draft, remark(el.latest));
  meta = { ...meta!, schema: el.schema, updatedBy: tx.actor.operator, updatedAt: tx.time };
  tx.put(ElementRecord, key, meta);
  tx.log({
    operation: "env.import",
    target: targetOf(ref),
    ...ref,
    previousVersion: cur?.record.latestVersion ?? null,
    newVersion: meta.latestVersion,
    remark: `import from ${source}`,
    detail: {
      from: source,
      action: item.action,
      added: item.addedVersions.length,
      published: item.published,
      schemaChanged: item.schemaChanged,
    },
  });
  return item;
}
