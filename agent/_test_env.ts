/**
 * For the agent's in-memory tests: a `MemoryDb`, a publisher writing serve
 * records as cassemadm does, and agents on that db answering
 * `app.request` (no sockets).
 *
 * @module
 */

import { MemoryDb } from "../shared/db/mod.ts";
import { createLogger } from "../shared/log.ts";
import { type Agent, type AgentDeps, createAgent } from "./app.ts";
import { ServePublisher } from "./_publisher.ts";
import { SseReader } from "./_sse_reader.ts";

/** A db, a publisher and the agents made on them; `close` ends all. */
export class TestEnv {
  /** Manual wall clock for instance TTLs (ms). */
  now = Date.parse("2026-01-01T00:00:00Z");
  readonly db: MemoryDb;
  readonly pub: ServePublisher;
  readonly agents: Agent[] = [];
  readonly #readers: SseReader[] = [];

  /** An env on a fresh db. */
  constructor() {
    this.db = new MemoryDb({ clock: () => this.now });
    this.pub = new ServePublisher(this.db, () => this.now);
  }

  /** A started agent on the db, loaded. */
  async agent(deps: Partial<AgentDeps> = {}): Promise<Agent> {
    const a = createAgent({
      db: this.db,
      agentId: `agent-${this.agents.length + 1}`,
      log: createLogger(`agent-${this.agents.length + 1}`, "error"),
      probeMs: 20,
      wallClock: () => this.now,
      ...deps,
    });
    this.agents.push(a);
    await a.ready;
    return a;
  }

  /** Opens an SSE watch; answers the reader (the response must be 200). */
  async watch(
    agent: Agent,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<SseReader> {
    const r = await agent.request(path, {
      headers: { accept: "text/event-stream", ...headers },
    });
    if (r.status !== 200) throw new Error(`watch ${path}: ${r.status} ${await r.text()}`);
    const reader = new SseReader(r.body!);
    this.#readers.push(reader);
    return reader;
  }

  /** Ends every agent, reader and the db. */
  async close(): Promise<void> {
    for (const r of this.#readers) await r.cancel();
    for (const a of this.agents) await a.close();
    this.db.close();
  }
}

/** The JSON of a response, with its status. */
export async function jsonOf(
  r: Response,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return { status: r.status, body: await r.json() };
}
