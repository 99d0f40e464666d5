/**
 * ServedState: what an agent knows of everything it serves, kept current by
 * one list-then-watch of `servePrefix()`: the served apps and envs (status,
 * client secret hash) and, for every element, the metadata of its live and
 * gray versions (no bodies: those live in the cache, see `core.ts`).
 *
 * It also keeps a bounded log of how each served version changed, so that
 * the view a client had at an earlier revision can be rebuilt: a client that
 * resumes a watch with its last revision R (on this agent or after failing
 * over from another) gets exactly what changed for it after R, nothing
 * twice. The log covers revisions after {@linkcode ServedState.horizon}.
 *
 * Pure and synchronous: no I/O, clock or randomness.
 *
 * @module
 */

import type { AppStatus } from "../shared/config/mod.ts";
import { parseServeKey } from "../shared/config/mod.ts";
import { elementId, envId, type ServedVersion, type ServeMeta } from "./serve_records.ts";

/** The live and gray versions of one element (either may be absent). */
export interface VersionPair {
  /** The published version. */
  readonly live?: ServedVersion;
  /** The gray version, with its rule. */
  readonly gray?: ServedVersion;
}

/** A served env. */
export interface ServedEnv {
  /** App id. */
  readonly app: string;
  /** Env name. */
  readonly env: string;
  /** SHA-256 hex of the client secret, or null when none is needed. */
  readonly clientSecretHash: string | null;
}

/** How one element changed in one step. */
export interface ElementDelta {
  /** `elementId(app, env, key)`. */
  readonly id: string;
  /** App id. */
  readonly app: string;
  /** Env name. */
  readonly env: string;
  /** Element key. */
  readonly key: string;
  /** Before the step. */
  readonly before: VersionPair;
  /** After it. */
  readonly after: VersionPair;
}

/** What one step (a snapshot or the changes of one revision) changed. */
export interface Delta {
  /** The revision the state is at after the step. */
  readonly revision: number;
  /** Elements whose live or gray version changed. */
  readonly elements: ElementDelta[];
  /** `envId`s whose env or app record changed (appeared, went, secret changed). */
  readonly envs: Set<string>;
  /** Apps whose app record changed. */
  readonly apps: Set<string>;
}

/** One change of a served version, in the log. */
interface LogEntry {
  readonly revision: number;
  /** `elementId` + "#" + kind. */
  readonly slot: string;
  /** The version before the change (absent: there was none). */
  readonly before: ServedVersion | undefined;
}

/** One record change of a revision, as {@linkcode ServedState.apply} takes it. */
export interface RecordChange {
  /** The cassemdb key of the record. */
  readonly recordKey: string;
  /** The decoded record after the change; `undefined` when it was unset (or is not a record). */
  readonly after: ServeMeta | undefined;
}

/** Default bound of the change log (entries). */
export const DEFAULT_LOG_ENTRIES = 50_000;

/**
 * The served state (see the module doc).
 *
 * Invariant: `revision` never decreases; every change after `horizon` is in
 * the log, in revision order.
 */
export class ServedState {
  /** The revision the state is at (0 before the first snapshot). */
  revision = 0;
  /** Changes after this revision are all in the log (views at revisions ≥ it can be rebuilt). */
  horizon = 0;
  /** Whether a snapshot was loaded. */
  loaded = false;
  readonly #apps = new Map<string, AppStatus>();
  readonly #envs = new Map<string, ServedEnv>();
  readonly #elements = new Map<string, VersionPair>();
  /** App and env record keys → what they hold, so that an unset (which carries no record) finds it. */
  readonly #records = new Map<string, RecordRef>();
  #log: LogEntry[] = [];
  #logHead = 0;
  readonly #maxLog: number;

  /** A state whose change log keeps at most `maxLogEntries` entries. */
  constructor(maxLogEntries: number = DEFAULT_LOG_ENTRIES) {
    this.#maxLog = maxLogEntries;
  }

  /** The status of a served app, or `undefined` when it is not served. */
  app(app: string): AppStatus | undefined {
    return this.#apps.get(app);
  }

