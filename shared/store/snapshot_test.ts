import assert from "node:assert/strict";
import { SeededPrng } from "../../shared/prng.ts";
import { type Command, decodeCommand, encodeCommand, type TxnOp } from "./command.ts";
import { Store } from "./store.ts";
import type { Condition } from "./types.ts";
import { dirOp, ok, setOp, T0, txn, unsetOp } from "./_test_util.ts";

/** Everything observable of a store. */
function state(s: Store) {
  return {
    revision: s.revision,
    appliedIndex: s.appliedIndex,
    count: s.count(),
    entities: s.range("").entities,
    due: s.expired(Infinity, 1e9),
    nextExpiry: s.nextExpiry(),
    members: s.members(),
    requests: s.requestStats(),
  };
}

function sample(): Store {
  const s = new Store();
  let i = 0;
  ok(
    s.applyCommand(
      txn([setOp("app/a", "1", { ttl: 30 }), setOp("app/b", ""), dirOp("empty")]),
      ++i,
    ),
  );
  ok(s.applyCommand(txn([setOp("app/a", "2", { ttl: 10 })], { time: T0 + 1 }), ++i));
  ok(s.applyCommand(txn([setOp("z/ü/✓", "unicode")]), ++i));
  s.setMember({ id: 2, peerAddr: "p2", clientAddr: "c2", learner: true });
  s.setMember({ id: 1, peerAddr: "p1", clientAddr: "c1", learner: false });
  s.markApplied(++i);
  return s;
}

Deno.test("Store.restore() gives back an identical store from Store.snapshot()", () => {
  const a = sample();
  const bytes = a.snapshot();
  const b = Store.restore(bytes);
  assert.deepEqual(state(b), state(a));
  assert.deepEqual(b.snapshot(), bytes);
  assert.equal(b.ttlLeft("app/a", T0 + 1), 10);
  assert.ok(Object.isFrozen(b.get("app/a")));
});

Deno.test("Store.restore() of an empty store's snapshot is an empty store", () => {
  const b = Store.restore(new Store().snapshot());
  assert.deepEqual(state(b), state(new Store()));
});

Deno.test("Store.restore() stores evolve independently and call their own listener", () => {
  const a = sample();
  const seen: number[] = [];
  const b = Store.restore(a.snapshot(), { onChanges: (rev) => seen.push(rev) });
  ok(a.applyCommand(txn([setOp("app/a", "changed")]), 10));
  assert.equal(new TextDecoder().decode(b.get("app/a")!.val), "2");
  ok(b.applyCommand(txn([unsetOp("app", { isDir: true })]), 10));
  assert.deepEqual(seen, [4]);
  assert.ok(a.get("app/b"));
});

Deno.test("Store.restore() rejects malformed snapshots with a TypeError", () => {
  const good = sample().snapshot();
  const view = new DataView(good.buffer);
  const headerLength = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(good.subarray(8, 8 + headerLength)));
  const rebuild = (h: unknown, values = good.subarray(8 + headerLength)) => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + json.byteLength + values.byteLength);
    out.set(good.subarray(0, 4));
    new DataView(out.buffer).setUint32(4, json.byteLength, true);
    out.set(json, 8);
    out.set(values, 8 + json.byteLength);
    return out;
  };
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 5), /must be at least 8 bytes/],
    [new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0]), /its magic must be/],
    [good.subarray(0, 8 + headerLength - 1), /header of \d+ bytes is truncated/],
    [good.subarray(0, good.byteLength - 1), /is truncated|must end after/],
    [rebuild(header, new Uint8Array([...good.subarray(8 + headerLength), 0])), /must end after/],
    [rebuild({ ...header, version: 3 }), /its version must be 1 or 2/],
    [rebuild({ ...header, requests: undefined }), /request table must be an object/],
    [
      rebuild({ ...header, requests: { coversFrom: 0, records: [] } }),
      /request table is malformed: .*coversFrom must be a positive integer/,
    ],
    [
      rebuild({ ...header, requests: { coversFrom: 1, records: [["a", 2, {}], ["b", 2, {}]] } }),
      /request table is malformed: .*ok must be a boolean/,
    ],
    [rebuild({ ...header, keys: [...header.keys].reverse() }), /strictly ascending/],
    [rebuild({ ...header, modRevision: header.modRevision.slice(1) }), /modRevision column/],
    [rebuild({ ...header, ttl: header.ttl.map(() => -1) }), /ttl column holds -1/],
    [rebuild({ ...header, types: "x".repeat(header.keys.length) }), /element or an empty/],
    [rebuild({ ...header, members: [[1, "p"]] }), /a member is malformed/],
    [rebuild({ ...header, fingerprints: "" }), /fingerprint of .* is missing/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(() => Store.restore(bytes), (e: Error) => {
      assert.ok(e instanceof TypeError, e.message);
      assert.match(e.message, /^Cannot restore the snapshot as /);
      assert.match(e.message, re);
      return true;
    }, String(re));
  }
});

/** Random commands over a small key space, so that they collide often. */
class CommandGen {
  readonly prng: SeededPrng;
  time = T0;
  constructor(seed: number) {
    this.prng = new SeededPrng(seed);
  }

