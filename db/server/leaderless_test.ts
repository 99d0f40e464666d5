import assert from "node:assert/strict";
import type { PeerHealth } from "../peer/mod.ts";
import { describePeers, type ServingState, ServingWatch } from "./leaderless.ts";

const T = 500; // election timeout, ms

function peer(id: number, over: Partial<PeerHealth> = {}): PeerHealth {
  return {
    id,
    address: `127.0.0.1:70${id}2`,
    acceptedAt: 0,
    waitingSince: 0,
    heardAt: 0,
    failure: undefined,
    ...over,
  };
}

function state(now: number, over: Partial<ServingState> = {}): ServingState {
  return {
    now,
    leader: 0,
    term: 3,
    role: "pre-candidate",
    recovering: false,
    removed: false,
    applied: 10,
    peers: [
      peer(2, { failure: { kind: "refused", detail: "ECONNREFUSED", at: 1 } }),
      peer(3, { acceptedAt: 5, failure: { kind: "timeout", detail: "keepalive", at: 9 } }),
    ],
    ...over,
  };
}

Deno.test("ServingWatch warns after twice the election timeout without a leader, then every 3 s", () => {
  const w = new ServingWatch({ electionTimeoutMs: T, startedAt: 0 });
  const warned: number[] = [];
  let last = "";
  for (let now = 0; now <= 8_000; now += 100) {
    const line = w.observe(state(now));
    if (line) {
      warned.push(now);
      last = line;
    }
  }
  assert.deepEqual(warned, [1_100, 4_100, 7_100]);
  assert.equal(
    last,
    "no leader for 7.1 s (term 3, pre-candidate): cannot reach node 2 at 127.0.0.1:7022 (connection refused), node 3 at 127.0.0.1:7032 (timed out)",
  );
});

Deno.test("ServingWatch stays quiet with a leader, and counts a new spell from when the leader went", () => {
  const w = new ServingWatch({ electionTimeoutMs: T, startedAt: 0 });
  for (let now = 0; now <= 5_000; now += 100) {
    assert.equal(w.observe(state(now, { leader: 2 })), undefined);
  }
  w.noteLeader(0, 5_000);
  assert.equal(w.observe(state(5_900)), undefined);
  assert.match(w.observe(state(6_100)) ?? "", /^no leader for 1\.1 s/);
  assert.equal(w.observe(state(6_200, { removed: true })), undefined);
});

Deno.test("ServingWatch says so while the node recovers from a lost disk", () => {
  const w = new ServingWatch({ electionTimeoutMs: T, startedAt: 0 });
  const line = w.observe(state(200, { leader: 2, recovering: true, applied: 42 }));
  assert.equal(
    line,
    "recovering from a lost disk for 0.2 s (applied 42, leader 2): it neither votes nor serves linearizable reads until it has caught up with the leader",
  );
  // Without a leader too: the leaderless warning says it does not vote.
  const alone = new ServingWatch({ electionTimeoutMs: T, startedAt: 0 });
  assert.match(
    alone.observe(state(4_000, { recovering: true })) ?? "",
    /^no leader for 4\.0 s \(term 3, pre-candidate\); recovering from a lost disk, so it does not vote: cannot reach node 2/,
  );
});

Deno.test("ServingWatch.refusal gives the reason a request cannot be served now", () => {
  const w = new ServingWatch({ electionTimeoutMs: T, startedAt: 0 });
  assert.equal(
    w.refusal(state(1_500), false),
    "this node knows no leader (for 1.5 s, term 3): cannot reach node 2 at 127.0.0.1:7022 (connection refused), node 3 at 127.0.0.1:7032 (timed out)",
  );
  assert.equal(w.refusal(state(1_550, { leader: 2 }), false), undefined);
  assert.equal(w.refusal(state(1_550, { leader: 2 }), true), undefined);
  // A recovering follower takes writes (it redirects them) but not linearizable reads.
  const recovering = state(1_600, { leader: 2, recovering: true });
  assert.equal(w.refusal(recovering, false), undefined);
  assert.match(
    w.refusal(recovering, true) ?? "",
    /recovering from a lost disk and has not caught up with leader 2/,
  );
  assert.equal(
    w.refusal(state(1_700, { leader: 2, removed: true }), false),
    "this node was removed from the cluster",
  );
});

Deno.test("describePeers tells unreachable peers from reachable ones", () => {
  assert.equal(describePeers([], 100), "it has no other voter");
  assert.equal(
    describePeers([
      peer(2, { acceptedAt: 10, failure: { kind: "refused", detail: "", at: 5 } }),
      peer(3, { heardAt: 3, failure: { kind: "other-cluster", detail: "", at: 4 } }),
      peer(4, { address: undefined }),
      peer(5),
      peer(6, { acceptedAt: 1, failure: { kind: "lost", detail: "", at: 2 }, waitingSince: 3 }),
      peer(7, { waitingSince: 2_000 }), // half a second: just connecting
    ], 2_503),
    "cannot reach node 3 at 127.0.0.1:7032 (it belongs to another cluster), node 4 (no address known), node 5 at 127.0.0.1:7052 (no answer yet), node 6 at 127.0.0.1:7062 (no answer for 2.5 s), node 7 at 127.0.0.1:7072 (no answer yet); reaches node 2 at 127.0.0.1:7022",
  );
  assert.equal(
    describePeers([peer(2, { acceptedAt: 1 }), peer(3, { heardAt: 1 })], 1_500),
    "reaches every peer (node 2 at 127.0.0.1:7022, node 3 at 127.0.0.1:7032 (silent for 1.5 s)) but has heard from no leader yet",
  );
});