  /** A served env, or `undefined`. */
  env(app: string, env: string): ServedEnv | undefined {
    return this.#envs.get(envId(app, env));
  }

  /** The versions of one element (empty when it has none). */
  element(app: string, env: string, key: string): VersionPair {
    return this.#elements.get(elementId(app, env, key)) ?? EMPTY;
  }

  /** Number of elements with at least one served version. */
  get elementCount(): number {
    return this.#elements.size;
  }

  /**
   * The versions of one element as they were at `revision`, or `undefined`
   * when that is before {@linkcode horizon} (the log no longer tells).
   */
  elementAt(app: string, env: string, key: string, revision: number): VersionPair | undefined {
    if (revision < this.horizon) return undefined;
    const id = elementId(app, env, key);
    const now = this.#elements.get(id) ?? EMPTY;
    if (revision >= this.revision) return now;
    let live = now.live;
    let gray = now.gray;
    // Newest first: the last entry seen for a slot is the first change after `revision`.
    for (let i = this.#log.length - 1; i >= this.#logHead; i--) {
      const e = this.#log[i]!;
      if (e.revision <= revision) break;
      if (e.slot === `${id}#live`) live = e.before;
      else if (e.slot === `${id}#gray`) gray = e.before;
    }
    return pair(live, gray);
  }

