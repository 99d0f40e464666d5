import assert from "node:assert/strict";
import { answerNotBefore, expiredBy, expiryCut, MAX_CLOCK_SKEW_MS } from "./expiry_read.ts";

const T = 1_700_000_000_000;
const el = (expireAt: number) => ({ expireAt });

Deno.test("expiredBy() hides elements whose expire_at is at or before the cut, never ones without a ttl", () => {
  assert.equal(expiredBy(el(T), T), true);
  assert.equal(expiredBy(el(T), T - 1), false);
  assert.equal(expiredBy(el(0), T), false);
  assert.equal(expiredBy(el(T), undefined), false, "a serializable read hides nothing");
});

Deno.test("on the leader the cut is its own clock and a read never waits", () => {
  const c = { start: T, now: T + 3, skew: 0 };
  assert.equal(expiryCut(c), T + 3);
  for (const at of [T - 1_000, T, T + 2, T + 3, T + 4, T + 60_000]) {
    assert.equal(answerNotBefore(c, [el(at)]), undefined, `expire_at ${at - T}`);
  }
});

Deno.test("on a follower the cut is its clock minus the skew, and a read waits only near an expiry", () => {
  const skew = MAX_CLOCK_SKEW_MS;
  // A quick read: it arrived at T and answers at T + 5.
  const c = { start: T, now: T + 5, skew };
  const cut = expiryCut(c);
  assert.equal(cut, T + 5 - skew);
  // Hidden for sure (the leader's clock is past them) or surely live: answer now.
  assert.equal(answerNotBefore(c, [el(T - 2 * skew), el(T + skew + 1), el(0)]), undefined);
  // Within (cut, start + skew] nobody can tell: wait until start + 2 × skew.
  for (const at of [cut + 1, T, T + skew]) {
    assert.equal(answerNotBefore(c, [el(T + 60_000), el(at)]), T + 2 * skew, `expire_at ${at - T}`);
  }
  // After that wait the window is empty: the same elements answer at once.
  const later = { start: T, now: T + 2 * skew, skew };
  assert.equal(expiryCut(later), T + skew);
  for (const at of [T, T + skew, T + skew + 1]) {
    assert.equal(answerNotBefore(later, [el(at)]), undefined);
  }
  // A read that itself took longer than 2 × skew never waits.
  const slow = { start: T, now: T + 3 * skew, skew };
  for (const at of [T, T + 2 * skew, T + 2 * skew + 1]) {
    assert.equal(answerNotBefore(slow, [el(at)]), undefined);
  }
});

Deno.test("a follower's answer is one the leader could have given during the read, whatever the skew within the bound", () => {
  // Brute force: the leader's clock runs at this follower's clock + offset,
  // |offset| ≤ skew. After any waits, the cut must be a leader time within
  // [arrival, answer], so elements are hidden exactly as the leader would
  // have hidden them at some moment of the read.
  const skew = 200;
  for (let offset = -skew; offset <= skew; offset += 25) {
    for (let duration = 0; duration <= 3 * skew; duration += 37) {
      for (let at = T - 3 * skew; at <= T + 4 * skew; at += 13) {
        let c = { start: T, now: T + duration, skew };
        const wait = answerNotBefore(c, [el(at)]);
        if (wait !== undefined) c = { start: T, now: wait, skew };
        assert.equal(answerNotBefore(c, [el(at)]), undefined);
        const cut = expiryCut(c);
        const leaderFrom = c.start + offset;
        const leaderTo = c.now + offset;
        // Some leader time in [leaderFrom, leaderTo] classifies the element like the cut.
        const hiddenByCut = expiredBy(el(at), cut);
        const possible = hiddenByCut ? at <= leaderTo : at > leaderFrom;
        assert.ok(
          possible,
          `offset ${offset}, duration ${duration}, expire_at ${at - T}: cut ${cut - T} ${
            hiddenByCut ? "hides" : "shows"
          } it, the leader read ${leaderFrom - T}..${leaderTo - T}`,
        );
      }
    }
  }
});