  #key(): string {
    const p = this.prng;
    const depth = 1 + p.intn(3);
    const parts: string[] = [];
    for (let i = 0; i < depth; i++) parts.push("abcd"[p.intn(4)]!);
    return parts.join("/");
  }

  #condition(s: Store, key: string): Condition | undefined {
    const p = this.prng;
    switch (p.intn(10)) {
      case 0:
        return { mustExist: true };
      case 1:
        return { mustNotExist: true };
      case 2:
        return { modRevision: s.get(key)?.modRevision ?? p.intn(5) };
      default:
        return undefined;
    }
  }

  #op(s: Store): TxnOp {
    const p = this.prng;
    const key = this.#key();
    const condition = this.#condition(s, key);
    const c = condition ? { condition } : {};
    if (p.chance(0.65)) {
      if (p.chance(0.15)) return dirOp(key, c);
      const val = new Uint8Array(p.intn(40));
      for (let i = 0; i < val.length; i++) val[i] = p.intn(256);
      return {
        ...setOp(key, "", {
          ttl: p.chance(0.4) ? 1 + p.intn(5) : 0,
          overwrite: p.chance(0.8),
          ...c,
        }),
        val,
      };
    }
    return unsetOp(key, { isDir: p.chance(0.5), ...c });
  }

  /** The next command, drawn against `s` (which it does not change). */
  next(s: Store): Command {
    const p = this.prng;
    this.time += p.intn(2500);
    const roll = p.intn(100);
    if (roll < 70) {
      const ops = Array.from({ length: p.chance(0.7) ? 1 : 2 + p.intn(3) }, () => this.#op(s));
      const compares = p.chance(0.3)
        ? [{ key: this.#key(), condition: this.#condition(s, this.#key()) }]
        : [];
      return txn(ops, { time: this.time, compares });
    }
    if (roll < 88) {
      return { kind: "expire", time: this.time, keys: s.expired(this.time, 1 + p.intn(8)) };
    }
    if (roll < 95) {
      return { kind: "expire", time: this.time, keys: [{ key: this.#key(), force: true }] };
    }
    return {
      kind: "members",
      members: [{ id: 1 + p.intn(4), peerAddr: `p${p.intn(9)}`, clientAddr: `c${p.intn(9)}` }],
    };
  }
}

Deno.test("Store.snapshot() and Store.restore() keep replicas identical under random commands", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const gen = new CommandGen(seed);
    const p = gen.prng;
    // A small request table, so that records are dropped and coverage moves.
    const opts = { requests: { maxRecords: 40 } };
    let a = new Store(opts);
    let b = new Store(opts);
    let index = 0;
    let restores = 0;
    for (let step = 0; step < 1000; step++) {
      if (p.chance(0.04)) {
        // A follower installs the leader's snapshot.
        const bytes = a.snapshot();
        b = Store.restore(bytes, opts);
        restores++;
        assert.deepEqual(state(b), state(a), `seed=${seed} step=${step}`);
        assert.deepEqual(b.snapshot(), bytes);
      }
      if (p.chance(0.03)) {
        // Or the leader restarts from its own.
        a = Store.restore(a.snapshot(), opts);
      }
      if (p.chance(0.05)) {
        // A membership change entry: applied beside the commands.
        const m = { id: 1 + p.intn(4), peerAddr: "pa", clientAddr: "ca", learner: p.chance(0.5) };
        const add = p.chance(0.5);
        index++;
        for (const s of [a, b]) {
          if (add) s.setMember(m);
          else s.removeMember(m.id);
          s.markApplied(index);
        }
        continue;
      }
      const next = gen.next(a);
      const id = p.chance(0.8) ? `r${seed}.${step}` : undefined;
      const cmd = decodeCommand(encodeCommand(id ? { ...next, id } : next));
      index++;
      const ra = a.applyCommand(cmd, index);
      const rb = b.applyCommand(cmd, index);
      assert.deepEqual(rb, ra, `seed=${seed} step=${step}`);
      const asked = `r${seed}.${p.intn(step + 1)}`;
      const at = 1 + p.intn(index);
      assert.deepEqual(b.requestOutcome(asked, at), a.requestOutcome(asked, at));
    }
    assert.ok(restores > 5);
    assert.ok(a.revision > 150, `seed=${seed} revision=${a.revision}`);
    assert.deepEqual(state(b), state(a), `seed=${seed}`);
    assert.deepEqual(b.snapshot(), a.snapshot());
  }
});

Deno.test("Store.snapshot() handles 100,000 keys × 1 KiB", () => {
  const s = new Store();
  const val = new Uint8Array(1024).map((_, i) => (i * 7) & 0xff);
  let index = 0;
  for (let i = 0; i < 100_000; i += 64) {
    const ops: TxnOp[] = [];
    for (let j = i; j < Math.min(i + 64, 100_000); j++) {
      ops.push({ ...setOp(`app${j % 50}/env${j % 7}/key${j}`), val, ttl: j % 4 === 0 ? 3600 : 0 });
    }
    ok(s.applyCommand(txn(ops, { time: T0 + i }), ++index));
  }
  assert.equal(s.count(), 100_000 + 50 + 350);
  const encodeMs: number[] = [];
  const restoreMs: number[] = [];
  let bytes: Uint8Array = new Uint8Array();
  let restored = s;
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    bytes = s.snapshot();
    const t1 = performance.now();
    restored = Store.restore(bytes);
    const t2 = performance.now();
    encodeMs.push(t1 - t0);
    restoreMs.push(t2 - t1);
  }
  assert.equal(restored.count(), s.count());
  assert.equal(restored.revision, s.revision);
  assert.deepEqual(restored.expired(Infinity, 10), s.expired(Infinity, 10));
  assert.deepEqual(restored.range("app7/", { limit: 50 }), s.range("app7/", { limit: 50 }));
  const values = 100_000 * 1024;
  assert.ok(bytes.byteLength < values * 1.1, `snapshot is ${bytes.byteLength} bytes`);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[1]!.toFixed(0);
  console.log(
    `100k × 1 KiB: snapshot ${(bytes.byteLength / 1e6).toFixed(1)} MB ` +
      `(values ${(values / 1e6).toFixed(1)} MB), encode ${median(encodeMs)} ms, ` +
      `restore ${median(restoreMs)} ms (median of 3)`,
  );
});
