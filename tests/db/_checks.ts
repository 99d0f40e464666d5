/**
 * Shared pieces of the multi-process cassemdb tests: concurrent writers that
 * record every outcome, a watcher that records every change, and the checks
 * that the acknowledged writes survived on every node and reached the
 * watcher exactly once.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  DbError,
  type Entity,
  isCompacted,
  type KvClient,
  type StatusName,
  type WatchEvent,
} from "../../shared/db/mod.ts";
import { type DbProc, SafetyViolation, type TestCluster } from "./_cluster.ts";

/** Runs `fn`; an assertion that fails in it is a {@linkcode SafetyViolation}. */
export async function safety<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof assert.AssertionError) throw new SafetyViolation(e.message, { cause: e });
    throw e;
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The outcome of one write. */
export type Outcome =
  | { ok: true; revision: number; at: number }
  | { ok: false; code: StatusName; message: string; ambiguous: boolean; at: number };

/**
 * A write that failed: `ambiguous` when the client says it may have applied
 * (`DbError.mayHaveApplied`); the checks hold every other failure to "not
 * applied anywhere".
 */
export function failure(e: unknown): Extract<Outcome, { ok: false }> {
  if (!(e instanceof DbError)) throw e;
  return {
    ok: false,
    code: e.code,
    message: e.message,
    ambiguous: e.mayHaveApplied,
    at: Date.now(),
  };
}

/** The value written to key number `i`. */
export function valueOf(i: number): string {
  return `v${i}`;
}

/** Options of {@linkcode runWriters}. */
export interface WriterOptions {
  /** Key of write number `i`. */
  key: (i: number) => string;
  /** Writes to attempt at most. */
  count: number;
  /** Stop claiming new writes after this moment (ms since the epoch). */
  deadline: number;
  /** One client per concurrent writer. */
  clients: KvClient[];
  /** Stop claiming new writes once this returns true. */
  stop?: () => boolean;
  /** Awaited before claiming write `i` (lets a test hold writes back until a phase ends). */
  gate?: (i: number) => Promise<void> | void;
}

/** What {@linkcode runWriters} records. */
export interface WriteLog {
  outcomes: Map<number, Outcome>;
  acked(): number;
}

/**
 * Runs one writer per client; each claims the next write number and sets
 * `key(i)` to `valueOf(i)` with overwrite, recording the outcome. Bounded by
 * `count` and `deadline`. Returns the log at once and a promise of the end.
 */
export function runWriters(opts: WriterOptions): { log: WriteLog; done: Promise<void> } {
  const outcomes = new Map<number, Outcome>();
  let acked = 0;
  let next = 0;
  const log: WriteLog = { outcomes, acked: () => acked };
  const worker = async (client: KvClient) => {
    while (next < opts.count && Date.now() < opts.deadline && !opts.stop?.()) {
      const i = next++;
      await opts.gate?.(i);
      try {
        const r = await client.set(opts.key(i), enc.encode(valueOf(i)), { overwrite: true });
        assert.equal(r.entity.modRevision, r.revision, "SetKV's entity carries its revision");
        outcomes.set(i, { ok: true, revision: r.revision, at: Date.now() });
        acked++;
      } catch (e) {
        outcomes.set(i, failure(e));
      }
    }
  };
  return { log, done: Promise.all(opts.clients.map(worker)).then(() => {}) };
}

/**
 * The longest time between two consecutive acknowledgements made in
 * `[from, to]`, and when it started.
 */
export function longestGap(
  log: WriteLog,
  from = 0,
  to = Infinity,
): { gapMs: number; after: number } {
  const times = [...log.outcomes.values()].filter((o) => o.ok && o.at >= from && o.at <= to)
    .map((o) => o.at).sort((a, b) => a - b);
  let gapMs = 0;
  let after = 0;
  for (let i = 1; i < times.length; i++) {
    const g = times[i]! - times[i - 1]!;
    if (g > gapMs) {
      gapMs = g;
      after = times[i - 1]!;
    }
  }
  return { gapMs, after };
}

