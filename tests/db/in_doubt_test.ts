/**
 * In-doubt writes (issue 7, section 0): a leader paused with SIGSTOP while
 * its writes are in flight later installs a snapshot from a newer leader,
 * which replaced the log where those writes were. Every answer it then gives
 * must be true: a success only for a write that applied, "not applied"
 * (UNAVAILABLE with `x-cassem-retryable: 1`) only for one that certainly did
 * not, and anything else (UNAVAILABLE without the flag, DEADLINE_EXCEEDED)
 * only when the outcome is unknown.
 *
 * Writes go through bare grpc-js, one attempt each, so that no client retry
 * hides an answer. Every key is written once, by one of three kinds of write
 * (SetKV with overwrite, a compare-and-swap SetKV that requires the key to be
 * absent, a Txn guarded by the same compare), so whether a write applied is
 * whether its key is there. At the end every key is read back from every node.
 */

import assert from "node:assert/strict";
import type { WireTxnResp } from "../../shared/store/mod.ts";
import { checkDurable, failure, type Outcome, valueOf, type WriteLog } from "./_checks.ts";
import { sleep, waitFor } from "../support/procs.ts";
import { type DbProc, type TestCluster, withCluster } from "./_cluster.ts";
import { scenario } from "./_scenario.ts";
import { RawKv } from "./_raw.ts";

const PREFIX = "doubt/";
const key = (i: number) => `${PREFIX}k${String(i).padStart(5, "0")}`;
const enc = new TextEncoder();

/** Writes in each wave that the leader is left holding. */
const WAVE = 6;
/** Writes the next leader commits while the old one is paused: several snapshots' worth. */
const CATCH_UP = 60;
/** Rounds at most, until one steers a proposal through the snapshot path both ways. */
const MAX_ROUNDS = 3;
/** The node's log line for a proposal whose entry a snapshot replaced. */
const RESOLVED = /in-doubt write resolved .*outcome=(applied|not applied|unknown)/;

/** One write of `key(i)`: the kind depends on `i`. */
async function writeOnce(kv: RawKv, i: number): Promise<Outcome> {
  const val = enc.encode(valueOf(i));
  try {
    let revision: number;
    if (i % 3 === 0) {
      const r = await kv.call<{ revision: number }>("SetKV", { key: key(i), val, overwrite: true });
      revision = r.revision;
    } else if (i % 3 === 1) {
      const r = await kv.call<{ revision: number }>("SetKV", {
        key: key(i),
        val,
        condition: { mustNotExist: true },
      });
      revision = r.revision;
    } else {
      const r = await kv.call<WireTxnResp>("Txn", {
        compares: [{ key: key(i), condition: { mustNotExist: true } }],
        ops: [{ set: { key: key(i), val } }],
      });
      if (!r.succeeded) {
        // Only this write touches the key: a failed compare is an answer
        // that is wrong either way (it saw its own effect).
        return {
          ok: false,
          code: "ABORTED",
          message: `Txn failed compare ${r.failedCompare} at ${r.failedModRevision}`,
          ambiguous: false,
          at: Date.now(),
        };
      }
      revision = r.revision;
    }
    return { ok: true, revision, at: Date.now() };
  } catch (e) {
    return failure(e);
  }
}

/** Numbers writes across rounds and records every outcome. */
class Writes implements WriteLog {
  readonly outcomes = new Map<number, Outcome>();
  #next = 0;
  #acked = 0;

  acked(): number {
    return this.#acked;
  }

