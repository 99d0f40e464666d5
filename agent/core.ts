/**
 * AgentCore: the transport-free heart of cassemagent. It keeps
 * {@linkcode ServedState} current with one `listAndWatch` of
 * `servePrefix()`, holds element bodies in an LRU-K cache and for every
 * watched element, answers reads without touching cassemdb on the hot path,
 * and pushes changes to subscribers in the same event-loop turn that
 * updates its state.
 *
 * Where a body comes from, in order:
 *
 * 1. **pins**: the live and gray bodies of every element someone watches,
 *    loaded when the first subscriber arrives and kept fresh by the watch
 *    (its events carry the new bodies), so pushes never wait for I/O;
 * 2. the **LRU-K cache** ({@linkcode LruKCache}), also kept fresh by the
 *    watch: an entry is replaced when its record changes and dropped when it
 *    goes. Its bodies are UTF-8 bytes in a {@linkcode BodyStore}, off the JS
 *    heap;
 * 3. otherwise a read of cassemdb (linearizable, one `getMany` per request,
 *    concurrent misses of one record share it), offered to the cache.
 *
 * The first listing (and a re-listing) is decoded page by page as it
 * arrives (`mapEntity`): the listing keeps each record's metadata, and the
 * body only of an element watched then, not every record's text until its
 * last page.
 *
 * An answer is built from {@linkcode Prepared} versions (the raw text and
 * the element JSON text, made once): the recently answered ones are kept in
 * a {@linkcode PreparedCache} keyed by the version itself, so a hot read is
 * lookups and a string join, and a new version can never be answered with
 * an old text.
 *
 * **Never older than pushed.** Which version a client gets is decided by the
 * state's metadata alone, and a body is used only when its `modRevision` is
 * exactly the one the metadata names. The metadata only moves forward (the
 * watch delivers revisions in order), and a body fetched from cassemdb that
 * is newer than the metadata is held back until the watch has caught up
 * with it. So once a version was pushed (the state had moved to it), no read
 * answers an older one.
 *
 * @module
 */

import {
  constantTimeEqual,
  DecryptError,
  type Keyring,
  MIN_REVISION_HEADER,
  parseServeKey,
  secretAad,
  servePrefix,
  UnknownKeyError,
  verifySecret,
} from "../shared/config/mod.ts";
import {
  type Entity,
  isCancelled,
  isUnavailable,
  type KvClient,
  type ListWatch,
  type WatchEvent,
} from "../shared/db/mod.ts";
import type { Logger } from "../shared/log.ts";
import {
  BadRequestError,
  MissingSecretError,
  NotServedError,
  SecretUnavailableError,
  UnavailableError,
  WrongSecretError,
} from "./errors.ts";
import {
  type Body,
  type ErrorBody,
  LooseBody,
  Prepared,
  PreparedCache,
  ReadResult,
} from "./body.ts";
import { BodyStore } from "./body_store.ts";
import { Health } from "./health.ts";
import { chooseVersion, type ClientIdentity, type Reader, SECRET_HEADER } from "./identity.ts";
import { LruKCache } from "./lru_k.ts";
import {
  type DecodedServe,
  decodeServe,
  elementId,
  envId,
  type RecordKind,
  type ServedVersion,
  type ServeMeta,
  type StoredBody as SealedOrRaw,
  VERSION_SLOTS,
} from "./serve_records.ts";
import { type Delta, type RecordChange, ServedState } from "./served.ts";
import {
  differs,
  type PushItem,
  type PushSink,
  sentOf,
  type Subscriber,
  SubscriberIndex,
} from "./subscriptions.ts";

/** Options of {@linkcode AgentCore}. */
export interface CoreOptions {
  /** The cassemdb client (a `DbClient`, or a `MemoryDb` in tests). */
  db: KvClient;
  /** The agent's id (logs, instance records). */
  agentId: string;
  /** Logger. */
  log: Logger;
  /** The keyring that opens secret elements; absent: they are answered with an error. */
  keyring?: Keyring;
  /** Most bodies in the cache (default 100,000). */
  cacheEntries?: number;
  /** Most bytes of bodies in the cache (default 256 MiB). */
  cacheBytes?: number;
  /** The K of LRU-K (default 2). */
  cacheK?: number;
  /** Bodies of at least this many bytes are cached deflated when that pays (default 512; 0: never). */
  cacheCompressMinBytes?: number;
  /** The window of the K accesses that admit a body, in ms (default 60,000). */
  cacheWindowMs?: number;
  /** Milliseconds for the cache window and health (default `performance.now`). */
  clock?: () => number;
  /** Between health probes, in ms (default 1,000). */
  probeMs?: number;
  /** The probe: a cheap read of cassemdb (default: `get` of the serve prefix's first key). */
  probe?: () => Promise<unknown>;
  /** How long a resume or a `minRevision` read waits for the agent to catch up, in ms (default 5,000). */
  catchUpMs?: number;
  /** Deadline of a read of cassemdb on a cache miss, in ms (default 2,000). */
  fetchTimeoutMs?: number;
  /** Bound of the change log that rebuilds views for resumes (default 50,000). */
  logEntries?: number;
  /** Between heartbeats to subscribers, in ms (default 15,000). */
  heartbeatMs?: number;
  /** Most versions whose prepared answer is kept (default 2,048). */
  preparedEntries?: number;
}

/** A subscription as {@linkcode AgentCore.subscribe} takes it. */
export interface SubscribeRequest {
  /** App id (validated by the caller). */
  app: string;
  /** Env name. */
  env: string;
  /** Keys, 1..100, unique, valid. */
  keys: readonly string[];
  /** Who subscribes. */
  client: ClientIdentity;
  /** Resume after this revision (the last one received); absent: from scratch. */
  since?: number;
  /** The field that carried `since`, for errors (`Last-Event-ID`, `revision`). */
  sinceField?: string;
}

/** A running subscription. */
export interface Subscription {
  /** The subscriber (what it watches and was sent). */
  readonly subscriber: Subscriber;
  /** Ends it (idempotent). */
  close(): void;
}

