/**
 * Change push: who watches which elements, what each was last sent, and the
 * interface every transport (SSE, gRPC stream, long poll) implements to
 * receive pushes ({@linkcode PushSink}).
 *
 * A subscriber is sent an element when the version it gets under the gray
 * rules differs from the one it was last sent (another version number,
 * fingerprint, or live/gray), and `missing` when it no longer gets any.
 * Every push of one revision reaches a sink in one call, so that a transport
 * can mark the end of the revision (the SSE `id:`, one gRPC message).
 *
 * @module
 */

import type { ClientIdentity } from "./identity.ts";
import type { ServedVersion } from "./serve_records.ts";

/**
 * What a subscriber was last sent for one key: the served version itself
 * (`null` for "missing"), compared with {@linkcode ServedVersion.sameAs}.
 */
export type SentVersion = ServedVersion;

/** The element JSON clients receive (reads and pushes alike). */
export interface ElementJson {
  /** Element key. */
  key: string;
  /** Version number. */
  version: number;
  /** Content type (`json`, `yaml`, `toml`, `ini`, `properties`, `plaintext`). */
  contentType: string;
  /** The text exactly as published (a secret element's plaintext). */
  raw: string;
  /** SHA-256 hex of the raw (of the ciphertext for a secret element): its ETag. */
  fingerprint: string;
  /** The cassemdb revision that published this version to the agent. */
  revision: number;
  /** Whether it is the gray version (picked for this client by the gray rule). */
  gray: boolean;
}

/**
 * One push: an element's new version, or that the key has none for this
 * client any more. Made once per push and shared by every subscriber it
 * goes to: do not change it.
 */
export type PushItem =
  | {
    readonly key: string;
    readonly version: ServedVersion;
    /** The element JSON. */
    readonly element: ElementJson;
    /** The element JSON as text. */
    readonly json: string;
    /** What a subscriber sent this item was sent. */
    readonly sent: SentVersion;
  }
  | { readonly key: string; readonly version: undefined; readonly sent: null };

/** Where pushes go: implemented by each transport. Calls never throw. */
export interface PushSink {
  /** The items of one revision, in key order of the subscription. */
  push(revision: number, items: readonly PushItem[]): void;
  /**
   * The initial state was sent: the subscriber is current as of `revision`.
   * `full` when it was resuming from a revision the agent could not rebuild
   * (it got its whole current state, which may repeat what it held).
   */
  ready(revision: number, full: boolean): void;
  /** Periodic keep-alive, with the agent's current revision. */
  heartbeat(revision: number): void;
  /** The agent ends the subscription (slow consumer, secret changed, agent stopping). */
  close(code: string, message: string): void;
}

/** One watcher of keys of one app/env. */
export interface Subscriber {
  /** App id. */
  readonly app: string;
  /** Env name. */
  readonly env: string;
  /** The keys it watches (1..100, unique). */
  readonly keys: readonly string[];
  /** Who it is: its gray rules are evaluated for it. */
  readonly client: ClientIdentity;
  /** Per key, what it was last sent (absent: nothing yet). */
  readonly sent: Map<string, SentVersion | null>;
  /** Where its pushes go. */
  readonly sink: PushSink;
}

/** `version` as a {@linkcode SentVersion} (`null` when absent). */
export function sentOf(version: ServedVersion | undefined): SentVersion | null {
  return version ?? null;
}

/** Whether the subscriber, last sent `sent`, needs `version` pushed. */
export function differs(
  sent: SentVersion | null | undefined,
  version: ServedVersion | undefined,
): boolean {
  if (sent === undefined) return true;
  if (sent === null || version === undefined) return sent !== null || version !== undefined;
  // The same object is the common case; the packed fingerprints compare without building hex.
  return sent !== version && !sent.sameAs(version);
}

/** Subscribers by element id (`app/env/key`). */
export class SubscriberIndex {
  readonly #byElement = new Map<string, Set<Subscriber>>();
  readonly #all = new Set<Subscriber>();

  /** Number of subscribers. */
  get size(): number {
    return this.#all.size;
  }

  /** Every subscriber. */
  all(): IterableIterator<Subscriber> {
    return this.#all.values();
  }

  /** Adds `s` under each of its keys. */
  add(s: Subscriber): void {
    this.#all.add(s);
    for (const key of s.keys) {
      const id = `${s.app}/${s.env}/${key}`;
      let set = this.#byElement.get(id);
      if (!set) this.#byElement.set(id, set = new Set());
      set.add(s);
    }
  }

  /** Removes `s`; answers whether it was there. */
  delete(s: Subscriber): boolean {
    if (!this.#all.delete(s)) return false;
    for (const key of s.keys) {
      const id = `${s.app}/${s.env}/${key}`;
      const set = this.#byElement.get(id);
      set?.delete(s);
      if (set?.size === 0) this.#byElement.delete(id);
    }
    return true;
  }

  /** The subscribers of element `id` (empty when none). */
  of(id: string): ReadonlySet<Subscriber> {
    return this.#byElement.get(id) ?? NONE;
  }
}

const NONE: ReadonlySet<Subscriber> = new Set();
