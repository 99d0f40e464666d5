/**
 * The instance record of a client that only reads (a watching client is
 * registered by the agent while its stream is open): `POST /v1/instances`
 * once, then `PUT /v1/instances/{clientId}` with the current body every
 * `renewAfterSeconds`, registering again when the agent answers that the
 * record expired (404), and `DELETE` at the end.
 *
 * @module
 */

import { type AgentPool, callAgents, type FetchLike } from "./agents.ts";
import { AgentAnswerError, CassemError, ProtocolError } from "./errors.ts";

/** The agent's answer to a registration or renewal. */
export interface InstanceAnswer {
  /** The instance record as stored (shared/config InstanceRecord). */
  readonly instance: Record<string, unknown>;
  /** How long the record lives unless renewed, in seconds. */
  readonly ttlSeconds: number;
  /** When to renew, in seconds. */
  readonly renewAfterSeconds: number;
}

/** What {@linkcode Instances} needs from its client. */
export interface InstanceDeps {
  readonly pool: AgentPool;
  readonly fetch: FetchLike;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly clientId: string | undefined;
  /** The identity headers. */
  headers(): Record<string, string>;
  /** The current `{ watching, running }` body. */
  body(): unknown;
  /** Hears renewal failures (the timer goes on). */
  onError(error: CassemError): void;
}

function answerOf(url: string, text: string): InstanceAnswer {
  const a = JSON.parse(text) as Partial<InstanceAnswer>;
  if (
    typeof a?.instance !== "object" || !Number.isFinite(a.ttlSeconds) ||
    !Number.isFinite(a.renewAfterSeconds) || (a.renewAfterSeconds ?? 0) <= 0
  ) {
    throw new ProtocolError(
      `Cannot use the instance answer of ${url} as it must have instance, ttlSeconds and renewAfterSeconds: current value is ${
        text.slice(0, 200)
      }`,
    );
  }
  return a as InstanceAnswer;
}

/** Registration and renewal of one client's instance record. */
export class Instances {
  readonly #deps: InstanceDeps;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #registered = false;
  #stopped = false;

  /** Instances of the client that `deps` describes. */
  constructor(deps: InstanceDeps) {
    this.#deps = deps;
  }

  /** Whether a registration is being renewed. */
  get registered(): boolean {
    return this.#registered;
  }

  #id(): string {
    const id = this.#deps.clientId;
    if (id === undefined) {
      throw new TypeError(
        "Cannot register an instance as the client has no clientId: current value is undefined",
      );
    }
    return id;
  }

  async #call(method: "POST" | "PUT" | "DELETE", path: string, body?: unknown) {
    return await callAgents(this.#deps.pool, this.#deps.fetch, {
      method,
      path,
      headers: () => this.#deps.headers(),
      body,
      timeoutMs: this.#deps.timeoutMs,
      signal: this.#deps.signal,
      what: `${method} ${path}`,
    });
  }

  /** Registers (POST) and starts renewing; answers the agent's answer. */
  async register(): Promise<InstanceAnswer> {
    this.#id();
    this.#stopped = false;
    const { url, text } = await this.#call("POST", "/v1/instances", this.#deps.body());
    const answer = answerOf(url, text);
    this.#registered = true;
    this.#schedule(answer.renewAfterSeconds);
    return answer;
  }

  #schedule(seconds: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#renew(), seconds * 1_000);
  }

  async #renew(): Promise<void> {
    const path = `/v1/instances/${encodeURIComponent(this.#id())}`;
    try {
      const { url, text } = await this.#call("PUT", path, this.#deps.body());
      this.#schedule(answerOf(url, text).renewAfterSeconds);
    } catch (e) {
      if (this.#stopped) return;
      let failure = e;
      if (e instanceof AgentAnswerError && e.code === "NOT_FOUND") {
        // The record expired (the agent answered too late, or cassemdb lost it): register again.
        try {
          await this.register();
          return;
        } catch (again) {
          failure = again;
        }
      }
      this.#deps.onError(
        failure instanceof CassemError ? failure : new CassemError(
          "UNAVAILABLE",
          `Cannot renew the instance as an unexpected error occurred: ${String(failure)}`,
        ),
      );
      this.#schedule(5);
    }
  }

  /** Stops renewing (the record expires by its TTL). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Stops renewing and removes the record; answers whether the agent removed one. */
  async unregister(): Promise<boolean> {
    this.stop();
    if (!this.#registered) return false;
    this.#registered = false;
    const { text } = await this.#call(
      "DELETE",
      `/v1/instances/${encodeURIComponent(this.#id())}`,
    );
    return (JSON.parse(text) as { removed?: boolean }).removed === true;
  }
}
