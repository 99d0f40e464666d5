import assert from "node:assert/strict";
import { NotLeaderError } from "./errors.ts";
import { KvStorage } from "./kv_storage.ts";
import { RaftNode, type StateMachine } from "./node.ts";
import { LocalNetwork } from "./transport.ts";
import { ConfChangeType, type Entry, type Snapshot } from "./types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A list of applied strings; its snapshot is the JSON of the list. */
class ListMachine implements StateMachine {
  items: string[] = [];
  apply(entries: Entry[]): void {
    for (const e of entries) if (e.data.byteLength > 0) this.items.push(dec.decode(e.data));
  }
  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify(this.items));
  }
  restore(s: Snapshot): void {
    this.items = JSON.parse(dec.decode(s.data));
  }
}

interface Harness {
  dir: string;
  net: LocalNetwork;
  nodes: Map<number, RaftNode>;
  machines: Map<number, ListMachine>;
  start(id: number, bootstrap?: number[]): Promise<RaftNode>;
  leader(): Promise<RaftNode>;
  stopAll(): Promise<void>;
}

async function harness(voters: number[], snapshotEvery = 10_000): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "raft-node-" });
  const net = new LocalNetwork();
  const h: Harness = {
    dir,
    net,
    nodes: new Map(),
    machines: new Map(),
    async start(id, bootstrap = voters) {
      const sm = new ListMachine();
      const node = await RaftNode.start({
        id,
        storage: await KvStorage.open(`${dir}/${id}.db`),
        transport: net.connect(id),
        stateMachine: sm,
        bootstrap,
        tickMs: 10,
        snapshotEvery,
        keepEntries: 2,
        seed: id,
      });
      h.nodes.set(id, node);
      h.machines.set(id, sm);
      return node;
    },
    async leader() {
      for (let i = 0; i < 300; i++) {
        const l = [...h.nodes.values()].find((n) => n.isLeader);
        if (l) return l;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error("Cannot find a leader within 3 s");
    },
    async stopAll() {
      for (const n of h.nodes.values()) await n.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
  for (const id of voters) await h.start(id);
  return h;
}

async function eventually(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("Cannot reach the condition in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("RaftNode replicates proposals that resolve once applied", async () => {
  const h = await harness([1, 2, 3]);
  try {
    const l = await h.leader();
    const indexes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => l.propose(enc.encode(`v${i}`))),
    );
    assert.deepEqual(indexes, [...indexes].sort((a, b) => a - b));
    assert.equal(new Set(indexes).size, 50);
    assert.equal(h.machines.get(l.id)!.items.length, 50);
    await eventually(() => [...h.machines.values()].every((m) => m.items.length === 50));
    for (const m of h.machines.values()) assert.deepEqual(m.items, h.machines.get(l.id)!.items);
  } finally {
    await h.stopAll();
  }
});

Deno.test("RaftNode refuses proposals on a follower, naming the leader", async () => {
  const h = await harness([1, 2, 3]);
  try {
    const l = await h.leader();
    await eventually(() => [...h.nodes.values()].every((n) => n.leader === l.id));
    const f = [...h.nodes.values()].find((n) => !n.isLeader)!;
    await assert.rejects(
      f.propose(enc.encode("x")),
      (e) => e instanceof NotLeaderError && e.leaderHint === l.id,
    );
  } finally {
    await h.stopAll();
  }
});

Deno.test("RaftNode linearizable read on a follower sees an acknowledged write", async () => {
  const h = await harness([1, 2, 3]);
  try {
    const l = await h.leader();
    const f = [...h.nodes.values()].find((n) => !n.isLeader)!;
    for (let i = 0; i < 5; i++) {
      await l.propose(enc.encode(`w${i}`));
      await f.linearizableRead();
      assert.equal(h.machines.get(f.id)!.items.at(-1), `w${i}`);
    }
  } finally {
    await h.stopAll();
  }
});

Deno.test("RaftNode survives the leader stopping and a restart from disk", async () => {
  const h = await harness([1, 2, 3], 20);
  try {
    const l = await h.leader();
    for (let i = 0; i < 60; i++) await l.propose(enc.encode(`a${i}`));
    await l.stop();
    h.nodes.delete(l.id);
    const l2 = await h.leader();
    assert.notEqual(l2.id, l.id);
    await l2.propose(enc.encode("after"));
    const back = await h.start(l.id);
    await eventually(() => h.machines.get(back.id)!.items.at(-1) === "after");
    assert.deepEqual(h.machines.get(back.id)!.items, h.machines.get(l2.id)!.items);
    assert.equal(h.machines.get(back.id)!.items.length, 61);
  } finally {
    await h.stopAll();
  }
});

Deno.test("RaftNode adds an empty node as a learner, catches it up by snapshot, promotes it", async () => {
  const h = await harness([1, 2, 3], 10);
  try {
    const l = await h.leader();
    for (let i = 0; i < 40; i++) await l.propose(enc.encode(`b${i}`));
    const joiner = await h.start(4, []);
    assert.equal(joiner.rn.raft.recovering, true);
    await l.proposeConfChange({ type: ConfChangeType.AddLearner, nodeId: 4, context: "" });
    await eventually(() => h.machines.get(4)!.items.length === 40);
    await l.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 4, context: "" });
    await eventually(() => joiner.confState.voters.includes(4));
    await l.propose(enc.encode("five"));
    await eventually(() => h.machines.get(4)!.items.at(-1) === "five");
    assert.equal(joiner.rn.raft.recovering, false);
  } finally {
    await h.stopAll();
  }
});

Deno.test("RaftNode snapshots by bytes too, and keeps at most keepBytes of log behind it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raft-node-" });
  const storage = await KvStorage.open(`${dir}/1.db`);
  const node = await RaftNode.start({
    id: 1,
    storage,
    transport: new LocalNetwork().connect(1),
    stateMachine: new ListMachine(),
    bootstrap: [1],
    tickMs: 10,
    // Counts alone would never snapshot or compact here.
    snapshotEvery: 1_000_000,
    keepEntries: 1_000_000,
    snapshotBytes: 64 * 1024,
    keepBytes: 16 * 1024,
    seed: 1,
  });
  try {
    await eventually(() => node.isLeader);
    const value = enc.encode("x".repeat(4096));
    for (let i = 0; i < 40; i++) await node.propose(value); // 160 KiB of entries
    const snap = storage.snapshotMetadata().index;
    assert.ok(snap >= 16, `a snapshot by bytes: current index ${snap}`);
    const behind = storage.entries(storage.firstIndex(), snap + 1, Infinity);
    const bytes = behind.reduce((n, e) => n + e.data.byteLength, 0);
    assert.ok(
      behind.length >= 1 && bytes <= 16 * 1024,
      `kept ${behind.length} entries, ${bytes} B`,
    );
  } finally {
    await node.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
