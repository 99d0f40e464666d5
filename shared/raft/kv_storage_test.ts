import assert from "node:assert/strict";
import { SeededPrng } from "../prng.ts";
import { makeEntries, makeSnapshot, storageContract } from "./_storage_contract.ts";
import { encodeBlock } from "./kv_block.ts";
import { BLOCK_BYTES, CHUNK_BYTES, KvStorage, type KvStorageOptions } from "./kv_storage.ts";
import { SnapshotTemporarilyUnavailableError } from "./errors.ts";
import { RawNode } from "./raw_node.ts";
import { bootstrapEntries, bootstrapHardState } from "./storage.ts";
import { type ConfState, type Entry, EntryType, type HardState } from "./types.ts";

const CONF: ConfState = { voters: [1, 2, 3], learners: [] };
const ALL = Number.POSITIVE_INFINITY;

storageContract("KvStorage", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kv_storage_test_" });
  const path = `${dir}/raft.kv`;
  let current = await KvStorage.open(path);
  return {
    storage: current,
    reopen: async () => {
      current.close();
      current = await KvStorage.open(path);
      return current;
    },
    close: () => {
      current.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
});

/** A temporary KV path, removed after `fn`. */
async function withPath(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kv_storage_test_" });
  try {
    await fn(`${dir}/raft.kv`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Opens `path`, runs `fn` on the storage and closes it. */
async function using<T>(
  path: string,
  fn: (s: KvStorage) => Promise<T>,
  options: KvStorageOptions = {},
): Promise<T> {
  const s = await KvStorage.open(path, options);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

/** The keys under `prefix` in the raw KV file (the storage must be closed). */
async function rawKeys(path: string, prefix: Deno.KvKey): Promise<Deno.KvKey[]> {
  const kv = await Deno.openKv(path);
  try {
    const keys: Deno.KvKey[] = [];
    for await (const e of kv.list({ prefix })) keys.push(e.key);
    return keys;
  } finally {
    kv.close();
  }
}

/** The parts of block `gen` numbered `from..to`, as keys. */
function partKeys(gen: number, from: number, to: number): Deno.KvKey[] {
  const keys: Deno.KvKey[] = [];
  for (let k = from; k <= to; k++) keys.push(["b", gen, k]);
  return keys;
}

/** The block generations present in the raw KV file, ascending (the storage must be closed). */
async function gens(path: string): Promise<number[]> {
  const found = new Set((await rawKeys(path, ["b"])).map((k) => k[1] as number));
  return [...found].sort((a, b) => a - b);
}

/** Runs `fn` on the raw KV file at `path` (the storage must be closed). */
async function raw(path: string, fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(path);
  try {
    await fn(kv);
  } finally {
    kv.close();
  }
}

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function entry(index: number, term: number, data: Uint8Array): Entry {
  return { index, term, type: EntryType.Normal, data };
}

/** Everything a reader can observe, for before/after comparisons. */
function view(s: KvStorage) {
  const first = s.firstIndex();
  const last = s.lastIndex();
  return {
    initialState: s.initialState(),
    hardState: s.hardState(),
    isEmpty: s.isEmpty(),
    first,
    last,
    prevTerm: s.term(first - 1),
    entries: s.entries(first, last + 1, ALL),
    snapshot: s.snapshot(),
  };
}

/** Asserts `s` holds a valid log whose entries are all readable, and returns it. */
function readAll(s: KvStorage): Entry[] {
  const all = s.entries(s.firstIndex(), s.lastIndex() + 1, ALL);
  all.forEach((e, i) => assert.equal(e.index, s.firstIndex() + i));
  return all;
}

Deno.test("KvStorage.open() recovers exactly the hard state, entries and snapshot", async () => {
  await withPath(async (path) => {
    const before = await using(path, async (s) => {
      await s.save({
        entries: bootstrapEntries([1, 2, 3]),
        hardState: bootstrapHardState([1, 2, 3]),
      });
      await s.save({
        entries: makeEntries(4, 14, 2, 300),
        hardState: { term: 2, vote: 1, commit: 10 },
      });
      await s.save({ entries: [entry(15, 2, bytes(100 * 1024))] });
      await s.save({
        entries: makeEntries(16, 30, 3),
        hardState: { term: 3, vote: 2, commit: 28 },
      });
      await s.createSnapshot(20, CONF, bytes(70 * 1024, 7));
      await s.compact(8);
      return view(s);
    });
    const after = await using(path, (s) => Promise.resolve(view(s)));
    assert.deepEqual(after, before);
    assert.equal(after.first, 9);
    assert.equal(after.prevTerm, 2);
    assert.equal(after.snapshot.metadata.index, 20);
  });
});

Deno.test("KvStorage.save() packs a 200 KiB entry with its neighbours into one block of parts", async () => {
  await withPath(async (path) => {
    const big = entry(2, 1, bytes(200 * 1024));
    await using(
      path,
      (s) => s.save({ entries: [...makeEntries(1, 1, 1), big, ...makeEntries(3, 3, 1)] }),
    );
    const parts = Math.ceil(200 * 1024 / CHUNK_BYTES);
    assert.deepEqual(await rawKeys(path, ["b"]), partKeys(1, 0, parts - 1));
    await using(path, (s) => {
      assert.deepEqual(s.entries(2, 3, ALL), [big]);
      assert.equal(s.lastIndex(), 3);
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage.save() of an entry over the per-commit limit spans commits", async () => {
  await withPath(async (path) => {
    const huge = entry(1, 1, bytes(1024 * 1024, 3));
    const hs: HardState = { term: 1, vote: 0, commit: 1 };
    await using(path, async (s) => {
      await assert.rejects(s.save({ entries: [huge], hardState: hs }), /fault hook/);
    }, { faults: { failAfterCommits: 1 } });
    await using(path, (s) => s.save({ entries: [huge], hardState: hs }), {
      faults: { failAfterCommits: 2 },
    });
    await using(path, (s) => {
      assert.deepEqual(s.entries(1, 2, ALL), [huge]);
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage.save() stores a data view into a larger buffer compactly", async () => {
  await withPath(async (path) => {
    const data = bytes(1024 * 1024).subarray(100, 1100);
    await using(path, (s) => s.save({ entries: [entry(1, 1, data)] }));
    const kv = await Deno.openKv(path);
    const part = await kv.get<Uint8Array>(["b", 1, 0]);
    kv.close();
    assert.ok(part.value && part.value.byteLength < 1100 + 64, "only the view is stored");
    await using(path, (s) => {
      assert.deepEqual(s.entries(1, 2, ALL)[0]!.data, data.slice());
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage.save() of 3,000 entries of 256 B writes 2 blocks in 2 commits and round-trips", async () => {
  await withPath(async (path) => {
    const ents = makeEntries(1, 3000, 1, 256);
    const hs: HardState = { term: 1, vote: 1, commit: 2000 };
    await using(path, async (s) => {
      await assert.rejects(s.save({ entries: ents, hardState: hs }), /fault hook/);
    }, { faults: { failAfterCommits: 1 } });
    await using(path, (s) => s.save({ entries: ents, hardState: hs }), {
      faults: { failAfterCommits: 2 },
    });
    await using(path, () => Promise.resolve()); // collects the first attempt's block
    const written = await gens(path);
    assert.deepEqual(written, [2, 3]);
    const kv = await Deno.openKv(path);
    for (const gen of written) {
      let size = 0;
      for await (const e of kv.list<Uint8Array>({ prefix: ["b", gen] })) size += e.value.byteLength;
      assert.ok(size <= BLOCK_BYTES, `block ${gen} is ${size} bytes`);
    }
    kv.close();
    await using(path, (s) => {
      assert.deepEqual(s.hardState(), hs);
      assert.deepEqual(s.entries(1, 3001, ALL), ents);
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage.save() of 256 small entries with a hard state is one commit", async () => {
  await withPath(async (path) => {
    await using(path, (s) =>
      s.save({
        entries: makeEntries(1, 256, 1, 256),
        hardState: { term: 1, vote: 1, commit: 0 },
      }), { faults: { failAfterCommits: 1 } });
  });
});

Deno.test("KvStorage.save() replaces 2,000 stale entries by 3 in one commit; open() replays and collects them", async () => {
  await withPath(async (path) => {
    await using(path, async (s) => {
      await s.save({ entries: makeEntries(1, 1, 1), hardState: { term: 1, vote: 1, commit: 1 } });
      await s.save({ entries: makeEntries(2, 2001, 1) });
    });
    await using(path, async (s) => {
      await s.save({ entries: makeEntries(2, 4, 2), hardState: { term: 2, vote: 2, commit: 1 } });
      assert.equal(s.lastIndex(), 4);
    }, { faults: { failAfterCommits: 1 } });
    assert.deepEqual(await gens(path), [1, 2, 3], "the stale block is left for later");
    await using(path, (s) => {
      assert.equal(s.lastIndex(), 4);
      assert.deepEqual(s.entries(1, 5, ALL), [...makeEntries(1, 1, 1), ...makeEntries(2, 4, 2)]);
      assert.deepEqual(s.hardState(), { term: 2, vote: 2, commit: 1 });
      return Promise.resolve();
    });
    assert.deepEqual(await gens(path), [1, 3], "open() deleted the superseded block");
    await using(path, (s) => {
      assert.deepEqual(readAll(s), [...makeEntries(1, 1, 1), ...makeEntries(2, 4, 2)]);
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage.save() of a 1 MiB snapshot round-trips and a newer one deletes its chunks", async () => {
  await withPath(async (path) => {
    const snap = { metadata: { index: 50, term: 4, confState: CONF }, data: bytes(1024 * 1024) };
    await using(path, async (s) => {
      await s.save({ entries: makeEntries(1, 60, 1), hardState: { term: 1, vote: 0, commit: 10 } });
      await s.save({ entries: [], snapshot: snap, hardState: { term: 4, vote: 0, commit: 50 } });
    });
    assert.equal((await rawKeys(path, ["sc"])).length, Math.ceil(1024 * 1024 / CHUNK_BYTES));
    assert.equal((await rawKeys(path, ["b"])).length, 0, "the old log is deleted");
    await using(path, async (s) => {
      assert.deepEqual(s.snapshot(), snap);
      assert.equal(s.firstIndex(), 51);
      assert.equal(s.lastIndex(), 50);
      assert.deepEqual(s.initialState().confState, CONF);
      await s.save({
        entries: [],
        snapshot: makeSnapshot(70, 5, CONF, "small"),
        hardState: { term: 5, vote: 0, commit: 70 },
      });
    });
    assert.equal((await rawKeys(path, ["sc"])).length, 1);
    await using(path, (s) => {
      assert.deepEqual(s.snapshot(), makeSnapshot(70, 5, CONF, "small"));
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage.open() deletes orphan chunks and keys outside the log bounds", async () => {
  await withPath(async (path) => {
    const snap = makeSnapshot(5, 1, CONF, "five");
    await using(path, async (s) => {
      await s.save({ entries: [], snapshot: snap, hardState: { term: 1, vote: 0, commit: 5 } });
      await s.save({ entries: makeEntries(6, 8, 1) });
    });
    await raw(path, async (kv) => {
      for (let k = 0; k < 3; k++) await kv.set(["sc", 999, k], new Uint8Array(10));
      // A part without its block's part 0, a part past its block's part count,
      // and a whole block past the end of the log.
      await kv.set(["b", 99, 3], new Uint8Array(10));
      await kv.set(["b", 1, 7], new Uint8Array(10));
      const beyond = encodeBlock(makeEntries(50, 51, 1), CHUNK_BYTES);
      for (const [k, part] of beyond.entries()) await kv.set(["b", 98, k], part);
    });
    await using(path, (s) => {
      assert.deepEqual(s.snapshot(), snap);
      assert.equal(s.lastIndex(), 8);
      assert.deepEqual(readAll(s), makeEntries(6, 8, 1));
      return Promise.resolve();
    });
    assert.deepEqual(await rawKeys(path, ["sc", 999]), []);
    assert.deepEqual(await rawKeys(path, ["b"]), [["b", 1, 0]]);
  });
});

Deno.test("KvStorage.open() rejects a file that is not raft storage", async () => {
  await withPath(async (path) => {
    const kv = await Deno.openKv(path);
    await kv.set(["users", "alice"], 1);
    kv.close();
    await assert.rejects(KvStorage.open(path), /is not a raft storage record/);
  });
});

Deno.test("KvStorage.open() rejects a log in the one-key-per-entry layout", async () => {
  await withPath(async (path) => {
    await raw(path, async (kv) => {
      await kv.set(["log"], { first: 1, last: 1, prevTerm: 0 });
      await kv.set(["e", 1], { t: 1, y: 0, d: new Uint8Array(1) });
    });
    await assert.rejects(KvStorage.open(path), /one-key-per-entry layout/);
  });
});

Deno.test("KvStorage.save() interrupted after its first commit leaves a valid prefix and the old hard state", async () => {
  await withPath(async (path) => {
    const old: HardState = { term: 1, vote: 1, commit: 5 };
    await using(path, (s) => s.save({ entries: makeEntries(1, 10, 1, 256), hardState: old }));
    await using(path, async (s) => {
      await assert.rejects(
        s.save({
          entries: makeEntries(6, 3005, 2, 256),
          hardState: { term: 2, vote: 2, commit: 3000 },
        }),
        /fault hook/,
      );
      assert.equal(s.lastIndex(), 10, "memory is untouched");
      await assert.rejects(s.save({ entries: [] }), /an earlier write failed/);
    }, { faults: { failAfterCommits: 1 } });
    await using(path, (s) => {
      assert.deepEqual(s.hardState(), old);
      const all = readAll(s);
      assert.ok(s.lastIndex() > 10 && s.lastIndex() < 3005, `last index ${s.lastIndex()}`);
      assert.deepEqual(all.slice(0, 5), makeEntries(1, 5, 1, 256));
      assert.deepEqual(all.slice(5), makeEntries(6, s.lastIndex(), 2, 256));
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage.save() interrupted while writing a huge entry keeps the entry it replaces", async () => {
  await withPath(async (path) => {
    const old = entry(3, 1, bytes(200 * 1024, 5));
    await using(path, (s) =>
      s.save({
        entries: [...makeEntries(1, 2, 1), old],
        hardState: { term: 1, vote: 1, commit: 2 },
      }));
    await using(path, async (s) => {
      await assert.rejects(s.save({ entries: [entry(3, 2, bytes(1024 * 1024, 6))] }), /fault hook/);
    }, { faults: { failAfterCommits: 1 } });
    assert.deepEqual(await gens(path), [1, 2], "part of the new block was written");
    await using(path, (s) => {
      assert.deepEqual(s.entries(3, 4, ALL), [old]);
      return Promise.resolve();
    });
    assert.deepEqual(await gens(path), [1], "open() deleted the incomplete block");
  });
});

Deno.test("KvStorage.save() interrupted while writing a snapshot keeps the old one", async () => {
  await withPath(async (path) => {
    const before = await using(path, async (s) => {
      await s.save({ entries: makeEntries(1, 10, 1), hardState: { term: 1, vote: 1, commit: 10 } });
      await s.createSnapshot(5, CONF, new TextEncoder().encode("five"));
      return view(s);
    });
    await using(path, async (s) => {
      const snap = { metadata: { index: 20, term: 3, confState: CONF }, data: bytes(1024 * 1024) };
      await assert.rejects(
        s.save({ entries: [], snapshot: snap, hardState: { term: 3, vote: 0, commit: 20 } }),
        /fault hook/,
      );
    }, { faults: { failAfterCommits: 1 } });
    await using(path, (s) => {
      assert.deepEqual(view(s), before);
      return Promise.resolve();
    });
    assert.equal((await rawKeys(path, ["sc"])).length, 1);
  });
});

Deno.test("KvStorage.save() interrupted after the snapshot switch restarts with commit at the snapshot", async () => {
  await withPath(async (path) => {
    await using(
      path,
      (s) => s.save({ entries: bootstrapEntries([1]), hardState: bootstrapHardState([1]) }),
    );
    const snap = {
      metadata: { index: 20, term: 3, confState: { voters: [1], learners: [] } },
      data: bytes(1024 * 1024),
    };
    await using(path, async (s) => {
      await assert.rejects(
        s.save({
          snapshot: snap,
          entries: makeEntries(21, 3020, 3, 256),
          hardState: { term: 3, vote: 0, commit: 3000 },
        }),
        /fault hook/,
      );
    }, { faults: { failAfterCommits: 2 } });
    await using(path, (s) => {
      assert.deepEqual(s.snapshot(), snap);
      assert.equal(s.firstIndex(), 21);
      assert.deepEqual(s.hardState(), { term: 3, vote: 0, commit: 20 });
      readAll(s);
      // The raft core accepts this state on restart.
      const rn = new RawNode({
        id: 1,
        electionTick: 10,
        heartbeatTick: 1,
        storage: s,
        prng: new SeededPrng(1),
      });
      assert.equal(rn.status().commit, 20);
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage.save() with a snapshot and no hard state moves commit to the snapshot index", async () => {
  await withPath(async (path) => {
    await using(path, async (s) => {
      await s.save({ entries: makeEntries(1, 3, 1), hardState: { term: 1, vote: 1, commit: 2 } });
      await s.save({ entries: [], snapshot: makeSnapshot(9, 2, CONF, "nine") });
      assert.deepEqual(s.hardState(), { term: 1, vote: 1, commit: 9 });
    });
    await using(path, (s) => {
      assert.deepEqual(s.hardState(), { term: 1, vote: 1, commit: 9 });
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage rejects writes that a restarted node could not recover from", async (t) => {
  await withPath(async (path) => {
    await using(path, async (s) => {
      await s.save({ entries: makeEntries(1, 10, 1), hardState: { term: 1, vote: 1, commit: 6 } });
      await s.createSnapshot(4, CONF, new Uint8Array(0));
      const before = view(s);
      await t.step("save() of entries that are not contiguous", async () => {
        const ents = [...makeEntries(11, 12, 1), ...makeEntries(14, 14, 1)];
        await assert.rejects(
          s.save({ entries: ents }),
          /must be contiguous: entry 12 is followed by 14/,
        );
      });
      await t.step("save() of a commit index past the last entry", async () => {
        await assert.rejects(
          s.save({ entries: makeEntries(11, 11, 1), hardState: { term: 1, vote: 1, commit: 12 } }),
          /commit must be within \[0, 11\]: current value is 12/,
        );
      });
      await t.step("save() truncating below the commit index", async () => {
        await assert.rejects(s.save({ entries: makeEntries(5, 5, 2) }), RangeError);
      });
      await t.step("createSnapshot() past the commit index", async () => {
        await assert.rejects(
          s.createSnapshot(8, CONF, new Uint8Array(0)),
          /commit index 6: current value is 8/,
        );
      });
      await t.step("compact() past the snapshot index", async () => {
        await assert.rejects(s.compact(5), /snapshot index 4: current value is 5/);
      });
      assert.deepEqual(view(s), before);
    });
  });
});

Deno.test("KvStorage writes after close() are rejected", async () => {
  await withPath(async (path) => {
    const s = await KvStorage.open(path);
    s.close();
    await assert.rejects(s.save({ entries: makeEntries(1, 1, 1) }), /storage is closed/);
  });
});

Deno.test("KvStorage.save() calls run one at a time in call order", async () => {
  await withPath(async (path) => {
    await using(path, async (s) => {
      await Promise.all([
        s.save({ entries: makeEntries(1, 100, 1) }),
        s.save({ entries: makeEntries(101, 200, 1) }),
        s.save({ entries: makeEntries(150, 160, 2), hardState: { term: 2, vote: 1, commit: 100 } }),
      ]);
      assert.equal(s.lastIndex(), 160);
    });
    await using(path, (s) => {
      assert.equal(s.lastIndex(), 160);
      assert.equal(s.term(150), 2);
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage backs a RawNode across a restart", async () => {
  await withPath(async (path) => {
    const config = (s: KvStorage) => ({
      id: 1,
      electionTick: 10,
      heartbeatTick: 1,
      storage: s,
      prng: new SeededPrng(1),
    });
    async function drive(rn: RawNode, s: KvStorage): Promise<void> {
      while (rn.hasReady()) {
        const rd = rn.ready();
        await s.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
        for (const e of rd.committedEntries) {
          if (e.type === EntryType.ConfChange) rn.applyConfChange(RawNode.decodeConfChange(e.data));
        }
        rn.advance(rd);
      }
    }
    const before = await using(path, async (s) => {
      await s.save({ entries: bootstrapEntries([1]), hardState: bootstrapHardState([1]) });
      const rn = new RawNode(config(s));
      await drive(rn, s);
      rn.campaign();
      await drive(rn, s);
      for (let i = 0; i < 5; i++) rn.propose(new TextEncoder().encode(`v${i}`));
      await drive(rn, s);
      return view(s);
    });
    assert.equal(before.hardState.commit, before.last);
    assert.equal(before.last, 7); // 1 bootstrap entry, the leader's no-op, 5 proposals
    await using(path, (s) => {
      assert.deepEqual(view(s), before);
      const st = new RawNode(config(s)).status();
      assert.equal(st.commit, 7);
      assert.equal(st.lastIndex, 7);
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage persists the recovering flag across reopen", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/node.db`;
  try {
    let s = await KvStorage.open(path);
    assert.equal(s.recovering(), false);
    await s.setRecovering(true);
    s.close();
    s = await KvStorage.open(path);
    assert.equal(s.recovering(), true);
    await s.setRecovering(false);
    s.close();
    s = await KvStorage.open(path);
    assert.equal(s.recovering(), false);
    s.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvStorage.open() replays blocks in generation order, truncating at each block's first index", async () => {
  await withPath(async (path) => {
    await using(path, async (s) => {
      const hs: HardState = { term: 1, vote: 0, commit: 9 };
      await s.save({ entries: [], snapshot: makeSnapshot(9, 1, CONF, "nine"), hardState: hs });
      await s.save({ entries: makeEntries(10, 20, 1) });
      await s.save({ entries: makeEntries(21, 30, 1) });
      await s.save({
        entries: makeEntries(15, 25, 2),
        hardState: { term: 2, vote: 0, commit: 12 },
      });
    });
    assert.deepEqual(await gens(path), [1, 2, 3], "truncation deletes nothing");
    const want = [...makeEntries(10, 14, 1), ...makeEntries(15, 25, 2)];
    await using(path, (s) => {
      assert.equal(s.firstIndex(), 10);
      assert.equal(s.lastIndex(), 25);
      assert.deepEqual(readAll(s), want);
      assert.deepEqual(s.hardState(), { term: 2, vote: 0, commit: 12 });
      return Promise.resolve();
    });
    // [21, 30] provides nothing any more; [10, 20] still provides 10..14.
    assert.deepEqual(await gens(path), [1, 3]);
    await using(path, async (s) => {
      assert.deepEqual(readAll(s), want);
      await s.save({ entries: makeEntries(26, 27, 2) });
    });
    await using(path, (s) => {
      assert.deepEqual(readAll(s), [...want, ...makeEntries(26, 27, 2)]);
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage.compact() deletes blocks entirely below the first index and keeps the one holding it", async () => {
  await withPath(async (path) => {
    await using(path, async (s) => {
      await s.save({ entries: makeEntries(1, 10, 1), hardState: { term: 1, vote: 1, commit: 0 } });
      await s.save({ entries: makeEntries(11, 20, 1) });
      await s.save({
        entries: makeEntries(21, 30, 1),
        hardState: { term: 1, vote: 1, commit: 30 },
      });
      await s.createSnapshot(25, CONF, new Uint8Array(0));
      await s.compact(15);
    });
    assert.deepEqual(await gens(path), [2, 3]);
    await using(path, async (s) => {
      assert.deepEqual(readAll(s), makeEntries(16, 30, 1));
      await s.compact(20);
    });
    assert.deepEqual(await gens(path), [3]);
    await using(path, (s) => {
      assert.equal(s.firstIndex(), 21);
      assert.equal(s.term(20), 1);
      assert.deepEqual(readAll(s), makeEntries(21, 30, 1));
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage.save() interrupted between commits of a truncating save keeps a valid prefix of the new log", async () => {
  await withPath(async (path) => {
    const old: HardState = { term: 1, vote: 1, commit: 50 };
    await using(path, (s) => s.save({ entries: makeEntries(1, 3000, 1, 256), hardState: old }));
    await using(path, async (s) => {
      await assert.rejects(
        s.save({
          entries: makeEntries(100, 3100, 2, 256),
          hardState: { term: 2, vote: 2, commit: 3100 },
        }),
        /fault hook/,
      );
    }, { faults: { failAfterCommits: 1 } });
    await using(path, (s) => {
      assert.deepEqual(s.hardState(), old);
      const last = s.lastIndex();
      assert.ok(last > 100 && last < 3000, `last index ${last}`);
      // The old term-1 suffix after the first new block is gone, not resurrected.
      assert.deepEqual(readAll(s), [
        ...makeEntries(1, 99, 1, 256),
        ...makeEntries(100, last, 2, 256),
      ]);
      return Promise.resolve();
    });
  });
});

Deno.test("KvStorage.save() of a 200 KiB and a 590 KiB entry writes each in one commit and round-trips", async () => {
  await withPath(async (path) => {
    const medium = entry(2, 1, bytes(200 * 1024, 11));
    const large = entry(3, 1, bytes(590 * 1024, 12));
    const tail = makeEntries(4, 6, 1, 4096);
    await using(path, async (s) => {
      await s.save({ entries: [...makeEntries(1, 1, 1), medium] });
      await s.save({ entries: [large], hardState: { term: 1, vote: 1, commit: 3 } });
      assert.deepEqual(readAll(s), [...makeEntries(1, 1, 1), medium, large]);
    }, { faults: { failAfterCommits: 2 } });
    assert.deepEqual(await gens(path), [1, 2]);
    await using(path, (s) => {
      assert.deepEqual(readAll(s), [...makeEntries(1, 1, 1), medium, large]);
      assert.deepEqual(s.hardState(), { term: 1, vote: 1, commit: 3 });
      // Too large for one block with the 590 KiB entry, small enough to share its commit.
      return s.save({ entries: [large, ...tail] });
    }, { faults: { failAfterCommits: 1 } });
    assert.deepEqual(await gens(path), [1, 2, 3, 4]);
    await using(path, (s) => {
      assert.deepEqual(readAll(s), [...makeEntries(1, 1, 1), medium, large, ...tail]);
      return Promise.resolve();
    });
    assert.deepEqual(await gens(path), [1, 3, 4]);
  });
});

Deno.test("KvStorage.open() treats an incomplete block the bounds never covered as not written", async () => {
  await withPath(async (path) => {
    const hs: HardState = { term: 1, vote: 1, commit: 5 };
    await using(path, (s) => s.save({ entries: makeEntries(1, 5, 1), hardState: hs }));
    // A 1 MiB entry is the only block that spans commits: interrupted after its first.
    await using(path, async (s) => {
      await assert.rejects(s.save({ entries: [entry(6, 1, bytes(1024 * 1024))] }), /fault hook/);
    }, { faults: { failAfterCommits: 1 } });
    assert.deepEqual(await gens(path), [1, 2]);
    await using(path, (s) => {
      assert.equal(s.lastIndex(), 5);
      assert.deepEqual(readAll(s), makeEntries(1, 5, 1));
      return Promise.resolve();
    });
    assert.deepEqual(await gens(path), [1], "open() deleted its parts");
    // A block damaged beyond the end of the log (so the bounds never covered it) is garbage too.
    await raw(path, async (kv) => {
      const parts = encodeBlock([entry(6, 1, bytes(150 * 1024))], CHUNK_BYTES);
      for (const [k, part] of parts.entries()) if (k !== 1) await kv.set(["b", 7, k], part);
    });
    await using(path, (s) => {
      assert.deepEqual(readAll(s), makeEntries(1, 5, 1));
      return Promise.resolve();
    });
    assert.deepEqual(await gens(path), [1]);
  });
});

Deno.test("KvStorage.open() collects a superseded block whose collection was interrupted", async () => {
  await withPath(async (path) => {
    await using(path, async (s) => {
      await s.save({ entries: [entry(1, 1, bytes(150 * 1024))] });
      await s.save({ entries: makeEntries(1, 3, 2), hardState: { term: 2, vote: 1, commit: 3 } });
    });
    await raw(path, (kv) => kv.delete(["b", 1, 2]));
    await using(path, (s) => {
      assert.deepEqual(readAll(s), makeEntries(1, 3, 2));
      return Promise.resolve();
    });
    assert.deepEqual(await gens(path), [2]);
  });
});

Deno.test("KvStorage.open() refuses a log whose block lost a part", async () => {
  // The bounds say these entries are durable (they may be committed and
  // acknowledged): forgetting them, or letting older entries show through,
  // could break raft safety, so open() stops instead.
  await withPath(async (path) => {
    await using(path, async (s) => {
      await s.save({ entries: makeEntries(1, 3, 1), hardState: { term: 1, vote: 1, commit: 3 } });
      await s.save({ entries: [entry(4, 1, bytes(150 * 1024))] });
      await s.save({ entries: makeEntries(5, 6, 1) });
    });
    await raw(path, (kv) => kv.delete(["b", 2, 1]));
    await assert.rejects(
      KvStorage.open(path),
      /block 2, which holds entries \[4, 4\] of the log, is missing parts/,
    );
  });
  // The newest block, superseding part of an older one: those entries must not show through.
  await withPath(async (path) => {
    await using(path, async (s) => {
      await s.save({ entries: makeEntries(1, 5, 1), hardState: { term: 1, vote: 1, commit: 2 } });
      await s.save({ entries: [entry(3, 2, bytes(150 * 1024))] });
    });
    await raw(path, (kv) => kv.delete(["b", 2, 2]));
    await assert.rejects(KvStorage.open(path), /block 2, .* is missing parts/);
  });
  // Part 0 lost: the block is unknown, and the hole it leaves is reported.
  await withPath(async (path) => {
    await using(path, async (s) => {
      await s.save({ entries: makeEntries(1, 3, 1), hardState: { term: 1, vote: 1, commit: 3 } });
      await s.save({ entries: makeEntries(4, 6, 1) });
    });
    await raw(path, (kv) => kv.delete(["b", 2, 0]));
    await assert.rejects(KvStorage.open(path), /entry 4 is missing from the log \[1, 6\]/);
  });
});

Deno.test("KvStorage.releaseSnapshotData() drops the data from memory; snapshot() loads it back", async () => {
  await withPath(async (path) => {
    const data = bytes(300 * 1024);
    await using(path, async (s) => {
      await s.save({ entries: makeEntries(1, 20, 1), hardState: { term: 1, vote: 0, commit: 20 } });
      const made = await s.createSnapshot(15, CONF, data);
      assert.deepEqual(made.data, data);
      assert.deepEqual(s.snapshot().data, data, "held after creating it");
      s.releaseSnapshotData();
      assert.deepEqual(s.snapshotMetadata(), { index: 15, term: 1, confState: CONF });
      assert.throws(() => s.snapshot(), SnapshotTemporarilyUnavailableError);
      await s.snapshotLoaded();
      assert.deepEqual(s.snapshot(), { metadata: { index: 15, term: 1, confState: CONF }, data });
      // A newer snapshot replaces a load of the old one that was still running.
      s.releaseSnapshotData();
      assert.throws(() => s.snapshot(), SnapshotTemporarilyUnavailableError);
      await s.createSnapshot(18, CONF, bytes(10));
      await s.snapshotLoaded();
      assert.deepEqual(s.snapshot().data, bytes(10));
    });
  });
});
