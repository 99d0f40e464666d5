/**
 * The agent's own record (`agentKey(agentId)`, with a TTL), so that
 * cassemadm lists the running agents: written at start, renewed every third
 * of the TTL, removed when the agent stops. A write that fails is retried at
 * the next renewal; the record simply expires when the agent dies.
 *
 * @module
 */

import { agentKey, AgentRecord, encodeRecord } from "../shared/config/mod.ts";
import type { KvClient } from "../shared/db/mod.ts";
import type { Logger } from "../shared/log.ts";

/** Options of {@linkcode SelfRecord}. */
export interface SelfRecordOptions {
  /** The cassemdb client. */
  db: KvClient;
  /** This agent's id. */
  agentId: string;
  /** Its HTTP address (host:port). */
  addr: string;
  /** Its gRPC address, or null. */
  grpcAddr: string | null;
  /** TTL in seconds (default 15). */
  ttlSeconds?: number;
  /** Free-form facts shown by adm (version, cache bounds). */
  annotations?: Record<string, string>;
  /** Logger. */
  log: Logger;
  /** Wall clock in ms (default `Date.now`). */
  clock?: () => number;
}

/** Keeps the agent's record alive (see the module doc). */
export class SelfRecord {
  readonly #o: SelfRecordOptions;
  readonly #startedAt: string;
  #timer: ReturnType<typeof setInterval> | undefined;
  #failing = false;

  /** A record that is written from {@linkcode start}. */
  constructor(options: SelfRecordOptions) {
    this.#o = options;
    this.#startedAt = new Date((options.clock ?? Date.now)()).toISOString();
  }

  /** Writes the record now and every third of the TTL. */
  start(): void {
    const ttl = this.#o.ttlSeconds ?? 15;
    void this.#write();
    this.#timer = setInterval(() => void this.#write(), Math.max(200, (ttl * 1000) / 3));
  }

  async #write(): Promise<void> {
    const o = this.#o;
    const rec: AgentRecord = {
      agentId: o.agentId,
      addr: o.addr,
      grpcAddr: o.grpcAddr,
      annotations: o.annotations ?? {},
      startedAt: this.#startedAt,
      renewedAt: new Date((o.clock ?? Date.now)()).toISOString(),
    };
    try {
      await o.db.set(agentKey(o.agentId), encodeRecord(AgentRecord, rec), {
        ttl: o.ttlSeconds ?? 15,
        overwrite: true,
        timeoutMs: 3_000,
      });
      if (this.#failing) o.log.info("registered this agent in cassemdb again", { id: o.agentId });
      this.#failing = false;
    } catch (e) {
      if (!this.#failing) {
        o.log.warn("cannot register this agent in cassemdb: retrying", {
          id: o.agentId,
          error: (e as Error).message,
        });
      }
      this.#failing = true;
    }
  }

  /** Stops renewing and removes the record (best effort, bounded by `timeoutMs`). */
  async stop(timeoutMs = 1_000): Promise<void> {
    clearInterval(this.#timer);
    await this.#o.db.unset(agentKey(this.#o.agentId), { timeoutMs }).catch(() => {});
  }
}