/** The bodies of one watched element, by record kind (JS strings: few, and read at every push). */
interface Pin {
  refs: number;
  readonly app: string;
  readonly env: string;
  readonly key: string;
  readonly bodies: Map<RecordKind, LooseBody | ErrorBody>;
}

/** A listed record as the listing kept it (see `AgentCore.#mapListed`). */
type ListedRecord =
  | DecodedServe
  | ServeMeta
  | { readonly kind: "corrupt"; readonly error: string }
  | { readonly kind: "none" };

/** A listed entity that is no serve record (a directory above them). */
const NOT_A_RECORD: ListedRecord = { kind: "none" };

/** The value of a listed entity once decoded. */
const NO_VALUE = new Uint8Array(0);

/** The pushes made for one revision: by version, or by key for "missing"; null: not servable. */
type ItemMemo = Map<ServedVersion | string, PushItem | null>;

/** One step of the watch, prepared (records decoded, sealed bodies being opened). */
interface Step {
  readonly revision: number;
  readonly reset: boolean;
  readonly changes: RecordChange[];
  /** Bodies of the version records set in this step, by record key. */
  readonly bodies: Map<string, LooseBody | ErrorBody>;
  /** Resolves once every sealed body of the step is opened (absent: nothing to open). */
  readonly opening?: Promise<void>;
  /** When it arrived from cassemdb (`performance.now()`), for the push latency. */
  readonly arrivedAt: number;
}

/** Someone waiting for the agent to reach a revision. */
interface Waiter {
  readonly revision: number;
  resolve(): void;
}

/** Hooks for the instance registry and the metrics. */
export interface SubscriberHooks {
  /** A subscriber was added (after its initial state was sent). */
  attached?(s: Subscriber): void;
  /** A subscriber went. */
  detached?(s: Subscriber): void;
  /**
   * A revision was pushed to `subscribers` subscribers, `ms` after it arrived
   * from cassemdb (bodies to open included).
   */
  pushed?(subscribers: number, ms: number): void;
}

/** The agent's state, cache and push fan-out (see the module doc). */
export class AgentCore {
  /** What the agent serves. */
  readonly state: ServedState;
  /** Where the cache's bodies are. */
  readonly bodies: BodyStore;
  /**
   * The LRU-K cache: version → the handle of its text in {@linkcode bodies}.
   * Keyed by the version object, renamed to the new version when its record
   * changes (its accesses carry over).
   */
  readonly cache: LruKCache<number, ServedVersion>;
  /** Whether cassemdb is reachable and the watch current. */
  readonly health: Health;
  /** Every subscriber. */
  readonly subscribers = new SubscriberIndex();
  /** Instance registry and metrics hooks. */
  hooks: SubscriberHooks = {};
  /** Subscribers the instance hooks do not hear of (long polls). */
  readonly #unregistered = new WeakSet<Subscriber>();
  readonly #db: KvClient;
  readonly #log: Logger;
  readonly #keyring: Keyring | undefined;
  readonly #catchUpMs: number;
  readonly #fetchTimeoutMs: number;
  readonly #heartbeatMs: number;
  readonly #pins = new Map<string, Pin>();
  readonly #inflight = new Map<string, Promise<LooseBody | ErrorBody | undefined>>();
  readonly #prepared: PreparedCache;
  /**
   * What each entity of a listing in progress decoded to (see
   * {@linkcode #mapListed}). A new map for each listing: a WeakMap keeps the
   * table it grew to after its keys are gone (8 MiB for 100,000 records).
   */
  #listed = new WeakMap<Entity, ListedRecord>();
  /** Bytes of records read from cassemdb by listings and cache misses: each leaves garbage. */
  #readBytes = 0;
  readonly #steps: Step[] = [];
  #draining = false;
  #waiters: Waiter[] = [];
  #lw: ListWatch | undefined;
  #closed = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  /** Per env, the last client secret that verified against its hash. */
  readonly #goodSecrets = new Map<string, { hash: string; secret: string }>();
  readonly #ready = Promise.withResolvers<number>();
  #warnedSecret = new Set<string>();
  #lastUnreachableLog = -Infinity;

  /** Bytes of records read from cassemdb so far (listings and cold reads): what a burst is. */
  get readBytes(): number {
    return this.#readBytes;
  }

