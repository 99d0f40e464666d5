import assert from "node:assert/strict";
import { SeededPrng } from "../../shared/prng.ts";
import type { TxnOp } from "./command.ts";
import { CompactedError, WatcherFellBehindError } from "./errors.ts";
import { Store } from "./store.ts";
import type { Change } from "./types.ts";
import { type Watcher, WatchEvent, WatchHub, type WatchHubOptions } from "./watch.ts";
import { describe, dirOp, ok, setOp, T0, txn, unsetOp } from "./_test_util.ts";

/** A store wired to a hub, recording every published revision. */
function setup(options: WatchHubOptions = {}) {
  const hub = new WatchHub(options);
  const log: { revision: number; changes: readonly Change[] }[] = [];
  const store = new Store({
    onChanges: (revision, changes) => {
      log.push({ revision, changes });
      hub.publish(revision, changes);
    },
  });
  let index = 0;
  let time = T0;
  return {
    hub,
    store,
    log,
    run(ops: TxnOp[]) {
      return ok(store.applyCommand(txn(ops, { time: ++time }), ++index));
    },
  };
}

/** Every event available now. */
function drain(w: Watcher): WatchEvent[] {
  const out: WatchEvent[] = [];
  for (let e = w.poll(); e; e = w.poll()) out.push(e);
  return out;
}

function revs(events: WatchEvent[]): number[] {
  return events.map((e) => e.revision);
}

Deno.test("WatchHub.watch() delivers the matching changes of each revision as one event", () => {
  const { hub, run } = setup();
  const w = hub.watch({ keys: ["a"] });
  assert.equal(w.startAfter, 0);
  run([setOp("a/b/c", "1")]);
  run([setOp("x", "2")]);
  run([setOp("a/d"), setOp("y"), unsetOp("a/b", { isDir: true })]);
  const events = drain(w);
  assert.deepEqual(revs(events), [1, 3]);
  assert.deepEqual(events[0]!.changes.map(describe), ["set a", "set a/b", "set a/b/c"]);
  assert.deepEqual(events[1]!.changes.map(describe), [
    "set a/d",
    "unset a/b (unset)",
    "unset a/b/c (parent)",
  ]);
  assert.equal(w.lastRevision, 3);
  assert.equal(w.poll(), undefined);
});

Deno.test("Watcher.matches() reaches directory watchers from below, and prefix watchers by prefix", () => {
  const hub = new WatchHub();
  const dir = hub.watch({ keys: ["a/b"] });
  for (const k of ["a/b", "a/b/c", "a/b/c/d"]) assert.ok(dir.matches(k), k);
  for (const k of ["a", "a/bc", "a/b.c", "a/c", "b"]) assert.ok(!dir.matches(k), k);
  const below = hub.watch({ keys: ["a/"] });
  assert.ok(below.matches("a/x"));
  assert.ok(!below.matches("a"));
  const prefix = hub.watch({ keys: ["a/b"], prefix: true });
  for (const k of ["a/b", "a/bc", "a/b.c", "a/b/c"]) assert.ok(prefix.matches(k), k);
  assert.ok(!prefix.matches("a/a"));
  const all = hub.watch({ keys: [""], prefix: true });
  assert.ok(all.matches("anything/at/all"));
  const many = hub.watch({ keys: ["x", "y/z"] });
  assert.ok(many.matches("x/1") && many.matches("y/z") && !many.matches("y"));
});

