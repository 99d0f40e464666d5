/**
 * What every change of an element starts with, read through the mutation's
 * Txn (so each read is one of its compares): the app, which must be active
 * (a deprecated app is read-only); the env, which says whether publishing
 * needs approval; the element's metadata; the versions it touches.
 *
 * @module
 */

import {
  appKey,
  elementKey,
  ElementRecord,
  envKey,
  type EnvRecord,
  versionKey,
  VersionRecord,
} from "../../shared/config/mod.ts";
import { requireActiveApp, requireEnv } from "../data/guards.ts";
import type { Stored } from "../data/read.ts";
import type { AdmTxn, ReadOptions } from "../data/txn.ts";
import { NotFoundError } from "../errors.ts";

/** One element: app, env and key (names already checked). */
export interface ElementRef {
  /** App id. */
  readonly app: string;
  /** Env name. */
  readonly env: string;
  /** Element key. */
  readonly key: string;
}

/** The oplog target of an element: `apps/{app}/envs/{env}/elements/{key}`. */
export function targetOf(ref: ElementRef): string {
  return `apps/${ref.app}/envs/${ref.env}/elements/${ref.key}`;
}

/** The element as words, for messages: `element k of env prod of app shop`. */
export function describeElement(ref: ElementRef): string {
  return `element ${ref.key} of env ${ref.env} of app ${ref.app}`;
}

/** The env an element change happens in, after checking the app is active. */
export async function loadEnvForChange(
  tx: AdmTxn,
  ref: ElementRef,
  doing: string,
): Promise<Stored<EnvRecord>> {
  // App, env and element in one round trip: each is read (and guarded) from it below.
  await tx.prefetch([
    appKey(ref.app),
    envKey(ref.app, ref.env),
    elementKey(ref.app, ref.env, ref.key),
  ]);
  await requireActiveApp(tx, ref.app, doing);
  return await requireEnv(tx, ref.app, ref.env);
}

/** The env and the metadata of an existing element, for a change of it. */
export interface LoadedElement {
  /** The env (requireApproval). */
  readonly env: Stored<EnvRecord>;
  /** The element's metadata. */
  readonly meta: Stored<ElementRecord>;
}

/**
 * The env and metadata of `ref`, guarded in `tx`; with `ifMatch`, the
 * metadata must be at that revision (412 otherwise).
 * @throws {NotFoundError} when the app, env or element does not exist.
 * @throws {ConflictError} when the app is deprecated.
 */
export async function loadElement(
  tx: AdmTxn,
  ref: ElementRef,
  doing: string,
  options: ReadOptions = {},
): Promise<LoadedElement> {
  const env = await loadEnvForChange(tx, ref, doing);
  const meta = await tx.require(
    ElementRecord,
    elementKey(ref.app, ref.env, ref.key),
    () => `Cannot ${doing} as ${describeElement(ref)} does not exist`,
    options,
  );
  return { env, meta };
}

/**
 * Version `version` of `ref`, guarded in `tx`.
 * @throws {NotFoundError} naming the latest version when it does not exist.
 */
export async function readVersion(
  tx: AdmTxn,
  ref: ElementRef,
  meta: ElementRecord,
  version: number,
  doing: string,
): Promise<VersionRecord> {
  if (version > meta.latestVersion) throw versionNotFound(ref, meta, version, doing);
  const v = await tx.read(VersionRecord, versionKey(ref.app, ref.env, ref.key, version));
  if (!v) throw versionNotFound(ref, meta, version, doing);
  return v.record;
}

/** The 404 of a version that does not exist. */
export function versionNotFound(
  ref: ElementRef,
  meta: ElementRecord,
  version: number,
  doing: string,
  field = "body.version",
): NotFoundError {
  return new NotFoundError(
    `Cannot ${doing} as version ${version} of ${
      describeElement(ref)
    } does not exist: current latest version is ${meta.latestVersion}`,
    { field },
  );
}