  /**
   * Replaces the whole state with a snapshot at `revision` (the first
   * listing, or a re-listing after the watch history was compacted) and
   * answers what changed. The log restarts: views before `revision` can no
   * longer be rebuilt.
   */
  reset(records: readonly ServeMeta[], revision: number): Delta {
    const oldElements = new Map(this.#elements);
    const oldApps = new Map(this.#apps);
    const oldEnvs = new Map(this.#envs);
    this.#apps.clear();
    this.#envs.clear();
    this.#elements.clear();
    this.#records.clear();
    for (const r of records) this.#put(r);
    const delta: Delta = { revision, elements: [], envs: new Set(), apps: new Set() };
    for (const [id, before] of oldElements) {
      const after = this.#elements.get(id) ?? EMPTY;
      if (!samePair(before, after)) delta.elements.push(deltaOf(id, before, after));
    }
    for (const [id, after] of this.#elements) {
      if (!oldElements.has(id)) delta.elements.push(deltaOf(id, EMPTY, after));
    }
    for (const id of new Set([...oldEnvs.keys(), ...this.#envs.keys()])) {
      if (oldEnvs.get(id)?.clientSecretHash !== this.#envs.get(id)?.clientSecretHash) {
        delta.envs.add(id);
      } else if (oldEnvs.has(id) !== this.#envs.has(id)) delta.envs.add(id);
    }
    for (const app of new Set([...oldApps.keys(), ...this.#apps.keys()])) {
      if (oldApps.get(app) !== this.#apps.get(app)) delta.apps.add(app);
    }
    this.revision = Math.max(this.revision, revision);
    this.horizon = revision;
    this.#log = [];
    this.#logHead = 0;
    this.loaded = true;
    return delta;
  }

  /**
   * Applies the record changes of one revision (in the order cassemdb
   * applied them) and answers what changed. Revisions at or below the
   * current one are ignored (an empty delta).
   */
  apply(revision: number, changes: readonly RecordChange[]): Delta {
    const delta: Delta = { revision, elements: [], envs: new Set(), apps: new Set() };
    if (revision <= this.revision) return delta;
    const touched = new Map<string, VersionPair>();
    for (const ch of changes) {
      const ref = this.#refOf(ch.recordKey, ch.after);
      if (ref && ref.kind !== "app" && ref.kind !== "env") {
        const before = this.#elements.get(ref.id) ?? EMPTY;
        if (!touched.has(ref.id)) touched.set(ref.id, before);
        this.#logChange(revision, `${ref.id}#${ref.kind}`, before[ref.kind]);
      }
      if (ch.after === undefined) this.#remove(ch.recordKey, delta);
      else this.#put(ch.after, delta);
    }
    for (const [id, before] of touched) {
      const after = this.#elements.get(id) ?? EMPTY;
      if (!samePair(before, after)) delta.elements.push(deltaOf(id, before, after));
    }
    this.revision = revision;
    return delta;
  }

  #logChange(revision: number, slot: string, before: ServedVersion | undefined): void {
    this.#log.push({ revision, slot, before });
    if (this.#log.length - this.#logHead > this.#maxLog) {
      const dropped = this.#log[this.#logHead++]!;
      // A view at a revision before the dropped change can no longer be rebuilt.
      this.horizon = Math.max(this.horizon, dropped.revision);
      if (this.#logHead > 4_096 && this.#logHead * 2 > this.#log.length) {
        this.#log = this.#log.slice(this.#logHead);
        this.#logHead = 0;
      }
    }
  }

  #put(r: ServeMeta, delta?: Delta): void {
    switch (r.kind) {
      case "app":
        if (this.#apps.get(r.app) !== r.status) delta?.apps.add(r.app);
        this.#apps.set(r.app, r.status);
        this.#records.set(r.recordKey, { kind: "app", id: r.app });
        return;
      case "env": {
        const id = envId(r.app, r.env);
        const old = this.#envs.get(id);
        if (!old || old.clientSecretHash !== r.clientSecretHash) delta?.envs.add(id);
        this.#envs.set(id, { app: r.app, env: r.env, clientSecretHash: r.clientSecretHash });
        this.#records.set(r.recordKey, { kind: "env", id });
        return;
      }
      case "version": {
        // Version records are found again by their key (parseServeKey): no index entry of their own.
        const m = r.meta;
        const id = elementIdOf(m);
        const old = this.#elements.get(id) ?? EMPTY;
        this.#elements.set(id, m.kind === "live" ? pair(m, old.gray) : pair(old.live, m));
      }
    }
  }

  /** What `recordKey` holds (`after` when it is set), or `undefined` for anything else. */
  #refOf(recordKey: string, after: ServeMeta | undefined): RecordRef | undefined {
    if (after?.kind === "version") return { kind: after.meta.kind, id: elementIdOf(after.meta) };
    const held = this.#records.get(recordKey);
    if (held) return held;
    const where = parseServeKey(recordKey);
    if (where?.kind !== "live" && where?.kind !== "gray") return undefined;
    const id = elementId(where.app, where.env, where.key);
    return this.#elements.get(id)?.[where.kind] ? { kind: where.kind, id } : undefined;
  }

  #remove(recordKey: string, delta: Delta): void {
    const ref = this.#refOf(recordKey, undefined);
    if (!ref) return; // a directory, or a record that never decoded
    if (ref.kind === "app" || ref.kind === "env") this.#records.delete(recordKey);
    switch (ref.kind) {
      case "app":
        this.#apps.delete(ref.id);
        delta.apps.add(ref.id);
        return;
      case "env":
        this.#envs.delete(ref.id);
        delta.envs.add(ref.id);
        return;
      default: {
        const old = this.#elements.get(ref.id) ?? EMPTY;
        const next = ref.kind === "live" ? pair(undefined, old.gray) : pair(old.live, undefined);
        if (next.live || next.gray) this.#elements.set(ref.id, next);
        else this.#elements.delete(ref.id);
      }
    }
  }
}

/** What a record key holds. */
type RecordRef =
  | { readonly kind: "app"; readonly id: string }
  | { readonly kind: "env"; readonly id: string }
  | { readonly kind: "live" | "gray"; readonly id: string };

function elementIdOf(m: ServedVersion): string {
  return elementId(m.app, m.env, m.key);
}

const EMPTY: VersionPair = Object.freeze({});

function pair(live: ServedVersion | undefined, gray: ServedVersion | undefined): VersionPair {
  if (live && gray) return { live, gray };
  if (live) return { live };
  if (gray) return { gray };
  return EMPTY;
}

function sameVersion(a: ServedVersion | undefined, b: ServedVersion | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.modRevision === b.modRevision);
}

function samePair(a: VersionPair, b: VersionPair): boolean {
  return sameVersion(a.live, b.live) && sameVersion(a.gray, b.gray);
}

function deltaOf(id: string, before: VersionPair, after: VersionPair): ElementDelta {
  const [app, env, key] = id.split("/") as [string, string, string];
  return { id, app, env, key, before, after };
}