Deno.test("WatchHub.watch() replays from startRevision, then follows live revisions without a gap", () => {
  const { hub, run } = setup();
  for (let i = 1; i <= 10; i++) run([setOp(`k/${i}`)]);
  const w = hub.watch({ keys: ["k"], startRevision: 3 });
  assert.equal(w.startAfter, 2);
  assert.deepEqual(revs([w.poll()!, w.poll()!]), [3, 4]);
  // Revisions applied while the watcher is still replaying.
  for (let i = 11; i <= 15; i++) run([setOp(`k/${i}`)]);
  assert.equal(w.pendingRevisions, 0, "a replaying watcher reads the shared history");
  assert.deepEqual(revs(drain(w)), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  run([setOp("k/16")]);
  run([setOp("other")]);
  run([setOp("k/18")]);
  assert.equal(w.pendingRevisions, 2, "a caught-up watcher queues live events");
  assert.deepEqual(revs(drain(w)), [16, 18]);
});

Deno.test("WatchHub.watch() with a future startRevision waits for it", () => {
  const { hub, run } = setup();
  run([setOp("a")]);
  const w = hub.watch({ keys: ["a"], startRevision: 4 });
  assert.equal(w.startAfter, 3);
  run([setOp("a")]);
  run([setOp("a")]);
  assert.equal(w.poll(), undefined);
  run([setOp("a")]);
  run([setOp("a")]);
  assert.deepEqual(revs(drain(w)), [4, 5]);
});

Deno.test("WatchHub.watch() throws CompactedError below the oldest revision", () => {
  const { hub, run } = setup({ maxHistoryRevisions: 5 });
  for (let i = 0; i < 10; i++) run([setOp("a")]);
  assert.equal(hub.oldestRevision, 6);
  assert.equal(hub.historyLength, 5);
  assert.throws(() => hub.watch({ keys: ["a"], startRevision: 5 }), (e: unknown) => {
    assert.ok(e instanceof CompactedError);
    assert.equal(e.compactRevision, 6);
    assert.equal(
      e.message,
      "Cannot watch from revision 5 as it is compacted: oldest available revision is 6",
    );
    return true;
  });
  assert.deepEqual(revs(drain(hub.watch({ keys: ["a"], startRevision: 6 }))), [6, 7, 8, 9, 10]);
  assert.deepEqual(drain(hub.watch({ keys: ["a"], startRevision: 11 })), []);
  assert.deepEqual(drain(hub.watch({ keys: ["a"] })), []);
});

Deno.test("WatchHub keeps its history within maxHistoryBytes", () => {
  const { hub, run } = setup({ maxHistoryBytes: 20_000 });
  const big = new Uint8Array(4_000);
  for (let i = 0; i < 50; i++) run([{ ...setOp(`k${i % 3}`), val: big }]);
  assert.ok(hub.historyBytes <= 20_000, `${hub.historyBytes}`);
  assert.ok(hub.historyLength >= 2 && hub.historyLength < 10);
  assert.equal(hub.oldestRevision, 50 - hub.historyLength + 1);
  // A single revision larger than the bound is still kept.
  run([{ ...setOp("huge"), val: new Uint8Array(50_000) }]);
  assert.equal(hub.historyLength, 1);
  assert.equal(hub.oldestRevision, 51);
});

Deno.test("Watcher is cancelled with WatcherFellBehindError when its queue exceeds the bound", () => {
  const { hub, run } = setup();
  const w = hub.watch({ keys: ["a"] }, { maxPendingRevisions: 10 });
  run([setOp("a")]);
  run([setOp("a")]);
  assert.deepEqual(revs(drain(w)), [1, 2]);
  for (let i = 0; i < 10; i++) run([setOp("a")]);
  assert.equal(w.pendingRevisions, 10);
  assert.equal(w.closed, false);
  run([setOp("b")]); // does not match: no effect
  run([setOp("a")]);
  assert.equal(w.closed, true);
  assert.equal(w.pendingRevisions, 0, "the queue is freed");
  assert.equal(hub.watcherCount, 0);
  assert.ok(w.error instanceof WatcherFellBehindError);
  assert.equal((w.error as WatcherFellBehindError).lastRevision, 2);
  assert.throws(() => w.poll(), WatcherFellBehindError);
  assert.match(w.error!.message, /^Cannot keep the watcher as .*: resume from revision 3$/);
  // The client resumes from lastRevision + 1 and misses nothing.
  const again = hub.watch({ keys: ["a"], startRevision: 3 });
  assert.deepEqual(revs(drain(again)), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14]);
});

Deno.test("Watcher is cancelled when its queued bytes exceed maxPendingBytes", () => {
  const { hub, run } = setup();
  const w = hub.watch({ keys: ["a"] }, { maxPendingBytes: 10_000 });
  const kib = new Uint8Array(1024);
  // One event larger than the bound is admitted into an empty queue.
  run([{ ...setOp("a"), val: new Uint8Array(20_000) }]);
  assert.equal(w.closed, false);
  assert.equal(w.poll()?.revision, 1);
  run([{ ...setOp("a"), val: kib }]); // its `last` is the large value: admitted alone too
  assert.equal(w.poll()?.revision, 2);
  let n = 0;
  while (!w.closed) {
    run([{ ...setOp("a"), val: kib }]);
    assert.ok(w.pendingBytes <= 10_000);
    n++;
  }
  assert.ok(n > 2 && n < 10, `${n}`);
  assert.equal((w.error as WatcherFellBehindError).lastRevision, 2);
});

