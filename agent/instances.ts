/**
 * Client instances: the records cassemadm lists to show who runs which
 * version. Each is `instanceKey(clientId)` with a TTL, so that an instance
 * that vanishes expires by itself.
 *
 * - Clients without a stream register, renew and unregister themselves
 *   ({@linkcode InstanceRegistry.register}, `renew`, `unregister`). Each
 *   needs the client secret of every env the record watches, before and
 *   after (the same check as reads): no one else can rewrite or remove the
 *   instance of a secret-protected env.
 * - Streaming clients (SSE, gRPC `Watch`) are registered by the agent while
 *   their stream is open: their record is written when the stream opens,
 *   rewritten every third of the TTL with what they were last sent, and
 *   removed when their last stream closes — unless another agent has written
 *   it since (the client moved there). Writes of many instances go out
 *   together, up to 64 per cassemdb transaction.
 *
 * @module
 */

import { z } from "zod";
import {
  CLIENT_ID_HEADER,
  decodeRecord,
  describeIssue,
  encodeRecord,
  instanceKey,
  InstanceRecord,
  parseInstanceKey,
  Running,
  Watching,
} from "../shared/config/mod.ts";
import { isCompareFailed, isNotFound, type KvClient, type TxnOp } from "../shared/db/mod.ts";
import type { Logger } from "../shared/log.ts";
import { BadRequestError, NotServedError, UnavailableError } from "./errors.ts";
import type { ClientIdentity } from "./identity.ts";
import type { Subscriber } from "./subscriptions.ts";

/** Most watch entries and running versions an instance record holds (the layout's bounds). */
const MAX_WATCHING = 20;
const MAX_RUNNING = 2_000;
/** Most sets per transaction (cassemdb's bound). */
const TXN_OPS = 64;

/** What a client reports of itself: what it watches and which versions it runs. */
export const InstanceReport = z.strictObject({
  watching: z.array(Watching).max(MAX_WATCHING).default([]),
  running: z.array(Running).max(MAX_RUNNING).default([]),
});
/** See {@linkcode InstanceReport}. */
export type InstanceReport = z.infer<typeof InstanceReport>;

/**
 * The report in a request body.
 * @throws {BadRequestError} naming the field when it does not match.
 */
export function parseReport(body: unknown): InstanceReport {
  const r = InstanceReport.safeParse(body ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join(".") : "body";
    throw new BadRequestError(
      field,
      `Cannot register the instance as ${describeIssue(r.error)}`,
    );
  }
  return r.data;
}

/** Options of {@linkcode InstanceRegistry}. */
export interface InstanceOptions {
  /** The cassemdb client. */
  db: KvClient;
  /** This agent's id (written in each record). */
  agentId: string;
  /** TTL of an instance record, in seconds (default 30). */
  ttlSeconds?: number;
  /** Logger. */
  log: Logger;
  /** Wall clock in ms for the record times (default `Date.now`). */
  clock?: () => number;
  /** Delay before writing a stream's record once it opened, in ms (default 100). */
  flushDelayMs?: number;
  /**
   * Checks that `client` may read `app`/`env` (the core's `authorize`);
   * absent: every client may act on every instance.
   * @throws the read errors (missing or wrong secret, env not served…).
   */
  authorize?: (client: ClientIdentity, app: string, env: string) => Promise<void>;
}

/** A streaming client, as the registry tracks it. */
interface Streamed {
  readonly subs: Set<Subscriber>;
  registeredAt: string;
}

