/**
 * Clients of a real agent for the multi-process tests: an SSE watcher that
 * reconnects to a list of agents with `Last-Event-ID` (what the SDK will
 * do), a gRPC client of `proto/agent.proto`, and a long-poll loop.
 *
 * @module
 */

import { SseReader } from "../../agent/_sse_reader.ts";
import type { ElementJson } from "../../agent/mod.ts";
import { CHANNEL_OPTIONS, grpc, loadProto, serviceOf } from "../../shared/grpc.ts";
import { sleep } from "./_agents.ts";

/** What a watcher saw of one key, in order. */
export type Seen = Map<string, { version: number; revision: number; raw: string }[]>;

/**
 * An SSE watcher that follows `urls()` (tried in order from the current
 * one) and resumes with the last event id after any failure.
 */
export class SseWatcher {
  readonly seen: Seen = new Map();
  readonly missing: string[] = [];
  /** Every (re)connection: the agent URL and the Last-Event-ID sent. */
  readonly connects: { url: string; lastEventId: string }[] = [];
  lastEventId = "";
  /** Set when a stream's `ready` arrived (the initial state is in). */
  readyCount = 0;
  /** Resumes the agent could not rebuild (`ready.full`). */
  fullResumes = 0;
  #stop = false;
  #reader: SseReader | undefined;
  readonly done: Promise<void>;

  constructor(
    urls: () => string[],
    path: string,
    headers: Record<string, string> = {},
  ) {
    this.done = this.#run(urls, path, headers);
  }

  async #run(urls: () => string[], path: string, headers: Record<string, string>) {
    let i = 0;
    while (!this.#stop) {
      const list = urls();
      const url = list[i % list.length]!;
      try {
        const h: Record<string, string> = { accept: "text/event-stream", ...headers };
        if (this.lastEventId) h["last-event-id"] = this.lastEventId;
        this.connects.push({ url, lastEventId: this.lastEventId });
        const r = await fetch(`${url}${path}`, { headers: h });
        if (r.status !== 200) throw new Error(`${r.status} ${await r.text()}`);
        const reader = this.#reader = new SseReader(r.body!);
        for (;;) {
          const ev = await reader.next(60_000);
          if (!ev) break;
          if (ev.event === "message") {
            const el = JSON.parse(ev.data) as ElementJson;
            const list = this.seen.get(el.key) ?? [];
            list.push({ version: el.version, revision: el.revision, raw: el.raw });
            this.seen.set(el.key, list);
          } else if (ev.event === "missing") this.missing.push(JSON.parse(ev.data).key);
          else if (ev.event === "ready") {
            this.readyCount++;
            if (JSON.parse(ev.data).full) this.fullResumes++;
          }
          // Only an event's own id counts: it is the revision the client now holds whole.
          this.lastEventId = reader.lastEventId;
        }
      } catch {
        if (this.#stop) return;
      }
      if (this.#stop) return;
      i++; // the next agent
      await sleep(50);
    }
  }

  /** The last version seen of `key`. */
  last(key: string): number | undefined {
    return this.seen.get(key)?.at(-1)?.version;
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    this.#stop = true;
    await this.#reader?.cancel();
    await this.done;
  }
}

// deno-lint-ignore no-explicit-any
type Any = any;

/** A gRPC client of the agent's service. */
export class AgentGrpc {
  readonly client: Any;

  constructor(addr: string) {
    const Svc = serviceOf(loadProto("agent.proto", "cassemagent"), "Agent");
    this.client = new Svc(addr, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  /** Calls unary `method`; rejects with the grpc-js error. */
  call(method: string, req: unknown, md: Record<string, string> = {}): Promise<Any> {
    const meta = new grpc.Metadata();
    for (const [k, v] of Object.entries(md)) meta.set(k, v);
    return new Promise((resolve, reject) =>
      this.client[method](
        req,
        meta,
        { deadline: Date.now() + 10_000 },
        (e: Error, r: Any) => e ? reject(e) : resolve(r),
      )
    );
  }

  /** Opens a Watch; `onMessage` gets each WatchResp. */
  watch(req: unknown, md: Record<string, string>, onMessage: (m: Any) => void): {
    cancel(): void;
    ended: Promise<Any>;
    /** The grpc-js call (pause / resume it to stop and restart reading). */
    call: Any;
  } {
    const meta = new grpc.Metadata();
    for (const [k, v] of Object.entries(md)) meta.set(k, v);
    const call = this.client.Watch(req, meta);
    const ended = new Promise<Any>((resolve) => {
      call.on("data", onMessage);
      call.on("error", (e: Any) => resolve(e));
      call.on("end", () => resolve(undefined));
    });
    return { cancel: () => call.cancel(), ended, call };
  }

  close(): void {
    this.client.close();
  }
}