Deno.test("Watcher memory stays bounded however slow its consumer is", () => {
  const { hub, run } = setup({ maxHistoryRevisions: 3_000 });
  for (let i = 0; i < 10; i++) run([setOp(`k/${i}`)]);
  const slow = hub.watch({ keys: [""], prefix: true });
  const replaying = hub.watch({ keys: ["k"], startRevision: 1 });
  let maxPending = 0;
  for (let i = 0; i < 5_000; i++) {
    run([setOp(`k/${i % 10}`)]);
    maxPending = Math.max(maxPending, slow.pendingRevisions, replaying.pendingRevisions);
    assert.ok(hub.historyLength <= 3_000);
  }
  assert.equal(maxPending, 1_000);
  assert.ok(slow.error instanceof WatcherFellBehindError);
  assert.equal((slow.error as WatcherFellBehindError).lastRevision, 10);
  // The replaying watcher never polled: it is cut off once the history moves past it.
  assert.ok(replaying.error instanceof WatcherFellBehindError);
  assert.match(replaying.error.message, /the history no longer holds revision 1/);
  assert.equal(hub.watcherCount, 0);
});

Deno.test("Watcher is cancelled when the history moves past the revision it replays", () => {
  const { hub, run } = setup({ maxHistoryRevisions: 5 });
  for (let i = 0; i < 5; i++) run([setOp("a")]);
  const w = hub.watch({ keys: ["a"], startRevision: 1 });
  assert.equal(w.poll()?.revision, 1);
  run([setOp("a")]); // history is now 2..6: still fine
  assert.equal(w.closed, false);
  run([setOp("a")]); // 3..7: revision 2 is gone
  assert.ok(w.error instanceof WatcherFellBehindError);
  assert.equal((w.error as WatcherFellBehindError).lastRevision, 1);
});

Deno.test("Watcher.next() waits for the next event, ends on close and rejects on cancel", async () => {
  const { hub, run } = setup();
  const w = hub.watch({ keys: ["a"] }, { maxPendingRevisions: 1 });
  const first = w.next();
  const second = w.next();
  run([setOp("a", "1")]);
  run([setOp("b")]);
  run([setOp("a", "2")]);
  assert.equal((await first).value?.revision, 1);
  assert.equal((await second).value?.revision, 3);
  const third = w.next();
  w.close();
  assert.deepEqual(await third, { value: undefined, done: true });
  assert.deepEqual(await w.next(), { value: undefined, done: true });
  w.close(); // idempotent

  const c = hub.watch({ keys: ["a"] }, { maxPendingRevisions: 1 });
  run([setOp("a")]);
  run([setOp("a")]); // second queued event: over the bound
  await assert.rejects(() => c.next(), WatcherFellBehindError);
});

Deno.test("Watcher works with for await, and break closes it", async () => {
  const { hub, run } = setup();
  const w = hub.watch({ keys: ["k"], startRevision: 1 });
  run([setOp("k/1")]);
  run([setOp("k/2")]);
  const seen: number[] = [];
  const done = (async () => {
    for await (const e of w) {
      seen.push(e.revision);
      if (e.revision === 4) break;
    }
  })();
  run([setOp("k/3")]);
  await Promise.resolve();
  run([setOp("k/4")]);
  run([setOp("k/5")]);
  await done;
  assert.deepEqual(seen, [1, 2, 3, 4]);
  assert.equal(w.closed, true);
  assert.equal(hub.watcherCount, 0);
});

Deno.test("WatchOptions.onReady signals queued events and cancellation", () => {
  const { hub, run } = setup();
  const calls: string[] = [];
  const w = hub.watch({ keys: ["a"] }, {
    maxPendingRevisions: 2,
    onReady: (x) => calls.push(`${x.pendingRevisions}:${x.closed}`),
  });
  run([setOp("a")]);
  run([setOp("b")]);
  run([setOp("a")]);
  run([setOp("a")]);
  assert.deepEqual(calls, ["1:false", "2:false", "0:true"]);
  assert.ok(w.error);
});