  /** A core that starts watching at {@linkcode start}. */
  constructor(options: CoreOptions) {
    this.#db = options.db;
    this.#log = options.log;
    this.#keyring = options.keyring;
    this.#catchUpMs = options.catchUpMs ?? 5_000;
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? 2_000;
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.state = new ServedState(options.logEntries);
    this.bodies = new BodyStore({ compressMinBytes: options.cacheCompressMinBytes });
    this.cache = new LruKCache<number, ServedVersion>({
      k: options.cacheK ?? 2,
      maxEntries: options.cacheEntries ?? 100_000,
      maxBytes: options.cacheBytes ?? 256 * 1024 * 1024,
      windowMs: options.cacheWindowMs ?? 60_000,
      // The text's bytes, plus the entry (slot arrays, eviction heap and handle).
      sizeOf: (h) => this.bodies.size(h) + ENTRY_BYTES,
      clock: options.clock,
      dispose: (h) => this.bodies.free(h),
      // Each version holds its own slot: no map of 100,000 entries beside them.
      slotIndex: VERSION_SLOTS,
    });
    this.#prepared = new PreparedCache({ maxEntries: options.preparedEntries });
    const db = this.#db;
    this.health = new Health({
      probe: options.probe ??
        (() => db.get(servePrefix().slice(0, -1), { timeoutMs: 1_500 })),
      probeMs: options.probeMs,
      clock: options.clock,
      onChange: (stale, why) =>
        !this.state.loaded
          ? undefined
          : stale
          ? this.#log.warn("serving from cache: cassemdb out of reach", {
            why,
            error: this.health.lastError,
            revision: this.state.revision,
          })
          : this.#log.info("cassemdb reachable: serving current data", {
            why,
            revision: this.state.revision,
          }),
    });
    this.#ready.promise.catch(() => {});
  }

  /** Resolves with the first snapshot's revision once it is loaded. */
  get ready(): Promise<number> {
    return this.#ready.promise;
  }

  /** Starts the list-then-watch, the health probe and the heartbeats. */
  start(): void {
    if (this.#lw || this.#closed) return;
    this.health.start();
    this.#watch();
    this.#heartbeat = setInterval(() => {
      const rev = this.state.revision;
      for (const s of this.subscribers.all()) s.sink.heartbeat(rev);
    }, this.#heartbeatMs);
  }

  /** Ends every subscription (with `code`, `message`), the watch and the probe. */
  close(code = "UNAVAILABLE", message = "Cannot go on watching as the agent is stopping"): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#restartTimer);
    this.health.close();
    this.#lw?.close();
    for (const s of [...this.subscribers.all()]) {
      this.subscribers.delete(s);
      s.sink.close(code, message);
    }
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
    this.#ready.reject(new UnavailableError("Cannot load the served data as the agent stopped"));
  }

  // ---- the watch -----------------------------------------------------------------------

  #watch(): void {
    let first = true;
    this.#lw = this.#db.listAndWatch(servePrefix(), {
      onSnapshot: (s) => {
        if (first) {
          this.#log.info("loaded the served data", {
            revision: s.revision,
            records: s.entities.length,
          });
        } else {
          this.#log.warn("re-listed the served data", { revision: s.revision, reset: s.reset });
        }
        first = false;
        this.#enqueue(this.#prepare(s.revision, true, s.entities.map((e) => ({ key: e.key, e }))));
        this.#listed = new WeakMap();
      },
      onChanges: (ev) => this.#enqueue(this.#prepareEvent(ev)),
      onRetry: (e) => {
        // Before the first snapshot nothing is served: say so at once, then every 30 s.
        const now = performance.now();
        if (!this.state.loaded && now - this.#lastUnreachableLog > 30_000) {
          this.#lastUnreachableLog = now;
          this.#log.warn("cannot reach cassemdb yet: retrying (answering 503 until it answers)", {
            error: e.message,
          });
        }
        this.health.failed(e);
      },
      onError: (e) => {
        if (this.#closed || isCancelled(e)) return;
        // A handler threw or the listing ended for good: list again from scratch.
        this.#log.error("the watch of the served data ended: listing again", { error: e.message });
        this.health.failed(e);
        this.#lw = undefined;
        this.#restartTimer = setTimeout(() => this.#watch(), 1_000);
      },
    }, {
      // Each page decoded as it arrives: the listing holds metadata, not every record's text.
      mapEntity: (e) => this.#mapListed(e),
    });
  }

  #prepareEvent(ev: WatchEvent): Step {
    return this.#prepare(
      ev.revision,
      false,
      ev.changes.map((c) => ({ key: c.key, e: c.op === "SET" ? c.current : undefined })),
    );
  }

  /**
   * A listed entity as the listing keeps it: without its value, which is
   * decoded now into what the snapshot will need (in {@linkcode #listed}):
   * the record's metadata, and the body only for an element watched now.
   */
  #mapListed(e: Entity): Entity {
    let rec: ListedRecord;
    try {
      const d = decodeServe(e);
      rec = d?.kind === "version" && !this.#pins.has(elementId(d.meta.app, d.meta.env, d.meta.key))
        ? { kind: "version", meta: d.meta }
        : d ?? NOT_A_RECORD;
    } catch (err) {
      rec = { kind: "corrupt", error: (err as Error).message };
    }
    const out: Entity = { ...e, val: NO_VALUE };
    this.#listed.set(out, rec);
    this.#readBytes += e.val.length;
    return out;
  }

  /** Decodes the records of a snapshot or event and starts opening the sealed bodies needed. */
  #prepare(
    revision: number,
    reset: boolean,
    items: readonly { key: string; e: Entity | undefined }[],
  ): Step {
    const changes: RecordChange[] = [];
    const bodies = new Map<string, LooseBody | ErrorBody>();
    const openings: Promise<void>[] = [];
    /** Watched versions whose body the listing dropped (watched since their page came). */
    const unread: ServedVersion[] = [];
    for (const { key, e } of items) {
      let after: ListedRecord | undefined;
      if (e) {
        try {
          after = this.#listed.get(e) ?? decodeServe(e);
        } catch (err) {
          after = { kind: "corrupt", error: (err as Error).message };
        }
      }
      if (after?.kind === "corrupt") {
        // A record adm wrote wrong: not served, and said so, rather than stopping the watch.
        this.#log.error("skipping a served record that does not decode", {
          key,
          error: after.error,
        });
        after = undefined;
      }
      if (after?.kind === "none") after = undefined;
      if (after?.kind !== "version") {
        changes.push({ recordKey: key, after });
        continue;
      }
      const m = after.meta;
      // The state keeps the metadata only: the record's text can be collected at once.
      changes.push({ recordKey: key, after: { kind: "version", meta: m } });
      // A snapshot carries every body; only watched elements need theirs (the cache drops stale ones).
      if (reset && !this.#pins.has(elementId(m.app, m.env, m.key))) continue;
      if (!("body" in after)) {
        unread.push(m);
        continue;
      }
      const body = after.body;
      if ("raw" in body) bodies.set(key, new LooseBody(m.modRevision, body.raw));
      else {
        openings.push(
          this.#open(m, body).then((b) => void bodies.set(key, b)),
        );
      }
    }
    if (unread.length > 0) openings.push(this.#readListed(unread, bodies));
    const opening = openings.length > 0 ? Promise.all(openings).then(() => {}) : undefined;
    return { revision, reset, changes, bodies, opening, arrivedAt: performance.now() };
  }

  /**
   * Reads from cassemdb the bodies of `versions` (watched elements whose
   * listed value was dropped) into `into`, those of exactly the listed
   * revision only: a newer one comes with the change that made it. A failed
   * read leaves them out, with a warning: reads then fetch them on demand.
   */
  async #readListed(
    versions: readonly ServedVersion[],
    into: Map<string, LooseBody | ErrorBody>,
  ): Promise<void> {
    const want = new Map(versions.map((v) => [v.recordKey, v]));
    try {
      const { entities } = await this.#db.getMany([...want.keys()], {
        timeoutMs: this.#fetchTimeoutMs,
      });
      for (const e of entities) {
        let d: DecodedServe | undefined;
        try {
          d = decodeServe(e);
        } catch {
          continue; // the watch logs it; here it is simply not served
        }
        const v = want.get(e.key);
        if (d?.kind !== "version" || !v || d.meta.modRevision !== v.modRevision) continue;
        into.set(e.key, await this.#open(v, d.body));
      }
    } catch (e) {
      this.#log.warn("cannot read the bodies of watched elements after a listing", {
        keys: versions.length,
        error: (e as Error).message,
      });
    }
  }

  /** Applies `step` now when nothing is queued and nothing is being opened; else queues it. */
  #enqueue(step: Step): void {
    if (!this.#draining && this.#steps.length === 0 && !step.opening) {
      this.#apply(step);
      return;
    }
    this.#steps.push(step);
    if (!this.#draining) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#steps.length > 0) {
        const step = this.#steps[0]!;
        if (step.opening) await step.opening;
        this.#steps.shift();
        if (this.#closed) return;
        this.#apply(step);
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Applies one step to the state, the bodies and the subscribers, synchronously. */
  #apply(step: Step): void {
    const delta = step.reset
      ? this.state.reset(
        step.changes.flatMap((c) => (c.after ? [c.after] : [])),
        step.revision,
      )
      : this.state.apply(step.revision, step.changes);
    if (step.reset) this.#resetBodies(step);
    else {
      // Pins take the new bodies; an unset (or undecodable) record's pinned body goes.
      for (const c of step.changes) {
        const body = step.bodies.get(c.recordKey);
        if (body && c.after?.kind === "version") {
          const m = c.after.meta;
          const pin = this.#pins.get(elementId(m.app, m.env, m.key));
          if (pin) setNewer(pin.bodies, m.kind, body);
        } else if (!c.after && this.#pins.size > 0) {
          const where = parseServeKey(c.recordKey);
          if (where?.kind === "live" || where?.kind === "gray") {
            this.#pins.get(elementId(where.app, where.env, where.key))?.bodies.delete(where.kind);
          }
        }
      }
      // The cache and the prepared answers follow every version that changed.
      for (const d of delta.elements) {
        for (const kind of KINDS) {
          const before = d.before[kind];
          const after = d.after[kind];
          if (!before || before === after) continue;
          this.#prepared.delete(before);
          this.#replaced(before, after, after && step.bodies.get(after.recordKey));
        }
      }
    }
    this.health.delivered();
    this.#publish(delta, step.arrivedAt);
    if (step.reset && this.#ready) this.#ready.resolve(step.revision);
    this.#wake();
  }

  /**
   * The record of version `before` now holds `after` (undefined: it went),
   * whose body is `body` when the change carried one: a cached body is
   * replaced in place (not an access), else dropped; a key still in the
   * cache's history keeps its accesses under the new version.
   */
  #replaced(
    before: ServedVersion,
    after: ServedVersion | undefined,
    body: LooseBody | ErrorBody | undefined,
  ): void {
    if (!after || !body || body.error !== undefined || body.modRevision !== after.modRevision) {
      this.cache.delete(before);
      return;
    }
    if (!this.cache.has(before)) {
      this.cache.rename(before, after);
      return;
    }
    const h = this.bodies.put(body.raw);
    // Refused (larger than the cache): the old body went with its entry, the new one is ours.
    if (!this.cache.rename(before, after, h)) this.bodies.free(h);
  }

  /** After a snapshot: cached bodies that no longer serve go; pins take the snapshot's bodies. */
  #resetBodies(step: Step): void {
    this.#prepared.clear();
    // The state kept the objects of unchanged versions: any other cached key no longer serves.
    for (const v of [...this.cache.keys()]) {
      if (this.state.element(v.app, v.env, v.key)[v.kind] !== v) this.cache.delete(v);
    }
    for (const pin of this.#pins.values()) {
      const now = this.state.element(pin.app, pin.env, pin.key);
      for (const [kind, b] of [...pin.bodies]) {
        if (now[kind]?.modRevision !== b.modRevision) pin.bodies.delete(kind);
      }
    }
    for (const c of step.changes) {
      const body = step.bodies.get(c.recordKey);
      if (!body || c.after?.kind !== "version") continue;
      const m = c.after.meta;
      const pin = this.#pins.get(elementId(m.app, m.env, m.key));
      if (pin) setNewer(pin.bodies, m.kind, body);
    }
  }

  /** Pushes what `delta` (which arrived at `arrivedAt`) changed to every subscriber it concerns. */
  #publish(delta: Delta, arrivedAt: number): void {
    if (this.subscribers.size === 0) return;
    const memo: ItemMemo = new Map();
    // One element changed (a publish): each subscriber gets at most one item, sent at once
    // in a list shared by all who get that item.
    if (delta.elements.length === 1) {
      const d = delta.elements[0]!;
      const alone = new Map<PushItem, readonly PushItem[]>();
      let pushed = 0;
      for (const s of this.subscribers.of(d.id)) {
        const v = chooseVersion(d.after, s.client);
        if (!differs(s.sent.get(d.key), v)) continue;
        const item = this.#itemFor(d.key, v, memo);
        if (!item) continue;
        s.sent.set(d.key, item.sent);
        let items = alone.get(item);
        if (!items) alone.set(item, items = [item]);
        s.sink.push(delta.revision, items);
        pushed++;
      }
      if (pushed > 0) this.hooks.pushed?.(pushed, performance.now() - arrivedAt);
    } else {
      const batches = new Map<Subscriber, PushItem[]>();
      for (const d of delta.elements) {
        const subs = this.subscribers.of(d.id);
        if (subs.size === 0) continue;
        for (const s of subs) {
          const v = chooseVersion(d.after, s.client);
          if (!differs(s.sent.get(d.key), v)) continue;
          const item = this.#itemFor(d.key, v, memo);
          if (!item) continue;
          s.sent.set(d.key, item.sent);
          let batch = batches.get(s);
          if (!batch) batches.set(s, batch = []);
          batch.push(item);
        }
      }
      for (const [s, items] of batches) s.sink.push(delta.revision, items);
      if (batches.size > 0) this.hooks.pushed?.(batches.size, performance.now() - arrivedAt);
    }
    for (const id of delta.envs) this.#recheckSecrets(id);
  }

  /**
   * The push of `version` for `key` (`missing` when undefined), made once per
   * `memo`; undefined when its body is not servable.
   */
  #itemFor(key: string, version: ServedVersion | undefined, memo: ItemMemo): PushItem | undefined {
    const memoKey = version ?? key;
    const done = memo.get(memoKey);
    if (done !== undefined) return done ?? undefined;
    const item: PushItem | undefined = version
      ? this.#versionItem(key, version)
      : { key, version: undefined, sent: null };
    memo.set(memoKey, item ?? null);
    return item;
  }

  /** The push of `version`, or undefined (with a warning, once) when its body cannot serve. */
  #versionItem(key: string, version: ServedVersion): PushItem | undefined {
    let p = this.#prepared.get(version);
    if (!p) {
      const body = this.#heldBody(version, false);
      if (!body || body.error !== undefined) {
        const what = `${version.recordKey}@${version.modRevision}`;
        if (!this.#warnedSecret.has(what)) {
          this.#warnedSecret.add(what);
          this.#log.warn("cannot push a version whose body the agent cannot serve", {
            key: version.recordKey,
            error: body?.error ?? "body not loaded",
          });
        }
        return undefined;
      }
      // Pushed: its subscribers' reads and resumes will ask for it.
      p = this.#prepared.prepare(version, body.raw, true);
    }
    return { key, version, element: p.element(), json: p.text, sent: sentOf(version)! };
  }

  /** Ends the subscriptions of env `id` whose secret no longer verifies. */
  #recheckSecrets(id: string): void {
    this.#goodSecrets.delete(id);
    const [app, env] = id.split("/") as [string, string];
    const served = this.state.env(app, env);
    const hash = served?.clientSecretHash ?? null;
    for (const s of [...this.subscribers.all()]) {
      if (s.app !== app || s.env !== env || hash === null) continue;
      const secret = s.client.secret;
      if (secret === undefined) {
        this.#drop(s, "UNAUTHENTICATED", new MissingSecretError(SECRET_HEADER).message);
        continue;
      }
      void verifySecret(secret, hash).then((ok) => {
        if (!ok) this.#drop(s, "PERMISSION_DENIED", new WrongSecretError(SECRET_HEADER).message);
      });
    }
  }

  #drop(s: Subscriber, code: string, message: string): void {
    if (!this.subscribers.delete(s)) return;
    this.#unpin(s.app, s.env, s.keys);
    if (!this.#unregistered.delete(s)) this.hooks.detached?.(s);
    s.sink.close(code, message);
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const rev = this.state.revision;
    const still: Waiter[] = [];
    for (const w of this.#waiters) w.revision <= rev ? w.resolve() : still.push(w);
    this.#waiters = still;
  }

  /** Whether the agent has loaded its state and reached `revision`. */
  hasReached(revision: number): boolean {
    return this.state.loaded && this.state.revision >= revision;
  }

  /**
   * Resolves once the agent's revision is at least `revision`.
   * @throws {UnavailableError} naming `field` when it is not within `timeoutMs`.
   */
  async waitRevision(revision: number, field: string, timeoutMs = this.#catchUpMs): Promise<void> {
    if (this.hasReached(revision)) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reached = await new Promise<boolean>((resolve) => {
      const w = { revision, resolve: () => resolve(true) };
      this.#waiters.push(w);
      timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        resolve(false);
      }, timeoutMs);
    });
    clearTimeout(timer);
    if (!reached || this.#closed) {
      throw new UnavailableError(
        `Cannot answer from revision ${revision} (${field}) as this agent is at revision ${this.state.revision} and did not catch up within ${timeoutMs} ms: try another agent`,
        field,
      );
    }
  }

  // ---- authorization ---------------------------------------------------------------------

  /**
   * Checks that `app`/`env` is served and that `client` may read it.
   * @throws {UnavailableError} before the first snapshot.
   * @throws {NotServedError} for an app or env not served.
   * @throws {MissingSecretError} / {WrongSecretError} for a missing or wrong client secret.
   */
  async authorize(app: string, env: string, client: Reader): Promise<void> {
    if (!this.state.loaded) {
      throw new UnavailableError(
        `Cannot serve ${app}/${env} as the agent has not loaded the served data from cassemdb yet${
          this.health.lastError ? `: ${this.health.lastError}` : ""
        }`,
      );
    }
    if (this.state.app(app) === undefined) throw new NotServedError("app", app, "app");
    const served = this.state.env(app, env);
    if (!served) throw new NotServedError("env", env, `env of app ${JSON.stringify(app)}`);
    const hash = served.clientSecretHash;
    if (hash === null) return;
    const secret = client.secret;
    if (secret === undefined) throw new MissingSecretError(SECRET_HEADER);
    const id = envId(app, env);
    const good = this.#goodSecrets.get(id);
    if (good && good.hash === hash && constantTimeEqual(good.secret, secret)) return;
    if (!(await verifySecret(secret, hash))) throw new WrongSecretError(SECRET_HEADER);
    // Only the last good secret is remembered: a wrong one is hashed every time.
    if (this.state.env(app, env)?.clientSecretHash === hash) {
      this.#goodSecrets.set(id, { hash, secret });
    }
  }

  // ---- reads ------------------------------------------------------------------------------

  /**
   * The answer of {@linkcode read} when it needs no I/O and no wait: the
   * data is loaded, the app and env are served, any client secret is the
   * one last verified, and every body is in memory. `undefined` otherwise
   * (then nothing was counted as an access: call {@linkcode read}). The
   * HTTP fast path uses it to answer without a promise.
   */
  readNow(
    app: string,
    env: string,
    keys: readonly string[],
    client: Reader,
  ): ReadResult | undefined {
    if (!this.state.loaded || this.state.app(app) === undefined) return undefined;
    const served = this.state.env(app, env);
    if (!served) return undefined;
    if (served.clientSecretHash !== null) {
      const good = this.#goodSecrets.get(envId(app, env));
      const secret = client.secret;
      if (
        !good || secret === undefined || good.hash !== served.clientSecretHash ||
        !constantTimeEqual(good.secret, secret)
      ) return undefined;
    }
    const found: Prepared[] = [];
    const missing: string[] = [];
    for (const key of keys) {
      const v = chooseVersion(this.state.element(app, env, key), client);
      if (!v) {
        missing.push(key);
        continue;
      }
      let p = this.#prepared.get(v);
      if (p === undefined) {
        const body = this.#heldBody(v, false);
        if (!body || body.error !== undefined) return undefined;
        p = this.#prepared.prepare(v, body.raw);
      }
      found.push(p);
    }
    // The accesses, counted once the answer is certain. A version answered from its
    // prepared text that the cache let go is offered again when the accesses admit it.
    for (const p of found) {
      if (this.cache.get(p.version) === undefined) this.#keep(p.version, p.raw);
    }
    return new ReadResult(found, missing, this.state.revision, this.health.stale);
  }

  /**
   * The version of each of `keys` that `client` gets (`missing` for keys
   * with none), from memory; bodies the agent does not hold are read from
   * cassemdb once and offered to the cache. `minRevision` waits (bounded)
   * until the agent has caught up with a revision the client already saw.
   * @throws {UnavailableError} when a body is needed and cassemdb is out of reach.
   */
  async read(
    app: string,
    env: string,
    keys: readonly string[],
    client: Reader,
    options: { minRevision?: number } = {},
  ): Promise<ReadResult> {
    await this.authorize(app, env, client);
    if (options.minRevision) {
      await this.waitRevision(options.minRevision, MIN_REVISION_HEADER);
    }
    const fetched = new Map<string, LooseBody | ErrorBody>();
    for (let round = 0;; round++) {
      // Built synchronously in one turn: a stored body is read before anything can free it.
      const found: Prepared[] = [];
      const missing: string[] = [];
      const need: ServedVersion[] = [];
      for (const key of keys) {
        const v = chooseVersion(this.state.element(app, env, key), client);
        if (!v) {
          missing.push(key);
          continue;
        }
        const held = this.#prepared.get(v);
        if (held) {
          if (round === 0 && this.cache.get(v) === undefined) this.#keep(v, held.raw);
          found.push(held);
          continue;
        }
        const body = this.#heldBody(v, round === 0);
        if (body) {
          if (body.error !== undefined) throw new SecretUnavailableError(body.error);
          found.push(this.#prepared.prepare(v, body.raw));
          continue;
        }
        const got = fetched.get(v.recordKey);
        if (got?.modRevision !== v.modRevision) {
          need.push(v);
          continue;
        }
        if (got.error !== undefined) throw new SecretUnavailableError(got.error);
        // Read from cassemdb and not kept by the cache: prepared for this answer only.
        found.push(new Prepared(v, got.raw));
      }
      if (need.length === 0) {
        return new ReadResult(found, missing, this.state.revision, this.health.stale);
      }
      if (round >= 3) {
        throw new UnavailableError(
          `Cannot read ${
            need.map((v) => v.key).join(", ")
          } of ${app}/${env} as cassemdb kept answering other versions than the watch: try again`,
          "keys",
        );
      }
      await this.#fetch(need, fetched);
    }
  }

  /**
   * The body of `v` the agent holds: from its pin or the cache (recording an
   * access when `access`); only a body of exactly `v.modRevision` counts. A
   * stored body must be read in the caller's turn (see `body.ts`).
   */
  #heldBody(v: ServedVersion, access: boolean): Body | undefined {
    if (this.#pins.size > 0) {
      const pinned = this.#pins.get(elementId(v.app, v.env, v.key))?.bodies.get(v.kind);
      if (pinned?.modRevision === v.modRevision) {
        if (access) this.cache.get(v); // watched keys are hot keys too
        return pinned;
      }
    }
    // A cache entry is keyed by its version object: its text is that version's.
    const h = access ? this.cache.get(v) : this.cache.peek(v);
    return h === undefined ? undefined : new LooseBody(v.modRevision, this.bodies.text(h));
  }

  /**
   * Offers the cache the text `raw` of version `v` after a miss: the bytes
   * are copied into the store only when the cache admits them (see
   * {@linkcode LruKCache.admits}).
   */
  #keep(v: ServedVersion, raw: string): void {
    // UTF-16 units: a lower bound of the UTF-8 bytes, exact for ASCII; offer checks the rest.
    if (this.cache.has(v) || !this.cache.admits(v, raw.length + ENTRY_BYTES)) return;
    const h = this.bodies.put(raw);
    if (!this.cache.offer(v, h)) this.bodies.free(h);
  }

  /** Reads the bodies of `versions` from cassemdb into `into` (and the cache, when admitted). */
  async #fetch(
    versions: readonly ServedVersion[],
    into: Map<string, LooseBody | ErrorBody>,
  ): Promise<void> {
    if (this.health.stale) {
      throw new UnavailableError(
        `Cannot read ${
          versions.map((v) => `${v.app}/${v.env}/${v.key}`).join(", ")
        } as cassemdb is out of reach and this agent does not hold ${
          versions.length === 1 ? "it" : "them"
        } in its cache${this.health.lastError ? `: ${this.health.lastError}` : ""}`,
        "keys",
      );
    }
    const waits: Promise<void>[] = [];
    const toRead: ServedVersion[] = [];
    for (const v of versions) {
      const running = this.#inflight.get(v.recordKey);
      if (running) {
        waits.push(running.then((b) => void (b && into.set(v.recordKey, b))));
      } else toRead.push(v);
    }
    if (toRead.length > 0) {
      const batch = this.#readBodies(toRead);
      for (const v of toRead) {
        const one = batch.then((m) => m.get(v.recordKey));
        this.#inflight.set(v.recordKey, one);
        waits.push(one.then((b) => void (b && into.set(v.recordKey, b))));
      }
      void batch.finally(() => {
        for (const v of toRead) this.#inflight.delete(v.recordKey);
      }).catch(() => {});
    }
    await Promise.all(waits);
    // Offered for every reader, also those that shared another's read: each access counts.
    for (const v of versions) {
      const body = into.get(v.recordKey);
      const meta = this.#metaOf(v.recordKey);
      if (!body || body.error !== undefined || meta?.modRevision !== body.modRevision) continue;
      this.#keep(meta, body.raw);
      const pin = this.#pins.get(elementId(meta.app, meta.env, meta.key));
      if (pin) setNewer(pin.bodies, meta.kind, body);
    }
  }

  async #readBodies(
    versions: readonly ServedVersion[],
  ): Promise<Map<string, LooseBody | ErrorBody>> {
    let entities: Entity[];
    try {
      ({ entities } = await this.#db.getMany(versions.map((v) => v.recordKey), {
        timeoutMs: this.#fetchTimeoutMs,
      }));
    } catch (e) {
      if (isUnavailable(e)) this.health.failed(e as Error);
      throw new UnavailableError(
        `Cannot read ${
          versions.map((v) => `${v.app}/${v.env}/${v.key}`).join(", ")
        } from cassemdb as it did not answer: ${(e as Error).message}`,
        "keys",
      );
    }
    const out = new Map<string, LooseBody | ErrorBody>();
    let newest = 0;
    for (const e of entities) {
      this.#readBytes += e.val.length;
      let d: DecodedServe | undefined;
      try {
        d = decodeServe(e);
      } catch {
        continue; // the watch logs it; here it is simply not served
      }
      if (d?.kind !== "version") continue;
      const body = "raw" in d.body
        ? new LooseBody(d.meta.modRevision, d.body.raw)
        : await this.#open(d.meta, d.body);
      out.set(e.key, body);
      newest = Math.max(newest, d.meta.modRevision);
    }
    // Newer than the watch has delivered: wait for the watch, so the metadata names it too.
    if (newest > this.state.revision) {
      await this.waitRevision(newest, "keys", this.#fetchTimeoutMs).catch(() => {});
    }
    return out;
  }

  /** The current metadata of a version record key (the layout is shared/config's). */
  #metaOf(recordKey: string): ServedVersion | undefined {
    const where = parseServeKey(recordKey);
    if (where?.kind !== "live" && where?.kind !== "gray") return undefined;
    return this.state.element(where.app, where.env, where.key)[where.kind];
  }

  /** Opens a sealed body (or says why it cannot be). */
  async #open(m: ServedVersion, body: SealedOrRaw): Promise<LooseBody | ErrorBody> {
    if ("raw" in body) return new LooseBody(m.modRevision, body.raw);
    if (!this.#keyring) {
      return {
        modRevision: m.modRevision,
        error:
          `Cannot serve secret element ${m.app}/${m.env}/${m.key} as this agent has no secret key: start it with CASSEM_SECRET_KEY or --secret-key-file`,
      };
    }
    try {
      const raw = await this.#keyring.open(body.sealed, secretAad(m.app, m.env, m.key, m.version));
      return new LooseBody(m.modRevision, raw);
    } catch (e) {
      if (e instanceof UnknownKeyError || e instanceof DecryptError) {
        return {
          modRevision: m.modRevision,
          error: `Cannot serve secret element ${m.app}/${m.env}/${m.key}: ${e.message}`,
        };
      }
      throw e;
    }
  }

  // ---- subscriptions ------------------------------------------------------------------------

  /**
   * Subscribes to `req.keys`: waits (bounded) until the agent has caught up
   * with `req.since`, loads the bodies of the watched elements, then — in
   * one turn — sends the initial state to `sink` (what changed for the
   * client after `since`, or everything), `ready`, and registers the
   * subscriber for every later change.
   * @throws the errors of {@linkcode authorize}, and {@linkcode UnavailableError}
   * when the agent cannot catch up or load the bodies.
   */
  subscribe(req: SubscribeRequest, sink: PushSink): Promise<Subscription> {
    return this.#subscribe(req, sink, true);
  }

  /**
   * {@linkcode subscribe}; the instance hooks hear of the subscriber only
   * when `registers` (streams: the agent registers their client). A long
   * poll does not: its client registers itself, and the agent must not
   * write over that record nor remove it when the poll ends.
   */
  async #subscribe(
    req: SubscribeRequest,
    sink: PushSink,
    registers: boolean,
  ): Promise<Subscription> {
    const { app, env, keys, client } = req;
    await this.authorize(app, env, client);
    if (req.since !== undefined && req.since > 0) {
      await this.waitRevision(req.since, req.sinceField ?? "revision");
    }
    await this.#pin(app, env, keys);
    if (this.#closed) {
      this.#unpin(app, env, keys);
      throw new UnavailableError("Cannot watch as the agent is stopping");
    }
    // From here on, synchronous: no change can slip between the initial state and registration.
    const sent = new Map<string, ReturnType<typeof sentOf>>();
    let full = false;
    if (req.since !== undefined && req.since > 0) {
      const before = new Map<string, ReturnType<typeof sentOf>>();
      for (const key of keys) {
        const pair = this.state.elementAt(app, env, key, req.since);
        if (!pair) {
          full = true;
          break;
        }
        before.set(key, sentOf(chooseVersion(pair, client)));
      }
      if (!full) { for (const [k, v] of before) sent.set(k, v); }
    }
    const sub: Subscriber = { app, env, keys, client, sent, sink };
    const memo: ItemMemo = new Map();
    const items: PushItem[] = [];
    for (const key of keys) {
      const v = chooseVersion(this.state.element(app, env, key), client);
      if (!differs(sent.get(key), v)) continue;
      const item = this.#itemFor(key, v, memo);
      if (!item) continue;
      sent.set(key, item.sent);
      items.push(item);
    }
    const revision = this.state.revision;
    if (items.length > 0) sink.push(revision, items);
    sink.ready(revision, full);
    this.subscribers.add(sub);
    if (registers) this.hooks.attached?.(sub);
    else this.#unregistered.add(sub);
    let closed = false;
    return {
      subscriber: sub,
      close: () => {
        if (closed) return;
        closed = true;
        if (!this.subscribers.delete(sub)) return;
        this.#unpin(app, env, keys);
        if (!this.#unregistered.delete(sub)) this.hooks.detached?.(sub);
      },
    };
  }

  /** Pins the elements of `keys` and loads the bodies it lacks. */
  async #pin(app: string, env: string, keys: readonly string[]): Promise<void> {
    const need: ServedVersion[] = [];
    for (const key of keys) {
      const id = elementId(app, env, key);
      let pin = this.#pins.get(id);
      if (!pin) this.#pins.set(id, pin = { refs: 0, app, env, key, bodies: new Map() });
      pin.refs++;
    }
    for (const key of keys) {
      const pair = this.state.element(app, env, key);
      for (const v of [pair.live, pair.gray]) {
        if (!v) continue;
        const pin = this.#pins.get(elementId(app, env, key))!;
        if (pin.bodies.get(v.kind)?.modRevision === v.modRevision) continue;
        const cached = this.cache.peek(v);
        if (cached !== undefined) {
          pin.bodies.set(v.kind, new LooseBody(v.modRevision, this.bodies.text(cached)));
        } else need.push(v);
      }
    }
    if (need.length === 0) return;
    try {
      const got = new Map<string, LooseBody | ErrorBody>();
      await this.#fetch(need, got);
      for (const v of need) {
        const b = got.get(v.recordKey);
        const pin = this.#pins.get(elementId(v.app, v.env, v.key));
        if (b && pin) setNewer(pin.bodies, v.kind, b);
      }
    } catch (e) {
      this.#unpin(app, env, keys);
      throw e;
    }
  }

  #unpin(app: string, env: string, keys: readonly string[]): void {
    for (const key of keys) {
      const id = elementId(app, env, key);
      const pin = this.#pins.get(id);
      if (pin && --pin.refs <= 0) this.#pins.delete(id);
    }
  }

  /**
   * Long poll: answers at once with what differs from `held` (key →
   * fingerprint the client holds, `null` for nothing), else with the first
   * change of a held key, else after `timeoutMs` with nothing — or at once
   * with nothing when `signal` aborts (the client went away), releasing its
   * subscriber. A poll never touches the client's instance record (the
   * client registers itself).
   */
  async poll(
    req: Omit<SubscribeRequest, "sinceField"> & { held: ReadonlyMap<string, string | null> },
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ReadResult> {
    const result = Promise.withResolvers<PushItem[]>();
    let armed = false;
    const pending: PushItem[] = [];
    const sink: PushSink = {
      push: (_rev, items) => {
        if (armed) result.resolve([...items]);
        else pending.push(...items);
      },
      ready: () => {},
      heartbeat: () => {},
      close: (_code, message) => result.reject(new UnavailableError(message)),
    };
    // The held fingerprints say what the client has: `since` only makes a lagging agent wait.
    if (req.since !== undefined && req.since > 0) await this.waitRevision(req.since, "revision");
    const sub = await this.#subscribe({ ...req, since: undefined }, sink, false);
    let onAbort: (() => void) | undefined;
    try {
      // The initial state: what differs from the held fingerprints.
      const diff = pending.filter((it) => {
        const held = req.held.get(it.key);
        return it.version === undefined
          ? held !== null && held !== undefined
          : held !== it.version.fingerprint;
      });
      if (diff.length === 0) {
        armed = true;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<PushItem[]>((
          r,
        ) => (timer = setTimeout(() => r([]), timeoutMs)));
        const aborted = new Promise<PushItem[]>((r) => {
          onAbort = () => r([]);
          if (signal?.aborted) onAbort();
          else signal?.addEventListener("abort", onAbort, { once: true });
        });
        const items = await Promise.race([result.promise, timeout, aborted]);
        clearTimeout(timer);
        diff.push(...items);
      }
      return new ReadResult(
        [],
        diff.flatMap((it) => (it.version ? [] : [it.key])),
        this.state.revision,
        this.health.stale,
        diff.flatMap((it) => (it.version ? [it.element] : [])),
      );
    } finally {
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      sub.close();
    }
  }

  /** Counters for logs and benchmarks. */
  stats(): Record<string, number> {
    const store = this.bodies.stats();
    return {
      revision: this.state.revision,
      elements: this.state.elementCount,
      subscribers: this.subscribers.size,
      pins: this.#pins.size,
      prepared: this.#prepared.size,
      readBytes: this.#readBytes,
      ...this.cache.stats(),
      storeBytes: store.reservedBytes,
      storeTextBytes: store.textBytes,
      storeDeflated: store.deflated,
    };
  }
}