/** Every change a watch delivered, in delivery order. */
export interface WatchLog {
  events: WatchEvent[];
  /** When each event arrived (ms since the epoch), index for index. */
  arrivedAt: number[];
  retries: string[];
  compacted: number[];
}

/** Starts a watch that records everything it receives. */
export function recordWatch(
  client: KvClient,
  req: { keys: string[]; prefix?: boolean; startRevision?: number },
): { log: WatchLog; revision: () => number; close: () => void } {
  const log: WatchLog = { events: [], arrivedAt: [], retries: [], compacted: [] };
  const w = client.watch(req, {
    onChanges: (ev) => {
      log.events.push(ev);
      log.arrivedAt.push(Date.now());
    },
    onRetry: (e) => log.retries.push(e.message),
    onError: (e) => {
      if (isCompacted(e)) log.compacted.push(e.compactRevision ?? 0);
    },
  });
  return { log, revision: () => w.revision, close: () => w.close() };
}

/** Every entity under `prefix` on the node behind `client`, paging with serializable reads. */
export async function listAll(client: KvClient, prefix: string): Promise<Map<string, Entity>> {
  const out = new Map<string, Entity>();
  let seek = "";
  for (let page = 0; page < 10_000; page++) {
    const r = await client.range(prefix, { seek, limit: 100, serializable: true });
    for (const e of r.entities) out.set(e.key, e);
    if (!r.hasMore) return out;
    seek = r.nextSeekKey;
  }
  throw new Error(`Cannot list ${prefix}: more than 10,000 pages`);
}

/** A summary of a write log for the test output. */
export function describeWrites(log: WriteLog): string {
  const fails = [...log.outcomes].filter(([, o]) => !o.ok) as [
    number,
    Extract<Outcome, { ok: false }>,
  ][];
  const ambiguous = fails.filter(([, o]) => o.ambiguous);
  const lines = [
    `${log.outcomes.size} writes: ${log.acked()} acknowledged, ${ambiguous.length} ambiguous, ${
      fails.length - ambiguous.length
    } certainly not applied`,
  ];
  for (const [i, o] of fails) {
    lines.push(
      `  write ${i}: ${o.ambiguous ? "AMBIGUOUS" : "not applied"} ${o.code}: ${o.message}`,
    );
  }
  return lines.join("\n");
}

/**
 * Checks, on each of `nodes` separately (serializable reads), that every
 * acknowledged write is there with its value and revision and that no write
 * the server refused is; returns which ambiguous writes turned out applied.
 */
export function checkDurable(
  c: TestCluster,
  nodes: DbProc[],
  prefix: string,
  key: (i: number) => string,
  log: WriteLog,
): Promise<{ appliedAmbiguous: number[]; lostAmbiguous: number[] }> {
  return safety(() => durable(c, nodes, prefix, key, log));
}