  /** `count` writes through `kv`, `concurrency` at a time; resolves when all are answered. */
  async run(kv: RawKv, count: number, concurrency = count): Promise<number[]> {
    const mine: number[] = [];
    const end = this.#next + count;
    const worker = async () => {
      while (this.#next < end) {
        const i = this.#next++;
        mine.push(i);
        const o = await writeOnce(kv, i);
        this.outcomes.set(i, o);
        if (o.ok) this.#acked++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return mine;
  }
}

/** The node's debug HTTP `/status`. */
async function debugStatus(
  p: DbProc,
): Promise<{ lastIndex: number; progress: Record<string, { match: number }> }> {
  const r = await fetch(`http://${p.httpAddr}/status`);
  return await r.json();
}

/** How one round's writes in flight were answered, for the timeline. */
function describe(writes: Writes, ids: number[]): string {
  return ids.map((i) => {
    const o = writes.outcomes.get(i);
    if (!o) return "none";
    return o.ok ? `ok@${o.revision}` : `${o.code}${o.ambiguous ? "(unknown)" : "(not applied)"}`;
  }).join(" ");
}

/**
 * One round, on five nodes: leader L, followers F1..F4.
 *
 * 1. F2, F3 and F4 are killed: L and F1 are two of five, so nothing commits.
 * 2. Wave 1 goes to L, which replicates it to F1 only; then F1 is killed
 *    too (its disk keeps wave 1), and wave 2 goes to L, which holds it alone.
 * 3. L is paused (SIGSTOP) with both waves in flight.
 * 4. F1, F2 and F3 start again. F1 holds the newest log, and F4 being down,
 *    no other can win without F1's vote: F1 leads and commits wave 1; wave 2
 *    is overwritten. Then writes go past several snapshots, leadership moves
 *    to F2 (its log is one the paused node cannot match, so F2 must send it a
 *    snapshot; the first append F1 sent it would match and answer it the
 *    ordinary way), and F4 starts again.
 * 5. L resumes (SIGCONT) and installs the snapshot: wave 1 applied, wave 2
 *    did not, and L never saw either commit or fail. This is the case a
 *    black-box client met under partitions; killing F1..F4 stands in for
 *    the partition (their connections die, so L's appends and F1's
 *    acknowledgements cannot arrive late, as they would from a paused node).
 */
async function round(c: TestCluster, writes: Writes, n: number): Promise<number[]> {
  const { node: leader } = await c.waitLeader({ timeoutMs: 30_000 });
  const [f1, f2, f3, f4] = c.running().filter((p) => p !== leader) as [
    DbProc,
    DbProc,
    DbProc,
    DbProc,
  ];
  const kv = new RawKv(leader.clientAddr);
  await writes.run(kv, 30, 6);
  await Promise.all([f2, f3, f4].map((p) => c.kill(p)));
  const before = (await debugStatus(leader)).lastIndex;
  const wave1 = writes.run(kv, WAVE);
  const target = await waitFor("wave 1 on the leader", async () => {
    const last = (await debugStatus(leader)).lastIndex;
    return last >= before + WAVE ? last : undefined;
  });
  // The leader's match for F1: F1 acknowledged wave 1, so it is on F1's disk.
  await waitFor(`wave 1 on ${f1.name}'s disk`, async () => {
    const match = (await debugStatus(leader)).progress[f1.id]?.match ?? 0;
    return match >= target || undefined;
  }, { timeoutMs: 5_000 });
  await c.kill(f1);
  const wave2 = writes.run(kv, WAVE);
  await sleep(50);
  const pid = leader.pid!;
  Deno.kill(pid, "SIGSTOP");
  c.note(`round ${n}: SIGSTOP ${leader.name} (pid ${pid}) with two waves in flight`);
  try {
    await Promise.all([f1, f2, f3].map((p) => c.restart(p)));
    const next = await c.waitLeader({ among: [f1, f2, f3], timeoutMs: 30_000 });
    assert.equal(next.node, f1, "only the node that holds wave 1 can lead");
    await writes.run(new RawKv(f1.clientAddr), CATCH_UP, 6);
    await c.client({ endpoints: [f1.clientAddr] }).transferLeader(f2.id);
    await c.waitLeader({ among: [f1, f2, f3], timeoutMs: 30_000 });
    await c.restart(f4);
    await writes.run(new RawKv(f2.clientAddr), 20, 4);
    c.note(`round ${n}: ${f2.name} leads the others; ${leader.name} resumes`);
  } finally {
    Deno.kill(pid, "SIGCONT");
  }
  const inFlight = [...await wave1, ...await wave2];
  c.note(`round ${n}: the writes in flight were answered ${describe(writes, inFlight)}`);
  await c.waitConverged(undefined, 30_000);
  return inFlight;
}

scenario(
  import.meta.url,
  "cassemdb answers writes whose entries a snapshot replaced with the truth",
  async () => {
    await withCluster(
      { name: "in-doubt", snapshotEvery: 10, electionTicks: 25 },
      async (c) => {
        await c.startFounders(5);
        const writes = new Writes();
        let rounds = 0;
        let resolved: string[] = [];
        const inFlight: number[] = [];
        const seen = (outcome: string) =>
          resolved.filter((l) => l.includes(`outcome=${outcome}`)).length;
        while (rounds < MAX_ROUNDS) {
          inFlight.push(...await round(c, writes, ++rounds));
          resolved = c.nodes.flatMap((p) => c.linesOf(p).filter((l) => RESOLVED.test(l)));
          if (seen("applied") > 0 && seen("not applied") > 0) break;
        }

        // Every answer against what applied, on every node.
        const { appliedAmbiguous, lostAmbiguous } = await checkDurable(
          c,
          c.running(),
          PREFIX,
          key,
          writes,
        );
        const answers = inFlight.map((i) => writes.outcomes.get(i)!);
        const acked = answers.filter((o) => o.ok).length;
        const fails = answers.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
        const notApplied = fails.filter((o) => !o.ambiguous);
        const unknown = fails.filter((o) => o.ambiguous);
        console.log(
          `${rounds} round(s), ${writes.outcomes.size} writes (${writes.acked()} acknowledged); ` +
            `of the ${inFlight.length} left in flight: ${acked} acknowledged, ${notApplied.length} ` +
            `answered "not applied" (retryable), ${unknown.length} with an unknown outcome ` +
            `(${appliedAmbiguous.length} of those applied, ${lostAmbiguous.length} not)`,
        );
        console.log(
          `through the snapshot path: ${resolved.length} proposals: ${seen("applied")} applied ` +
            `(answered with their recorded result), ${
              seen("not applied")
            } certainly not applied, ` +
            `${seen("unknown")} unknown`,
        );
        assert.ok(
          seen("applied") > 0,
          `no applied proposal went through the snapshot path in ${rounds} rounds`,
        );
        assert.ok(
          seen("not applied") > 0,
          `no unapplied proposal went through the snapshot path in ${rounds} rounds`,
        );
        for (const o of unknown) {
          assert.ok(
            o.code === "UNAVAILABLE" || o.code === "DEADLINE_EXCEEDED",
            `an unexpected failure: ${o.code}: ${o.message}`,
          );
        }
        assert.deepEqual(
          fails.filter((o) => o.code === "ABORTED").map((o) => o.message),
          [],
          "a compare-and-swap of a key that only it writes failed",
        );
      },
    );
  },
  { timeoutMs: 300_000 },
);