Deno.test("WatchHub.publish() fans out to 1,000 watchers without copying", () => {
  const { hub, run, log } = setup();
  const watchers = Array.from({ length: 1_000 }, () => hub.watch({ keys: ["app"], prefix: true }));
  const others = Array.from({ length: 1_000 }, (_, i) => hub.watch({ keys: [`other${i}`] }));
  run([setOp("app/k", "v")]);
  run([setOp("app/x"), setOp("zzz")]); // partly matching: one filtered event per filter
  const full = watchers.map((w) => w.poll()!);
  const part = watchers.map((w) => w.poll()!);
  assert.ok(full.every((e) => e === full[0]), "one shared event object");
  assert.equal(full[0]!.changes, log[0]!.changes, "the store's own frozen change array");
  assert.ok(part.every((e) => e === part[0]));
  assert.deepEqual(part[0]!.changes.map(describe), ["set app/x"]);
  assert.equal(part[0]!.changes[0], log[1]!.changes[0], "the same change object");
  assert.ok(Object.isFrozen(full[0]) && Object.isFrozen(part[0]!.changes));
  assert.ok(others.every((w) => w.pendingRevisions === 0));
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) run([setOp(`app/${i}`)]);
  const perPublish = (performance.now() - t0) / 200;
  assert.ok(perPublish < 20, `${perPublish.toFixed(2)} ms per revision for 2,000 watchers`);
});

Deno.test("WatchHub.reset() cancels watchers that needed older revisions and keeps later ones", () => {
  const { hub, run } = setup();
  run([setOp("a")]);
  const live = hub.watch({ keys: ["a"] });
  const replaying = hub.watch({ keys: ["a"], startRevision: 1 });
  const future = hub.watch({ keys: ["a"], startRevision: 100 });
  hub.reset(50); // the store was replaced by a snapshot at revision 50
  assert.equal(hub.revision, 50);
  assert.equal(hub.oldestRevision, 51);
  assert.equal(hub.historyLength, 0);
  assert.ok(live.error instanceof CompactedError);
  assert.equal((live.error as CompactedError).compactRevision, 51);
  assert.ok(replaying.error instanceof CompactedError);
  assert.equal(future.closed, false);
  assert.throws(() => hub.reset(49), RangeError);
  assert.throws(() => hub.watch({ keys: ["a"], startRevision: 50 }), CompactedError);
  for (let r = 51; r <= 100; r++) {
    hub.publish(r, [{ op: "set", key: "a", revision: r, reason: "" }]);
  }
  assert.deepEqual(revs(drain(future)), [100]);
});

Deno.test("WatchHub.fail() cancels every watcher with the error given, and the hub goes on", async () => {
  const { hub, run } = setup();
  run([setOp("a")]);
  const waiting = hub.watch({ keys: ["a"] });
  const pending = waiting.next();
  const replaying = hub.watch({ keys: ["a"], startRevision: 1 });
  const signalled: Watcher[] = [];
  const pushed = hub.watch({ keys: ["a"] }, { onReady: (w) => signalled.push(w) });
  const removed = new Error("this node was removed");
  hub.fail(removed);
  await assert.rejects(pending, (e) => e === removed);
  for (const w of [waiting, replaying, pushed]) {
    assert.equal(w.error, removed);
    assert.equal(w.closed, true);
    assert.throws(() => w.poll(), (e) => e === removed);
  }
  assert.deepEqual(signalled, [pushed]);
  assert.equal(hub.watcherCount, 0);
  // Later watches are unaffected.
  const later = hub.watch({ keys: ["a"], startRevision: 1 });
  run([setOp("a", "again")]);
  assert.deepEqual(revs(drain(later)), [1, 2]);
});

Deno.test("WatchHub rejects malformed requests and out-of-order publishes", () => {
  const hub = new WatchHub({ revision: 7 });
  assert.equal(hub.oldestRevision, 8);
  assert.throws(() => hub.publish(9, []), RangeError);
  assert.throws(() => hub.watch({ keys: [] }), RangeError);
  assert.throws(
    () => hub.watch({ keys: Array.from({ length: 21 }, (_, i) => `k${i}`) }),
    RangeError,
  );
  assert.throws(() => hub.watch({ keys: [""] }), RangeError);
  assert.throws(() => hub.watch({ keys: ["a"], startRevision: -1 }), RangeError);
  assert.throws(() => hub.watch({ keys: ["a"] }, { maxPendingRevisions: 0 }), RangeError);
  assert.throws(() => new WatchHub({ maxHistoryBytes: -5 }), RangeError);
  assert.throws(() => hub.watch({ keys: ["a"], startRevision: 3 }), CompactedError);
  assert.equal(hub.watch({ keys: ["a"], startRevision: 8 }).startAfter, 7);
});