async function durable(
  c: TestCluster,
  nodes: DbProc[],
  prefix: string,
  key: (i: number) => string,
  log: WriteLog,
): Promise<{ appliedAmbiguous: number[]; lostAmbiguous: number[] }> {
  const appliedAmbiguous = new Set<number>();
  const lostAmbiguous = new Set<number>();
  let reference: Map<string, Entity> | undefined;
  for (const p of nodes) {
    const client = c.client({ endpoints: [p.clientAddr] });
    const got = await listAll(client, prefix);
    for (const [i, o] of log.outcomes) {
      const e = got.get(key(i));
      if (o.ok) {
        assert.ok(
          e,
          `${p.name} lost acknowledged write ${i} (${key(i)} at revision ${o.revision})`,
        );
        assert.equal(dec.decode(e.val), valueOf(i), `${p.name}: value of ${key(i)}`);
        assert.equal(e.modRevision, o.revision, `${p.name}: mod_revision of ${key(i)}`);
      } else if (!o.ambiguous) {
        assert.equal(e, undefined, `${p.name} holds ${key(i)}, whose write was refused`);
      } else if (e) {
        assert.equal(dec.decode(e.val), valueOf(i), `${p.name}: value of ${key(i)}`);
        appliedAmbiguous.add(i);
      } else {
        lostAmbiguous.add(i);
      }
    }
    // Nothing else, and the same state on every node.
    assert.equal(
      [...got.keys()].filter((k) => !log.outcomes.has(indexOfKey(k, key, log))).length,
      0,
      `${p.name} holds keys nobody wrote`,
    );
    if (reference) {
      assert.deepEqual(
        [...got.values()].map(brief),
        [...reference.values()].map(brief),
        `${p.name} differs from ${nodes[0]!.name}`,
      );
    }
    reference ??= got;
  }
  const both = [...appliedAmbiguous].filter((i) => lostAmbiguous.has(i));
  assert.deepEqual(both, [], "an ambiguous write is on some nodes but not others");
  return { appliedAmbiguous: [...appliedAmbiguous], lostAmbiguous: [...lostAmbiguous] };
}

function brief(e: Entity) {
  return { key: e.key, rev: e.modRevision, val: dec.decode(e.val) };
}

const keyIndex = new WeakMap<WriteLog, Map<string, number>>();
function indexOfKey(k: string, key: (i: number) => string, log: WriteLog): number {
  let m = keyIndex.get(log);
  if (!m) {
    m = new Map([...log.outcomes.keys()].map((i) => [key(i), i]));
    keyIndex.set(log, m);
  }
  return m.get(k) ?? -1;
}

/**
 * Checks a watch log against the writes: revisions strictly increase, every
 * write that is in the final state (`present`) was seen as exactly one SET
 * at its acknowledged revision with its value, and no other key was set.
 */
export function checkWatch(
  wlog: WatchLog,
  log: WriteLog,
  key: (i: number) => string,
  present: Set<number>,
): Promise<void> {
  return safety(() => watchMatches(wlog, log, key, present));
}

function watchMatches(
  wlog: WatchLog,
  log: WriteLog,
  key: (i: number) => string,
  present: Set<number>,
): void {
  let last = 0;
  const seen = new Map<string, { revision: number; val: string; count: number; all: number[] }>();
  for (const ev of wlog.events) {
    assert.ok(ev.revision > last, `watch revisions must increase: ${ev.revision} after ${last}`);
    last = ev.revision;
    for (const ch of ev.changes) {
      assert.equal(ch.revision, ev.revision, "a change carries its event's revision");
      assert.equal(ch.op, "SET", `unexpected ${ch.op} of ${ch.key}`);
      const s = seen.get(ch.key);
      if (s) {
        s.count++;
        s.all.push(ch.revision);
      } else {
        seen.set(ch.key, {
          revision: ch.revision,
          val: dec.decode(ch.current?.val ?? new Uint8Array()),
          count: 1,
          all: [ch.revision],
        });
      }
    }
  }
  for (const [i, o] of log.outcomes) {
    const s = seen.get(key(i));
    if (present.has(i)) {
      assert.ok(s, `the watcher never saw write ${i} (${key(i)})`);
      assert.equal(
        s.count,
        1,
        `the watcher saw ${key(i)} set ${s.count} times, at revisions ${s.all.join(", ")}: ${
          o.ok ? `acknowledged at ${o.revision}` : `failed: ${o.message}`
        }`,
      );
      assert.equal(s.val, valueOf(i), `watched value of ${key(i)}`);
      if (o.ok) assert.equal(s.revision, o.revision, `watched revision of ${key(i)}`);
    } else {
      assert.equal(s, undefined, `the watcher saw ${key(i)}, which is not in the store`);
    }
    seen.delete(key(i));
  }
  assert.deepEqual([...seen.keys()], [], "the watcher saw keys nobody wrote");
}