/** What the cache's byte bound counts for an entry beside its text: slot arrays, eviction heap, handle. */
const ENTRY_BYTES = 128;

/** The record kinds of an element. */
const KINDS: readonly RecordKind[] = ["live", "gray"];

/** Keeps the newer of the body held under `key` and `body`. */
function setNewer<K, B extends { modRevision: number }>(
  bodies: Map<K, B>,
  key: K,
  body: B,
): void {
  const old = bodies.get(key);
  if (!old || old.modRevision <= body.modRevision) bodies.set(key, body);
}

/**
 * The revision `text` spells (digits, surrounding blanks allowed), or
 * undefined when it spells none. The one grammar of a revision given as
 * text: `Last-Event-ID`, `X-Cassem-Min-Revision`, a query.
 */
export function revisionOfText(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d{1,16}$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Checks a revision given as text (`Last-Event-ID`, `X-Cassem-Min-Revision`,
 * a query); absent or blank is undefined.
 * @throws {BadRequestError} naming `field` when it is not a revision.
 */
export function parseRevision(field: string, text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const n = revisionOfText(text);
  if (n === undefined) {
    throw new BadRequestError(
      field,
      `Cannot accept ${field} as it must be a revision (a non-negative integer): current value is ${
        JSON.stringify(text.trim().slice(0, 40))
      }`,
    );
  }
  return n;
}