/** Reads and writes instance records (see the module doc). */
export class InstanceRegistry {
  /** TTL of the records, in seconds. */
  readonly ttlSeconds: number;
  readonly #db: KvClient;
  readonly #agentId: string;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #flushDelayMs: number;
  readonly #authorize: InstanceOptions["authorize"];
  readonly #streamed = new Map<string, Streamed>();
  readonly #dirty = new Set<string>();
  /** The mod revision of the record this agent last wrote for each streaming client. */
  readonly #written = new Map<string, number>();
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /** A registry; streamed records are renewed every third of the TTL. */
  constructor(options: InstanceOptions) {
    this.#db = options.db;
    this.#agentId = options.agentId;
    this.ttlSeconds = options.ttlSeconds ?? 30;
    this.#log = options.log;
    this.#clock = options.clock ?? Date.now;
    this.#flushDelayMs = options.flushDelayMs ?? 100;
    this.#authorize = options.authorize;
    this.#renewTimer = setInterval(() => {
      for (const id of this.#streamed.keys()) this.#dirty.add(id);
      void this.#flush();
    }, Math.max(200, (this.ttlSeconds * 1000) / 3));
  }

  #now(): string {
    return new Date(this.#clock()).toISOString();
  }

  #record(
    client: ClientIdentity & { clientId: string },
    report: InstanceReport,
    registeredAt: string,
  ) {
    return {
      clientId: client.clientId,
      agentId: this.#agentId,
      clientIp: client.ip.slice(0, 64),
      labels: { ...client.labels },
      watching: report.watching,
      running: report.running,
      registeredAt,
      renewedAt: this.#now(),
    } satisfies InstanceRecord;
  }

  /**
   * Registers (or re-registers) the instance of `client` with `report`;
   * answers the record written.
   * @throws {BadRequestError} when the client names no id.
   * @throws the errors of `authorize` for an env of `report` or of the record it replaces.
   * @throws {UnavailableError} when cassemdb does not take the write.
   */
  async register(client: ClientIdentity, report: InstanceReport): Promise<InstanceRecord> {
    const named = requireId(client);
    await this.#check(named, report, await this.#stored(named.clientId, "register"));
    const rec = this.#record(named, report, this.#now());
    await this.#write(named.clientId, rec);
    return rec;
  }

  /**
   * Renews the instance of `client`: with a report, rewrites it (a renew
   * through another agent than the one it registered with works too);
   * without one, extends the record as it stands.
   * @throws {NotServedError} when there is no record to extend (it expired: register again).
   * @throws the errors of `authorize` for an env of `report` or of the record.
   */
  async renew(client: ClientIdentity, report: InstanceReport | undefined): Promise<InstanceRecord> {
    const named = requireId(client);
    const old = await this.#stored(named.clientId, "renew");
    await this.#check(named, report, old);
    if (!old && !report) {
      throw new NotServedError(
        "clientId",
        named.clientId,
        "a registered instance (it expired or was never registered: register it again) with client id",
      );
    }
    const rec = this.#record(
      named,
      report ?? { watching: old!.watching, running: old!.running },
      old?.registeredAt ?? this.#now(),
    );
    await this.#write(named.clientId, rec);
    return rec;
  }

  /**
   * Removes the instance record of `client`; answers whether there was one.
   * @throws the errors of `authorize` for an env the record watches.
   */
  async unregister(client: ClientIdentity): Promise<boolean> {
    const named = requireId(client);
    await this.#check(named, undefined, await this.#stored(named.clientId, "unregister"));
    return await this.#unset(named.clientId);
  }

  /** The stored record of `clientId`, if any (`what`: the action, for errors). */
  async #stored(clientId: string, what: string): Promise<InstanceRecord | undefined> {
    const key = instanceKey(clientId);
    try {
      const { entity } = await this.#db.get(key, { timeoutMs: 2_000 });
      return entity ? decodeRecord(InstanceRecord, key, entity.val) : undefined;
    } catch (e) {
      throw unavailable(`${what} instance ${clientId}`, e);
    }
  }

  /**
   * Checks that `client` may read every env `report` and the stored record
   * `old` watch. An env of `old` no longer served is skipped: its record
   * must stay removable.
   */
  async #check(
    client: ClientIdentity,
    report: InstanceReport | undefined,
    old: InstanceRecord | undefined,
  ): Promise<void> {
    const authorize = this.#authorize;
    if (!authorize) return;
    for (const w of report?.watching ?? []) await authorize(client, w.app, w.env);
    for (const w of old?.watching ?? []) {
      try {
        await authorize(client, w.app, w.env);
      } catch (e) {
        if (!(e instanceof NotServedError)) throw e;
      }
    }
  }

  async #unset(clientId: string): Promise<boolean> {
    try {
      await this.#db.unset(instanceKey(clientId), { timeoutMs: 2_000 });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw unavailable(`unregister instance ${clientId}`, e);
    }
  }

  async #write(clientId: string, rec: InstanceRecord): Promise<void> {
    try {
      await this.#db.set(instanceKey(clientId), encodeRecord(InstanceRecord, rec), {
        ttl: this.ttlSeconds,
        overwrite: true,
        timeoutMs: 2_000,
      });
    } catch (e) {
      throw unavailable(`register instance ${clientId}`, e);
    }
  }

  // ---- streaming clients ------------------------------------------------------------------

  /** A stream of `s.client` opened (called by the core). */
  attached(s: Subscriber): void {
    const id = s.client.clientId;
    if (id === undefined || this.#closed) return;
    let st = this.#streamed.get(id);
    if (!st) this.#streamed.set(id, st = { subs: new Set(), registeredAt: this.#now() });
    st.subs.add(s);
    this.#dirty.add(id);
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flush();
    }, this.#flushDelayMs);
  }

  /** A stream of `s.client` closed: the last one removes the record. */
  detached(s: Subscriber): void {
    const id = s.client.clientId;
    if (id === undefined) return;
    const st = this.#streamed.get(id);
    if (!st) return;
    st.subs.delete(s);
    if (st.subs.size > 0) {
      this.#dirty.add(id);
      return;
    }
    this.#streamed.delete(id);
    this.#dirty.delete(id);
    const written = this.#written.get(id);
    this.#written.delete(id);
    if (this.#closed || written === undefined) return;
    // Only the record this agent wrote: a client that moved to another agent has a newer one.
    void this.#db.unset(instanceKey(id), { condition: { modRevision: written }, timeoutMs: 2_000 })
      .catch((e) => {
        if (isNotFound(e) || isCompareFailed(e)) return;
        this.#log.warn("cannot remove the record of a closed stream: it expires by its TTL", {
          clientId: id,
          error: (e as Error).message,
        });
      });
  }

  /** The record of a streaming client from what its streams watch and were sent. */
  #streamedRecord(id: string, st: Streamed): InstanceRecord {
    const first = st.subs.values().next().value!;
    const watching = new Map<string, { app: string; env: string; keys: Set<string> }>();
    const running: InstanceReport["running"] = [];
    for (const s of st.subs) {
      const w = watching.get(`${s.app}/${s.env}`) ??
        { app: s.app, env: s.env, keys: new Set<string>() };
      watching.set(`${s.app}/${s.env}`, w);
      for (const k of s.keys) w.keys.add(k);
      for (const [key, sent] of s.sent) {
        if (sent && running.length < MAX_RUNNING) {
          running.push({
            app: s.app,
            env: s.env,
            key,
            version: sent.version,
            fingerprint: sent.fingerprint,
            gray: sent.kind === "gray",
          });
        }
      }
    }
    const report = {
      watching: [...watching.values()].slice(0, MAX_WATCHING).map((w) => ({
        app: w.app,
        env: w.env,
        keys: [...w.keys].slice(0, 100),
      })),
      running,
    };
    return this.#record({ ...first.client, clientId: id }, report, st.registeredAt);
  }

  /** Writes the records of the dirty streaming clients, up to 64 per transaction. */
  async #flush(): Promise<void> {
    if (this.#closed || this.#dirty.size === 0) return;
    const ops: TxnOp[] = [];
    for (const id of this.#dirty) {
      const st = this.#streamed.get(id);
      if (!st || st.subs.size === 0) continue;
      ops.push({
        op: "set",
        key: instanceKey(id),
        val: encodeRecord(InstanceRecord, this.#streamedRecord(id, st)),
        ttl: this.ttlSeconds,
        overwrite: true,
      });
    }
    this.#dirty.clear();
    for (let i = 0; i < ops.length; i += TXN_OPS) {
      const batch = ops.slice(i, i + TXN_OPS);
      try {
        const r = await this.#db.commitTxn({ compares: [], ops: batch }, { timeoutMs: 5_000 });
        for (const e of r.entities) {
          const id = parseInstanceKey(e.key);
          if (id !== undefined && this.#streamed.has(id)) this.#written.set(id, e.modRevision);
        }
      } catch (e) {
        this.#log.warn(
          "cannot write the records of streaming clients: retrying at the next renew",
          {
            count: batch.length,
            error: (e as Error).message,
          },
        );
      }
    }
  }

  /** Stops renewing; with `unregister`, removes the records of the streaming clients (best effort). */
  async close(options: { unregister?: boolean } = {}): Promise<void> {
    this.#closed = true;
    clearInterval(this.#renewTimer);
    clearTimeout(this.#flushTimer);
    const ids = [...this.#streamed.keys()];
    this.#streamed.clear();
    if (options.unregister) {
      await Promise.all(ids.map((id) => this.#unset(id).catch(() => false)));
    }
  }
}

function requireId(client: ClientIdentity): ClientIdentity & { clientId: string } {
  if (client.clientId === undefined) {
    throw new BadRequestError(
      CLIENT_ID_HEADER,
      `Cannot register an instance as ${CLIENT_ID_HEADER} must name the client: current request has none`,
    );
  }
  return client as ClientIdentity & { clientId: string };
}

function unavailable(what: string, e: unknown): UnavailableError {
  return new UnavailableError(
    `Cannot ${what} as cassemdb did not take it: ${e instanceof Error ? e.message : String(e)}`,
  );
}