Deno.test("WatchHub delivers every matching revision exactly once across resumes (random)", () => {
  for (const seed of [11, 12, 13]) {
    const prng = new SeededPrng(seed);
    const { hub, store, log } = setup({ maxHistoryRevisions: 60 });
    const names = ["a", "a/b", "a/b/c", "a/d", "b", "b/x", "ab"];
    const filters = [
      { keys: ["a"] },
      { keys: ["a/b"] },
      { keys: ["a"], prefix: true },
      { keys: ["b/", "ab"] },
      { keys: [""], prefix: true },
    ];
    interface Stream {
      filter: (typeof filters)[number];
      start: number;
      w: Watcher | undefined;
      got: WatchEvent[];
      compacted: boolean;
      /** How often its consumer pulls: some are very slow. */
      rate: number;
    }
    const streams: Stream[] = [];
    const open = (s: Stream, from: number) => {
      try {
        s.w = hub.watch({ ...s.filter, startRevision: from }, {
          maxPendingRevisions: 1 + prng.intn(20),
        });
      } catch (e) {
        assert.ok(e instanceof CompactedError);
        assert.ok(e.compactRevision > from);
        s.compacted = true;
        s.w = undefined;
      }
    };
    const pull = (s: Stream, max = prng.intn(30)) => {
      if (!s.w) return;
      try {
        for (let n = max; n > 0; n--) {
          const e = s.w.poll();
          if (!e) break;
          s.got.push(e);
        }
      } catch (e) {
        assert.ok(e instanceof WatcherFellBehindError);
      }
      if (s.w.error) {
        const last = (s.w.error as WatcherFellBehindError).lastRevision;
        assert.equal(last, s.got.length ? s.got[s.got.length - 1]!.revision : s.w.startAfter);
        open(s, last + 1); // the client resumes
      }
    };
    for (let step = 0; step < 1_500; step++) {
      if (prng.chance(0.02) && streams.length < 25) {
        const filter = filters[prng.intn(filters.length)]!;
        const start = prng.chance(0.5)
          ? 0
          : Math.max(1, store.revision - prng.intn(40) + prng.intn(5));
        const rate = [0.01, 0.1, 0.5][prng.intn(3)]!;
        const s: Stream = { filter, start: 0, w: undefined, got: [], compacted: false, rate };
        open(s, start);
        s.start = s.w ? s.w.startAfter + 1 : start;
        if (!s.compacted) streams.push(s);
      }
      const k = names[prng.intn(names.length)]!;
      const op = prng.chance(0.6)
        ? setOp(k, "v", { isDir: prng.chance(0.2) })
        : unsetOp(k, { isDir: prng.chance(0.6) });
      // Some of these fail (and publish nothing); that is part of the test.
      store.applyCommand(txn([op], { time: T0 + step }), store.appliedIndex + 1);
      for (const s of streams) if (prng.chance(s.rate)) pull(s);
      if (prng.chance(0.01)) store.applyCommand(txn([dirOp("a")]), store.appliedIndex + 1);
    }
    for (const s of streams) {
      // Drain, resuming as often as needed, until nothing more comes.
      for (let tries = 0; s.w; tries++) {
        assert.ok(tries < 100);
        const w = s.w;
        pull(s, Infinity);
        if (s.w === w && !w.closed) break; // drained, no resume needed
      }
      // What the stream must have seen: every matching revision from its start, in order.
      const probe = hub.watch({ ...s.filter });
      const expected: { revision: number; keys: string[] }[] = [];
      for (const entry of log) {
        if (entry.revision < s.start) continue;
        const keys = entry.changes.filter((c) => probe.matches(c.key)).map(describe);
        if (keys.length) expected.push({ revision: entry.revision, keys });
      }
      probe.close();
      const got = s.got.map((e) => ({ revision: e.revision, keys: e.changes.map(describe) }));
      if (s.compacted) {
        // Cut off for good: what it got is a gap-free prefix of the expected sequence.
        assert.deepEqual(got, expected.slice(0, got.length), `seed=${seed}`);
      } else {
        assert.deepEqual(got, expected, `seed=${seed} start=${s.start}`);
      }
    }
    assert.ok(streams.length >= 10);
  }
});
