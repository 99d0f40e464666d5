/**
 * Expired keys (issue 7, section 4): a linearizable read (GetKV, GetKVs,
 * Range, TTL), on the leader or on a follower, never returns an element whose
 * `expire_at` had passed when the read was sent, although the element stays
 * in the store until its expiry commits. Every node runs on this machine's
 * clock, which the test shares, so "passed" is exact here.
 *
 * Serializable reads on the same nodes run alongside: they answer from the
 * store as it stands, so when one of them returns an expired element the
 * test has seen the window in which a linearizable read could have, and
 * proves something.
 */

import assert from "node:assert/strict";
import type { DbClient, Entity } from "../../shared/db/mod.ts";
import { sleep } from "../support/procs.ts";
import { safety } from "./_checks.ts";
import { type DbProc, withCluster } from "./_cluster.ts";
import { scenario } from "./_scenario.ts";

const KEYS = 12;
const PREFIX = "exp/";
const key = (i: number) => `${PREFIX}k${String(i).padStart(2, "0")}`;
const enc = new TextEncoder();

/** What one node's readers saw. */
interface Seen {
  node: string;
  reads: number;
  /** Linearizable answers that held an element expired when the read was sent. */
  violations: string[];
  /** Serializable answers that did (the window existed). */
  staleSerializable: number;
  /** The slowest linearizable read, in ms. */
  slowestMs: number;
}

/** The elements of `e` (any of them) that had expired at `sentAt`. */
function expiredAt(entities: readonly Entity[], sentAt: number): Entity[] {
  return entities.filter((e) => e.expireAt > 0 && e.expireAt <= sentAt);
}

/** Reads every kind of read through `db` (one node) until `until`, checking each answer. */
async function hammer(
  p: DbProc,
  db: DbClient,
  expireAts: number[],
  until: number,
): Promise<Seen> {
  const seen: Seen = { node: p.name, reads: 0, violations: [], staleSerializable: 0, slowestMs: 0 };
  const linearizable = async (i: number) => {
    const k = key(i % KEYS);
    const sentAt = Date.now();
    let got: Entity[] = [];
    let what = "";
    switch (i % 4) {
      case 0: {
        const e = (await db.get(k)).entity;
        got = e ? [e] : [];
        what = `GetKV ${k}`;
        break;
      }
      case 1:
        got = (await db.getMany(Array.from({ length: KEYS }, (_, j) => key(j)))).entities;
        what = "GetKVs";
        break;
      case 2:
        got = (await db.range(PREFIX, { limit: 100 })).entities;
        what = "Range";
        break;
      case 3: {
        const left = (await db.ttl(k)).ttl;
        // NOT_FOUND is `undefined`; an answer means the key was returned: it
        // must not have expired.
        if (left === undefined) break;
        const at = expireAts[i % KEYS]!;
        if (at <= sentAt) {
          seen.violations.push(`TTL ${k} sent ${sentAt - at} ms after it expired answered ${left}`);
        }
        if (left < 0 || left > 1) seen.violations.push(`TTL ${k} of a 1 s key answered ${left}`);
        break;
      }
    }
    const took = Date.now() - sentAt;
    seen.slowestMs = Math.max(seen.slowestMs, took);
    for (const e of expiredAt(got, sentAt)) {
      seen.violations.push(
        `${what} sent ${
          sentAt - e.expireAt
        } ms after ${e.key} expired returned it (read took ${took} ms)`,
      );
    }
  };
  const serializable = async () => {
    const sentAt = Date.now();
    const r = await db.getMany(Array.from({ length: KEYS }, (_, j) => key(j)), {
      serializable: true,
    });
    if (expiredAt(r.entities, sentAt).length > 0) seen.staleSerializable++;
  };
  let i = 0;
  const lin = async () => {
    while (Date.now() < until) {
      await linearizable(i++);
      seen.reads++;
    }
  };
  const ser = async () => {
    while (Date.now() < until) {
      await serializable();
      await sleep(1);
    }
  };
  await Promise.all([lin(), lin(), ser()]);
  return seen;
}

scenario(
  import.meta.url,
  "cassemdb linearizable reads never return a key whose ttl ran out, on the leader or a follower",
  async () => {
    await withCluster({ name: "expiry-read" }, async (c) => {
      await c.startFounders(3);
      const { node: leader } = await c.waitLeader();
      const follower = c.running().find((p) => p !== leader)!;
      const writer = c.client({ endpoints: [leader.clientAddr] });
      // Keys expiring 1 s after their set, 80 ms apart.
      const expireAts: number[] = [];
      for (let i = 0; i < KEYS; i++) {
        const r = await writer.set(key(i), enc.encode(`v${i}`), { ttl: 1 });
        expireAts.push(r.entity.expireAt);
        await sleep(80);
      }
      const until = Math.max(...expireAts) + 1_500;
      const results = await Promise.all(
        [leader, follower].map((p) =>
          hammer(p, c.client({ endpoints: [p.clientAddr] }), expireAts, until)
        ),
      );
      for (const s of results) {
        console.log(
          `${s.node}: ${s.reads} linearizable reads, slowest ${s.slowestMs} ms; ${s.staleSerializable} serializable reads returned an expired key`,
        );
      }
      await safety(() => {
        for (const s of results) {
          assert.deepEqual(s.violations, [], `${s.node} returned expired keys`);
        }
      });
      // The keys are gone by now, through the log, on every node.
      const left = await writer.range(PREFIX, { limit: 100, serializable: true });
      assert.deepEqual(left.entities.map((e) => e.key), []);
      assert.ok(
        results.some((s) => s.staleSerializable > 0),
        "no read ever met a key that had expired but was still stored: the test proved nothing",
      );
    });
  },
);
