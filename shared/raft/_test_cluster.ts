/**
 * A synchronous in-memory cluster for unit tests: every Ready is persisted to
 * a MemoryStorage at once and its messages delivered, unless cut.
 * (The fault-injecting simulator lives in tests/sim.)
 *
 * @module
 */

import { SeededPrng } from "../prng.ts";
import type { Config } from "./raft.ts";
import { type RaftFactory, RawNode } from "./raw_node.ts";
import { MemoryStorage } from "./storage.ts";
import {
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type ReadState,
  StateType,
} from "./types.ts";

/** One node of a {@linkcode TestCluster}. */
export interface TestNode {
  id: number;
  rn: RawNode;
  storage: MemoryStorage;
  /** Data of applied normal entries, in order (empty no-ops skipped). */
  applied: string[];
  /** Index of the last applied entry. */
  appliedIndex: number;
  confState: ConfState;
  readStates: ReadState[];
}

/** Options for {@linkcode TestCluster}. */
export interface TestClusterOptions {
  /** Overrides of the raft config. */
  config?: Partial<Config>;
  /** Builds the core of the given node ids (default: the real one). */
  factory?: (id: number) => RaftFactory | undefined;
  seed?: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A cluster whose network delivers instantly; links can be cut. */
export class TestCluster {
  readonly nodes = new Map<number, TestNode>();
  /** Messages seen on the wire, for assertions. */
  readonly wire: Message[] = [];
  /** Drops messages for which this returns true. */
  filter: (m: Message) => boolean = () => false;
  readonly #cut = new Set<string>();
  readonly #opts: TestClusterOptions;
  readonly #prng: SeededPrng;
  #queue: Message[] = [];

  constructor(voters: number[], opts: TestClusterOptions = {}) {
    this.#opts = opts;
    this.#prng = new SeededPrng(opts.seed ?? 1);
    for (const id of voters) this.add(id, MemoryStorage.bootstrap(voters));
    this.stabilize(); // apply the bootstrap membership
  }

  /** Adds (or restarts) node `id` on `storage`, with `config` over the cluster's. */
  add(
    id: number,
    storage: MemoryStorage = new MemoryStorage(),
    config: Partial<Config> = {},
  ): TestNode {
    const full: Config = {
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      prng: this.#prng.fork(),
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      ...this.#opts.config,
      ...config,
    };
    const snap = storage.snapshot();
    const node: TestNode = {
      id,
      rn: new RawNode(full, this.#opts.factory?.(id)),
      storage,
      applied: [],
      appliedIndex: snap.metadata.index,
      confState: structuredClone(snap.metadata.confState),
      readStates: [],
    };
    this.nodes.set(id, node);
    return node;
  }

  node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new RangeError(`Cannot find node ${id}`);
    return n;
  }

  /** Cuts both directions between `a` and `b`. */
  cut(a: number, b: number): void {
    this.#cut.add(`${a}-${b}`);
    this.#cut.add(`${b}-${a}`);
  }

  /** Cuts `id` from every other node. */
  isolate(id: number): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  /** Restores every link. */
  heal(): void {
    this.#cut.clear();
  }

  /** Removes a node as if it crashed; its storage survives in the returned node. */
  crash(id: number): TestNode {
    const n = this.node(id);
    this.nodes.delete(id);
    return n;
  }

  /** Processes Readies and delivers messages until nothing is left to do. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let busy = false;
      for (const n of this.nodes.values()) {
        if (n.rn.hasReady()) {
          busy = true;
          this.#handleReady(n);
        }
      }
      if (this.#queue.length > 0) {
        busy = true;
        const q = this.#queue;
        this.#queue = [];
        for (const m of q) this.deliver(m);
      }
      if (!busy) return;
    }
    throw new Error("Cannot stabilize the test cluster within the round limit");
  }

  /** Delivers one message now, unless its link is cut or the filter drops it. */
  deliver(m: Message): void {
    if (this.#cut.has(`${m.from}-${m.to}`) || this.filter(m)) return;
    const n = this.nodes.get(m.to);
    if (!n) return;
    n.rn.step(structuredClone(m));
  }

  /** Ticks every node `n` times, stabilizing after each tick. */
  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.rn.tick();
      this.stabilize();
    }
  }

  /** Campaigns `id` and stabilizes. */
  elect(id: number): void {
    this.node(id).rn.campaign();
    this.stabilize();
  }

  /** Proposes a string on `id` and stabilizes. */
  propose(id: number, data: string): void {
    this.node(id).rn.propose(encoder.encode(data));
    this.stabilize();
  }

  /** The leaders, as seen by the nodes themselves. */
  leaders(): number[] {
    return [...this.nodes.values()]
      .filter((n) => n.rn.raft.state === StateType.Leader)
      .map((n) => n.id);
  }

  #handleReady(n: TestNode): void {
    const rd = n.rn.ready();
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    for (const m of [...rd.earlyMessages, ...rd.messages]) {
      this.wire.push(m);
      this.#queue.push(m);
    }
    if (rd.snapshot) {
      n.applied = decoder.decode(rd.snapshot.data).split("\n").filter((s) => s !== "");
      n.appliedIndex = rd.snapshot.metadata.index;
      n.confState = rd.snapshot.metadata.confState;
    }
    for (const e of rd.committedEntries) this.#apply(n, e);
    n.readStates.push(...rd.readStates);
    n.rn.advance(rd);
  }

  #apply(n: TestNode, e: Entry): void {
    n.appliedIndex = e.index;
    if (e.type === EntryType.ConfChange) {
      n.confState = n.rn.applyConfChange(RawNode.decodeConfChange(e.data));
    } else if (e.data.byteLength > 0) {
      n.applied.push(decoder.decode(e.data));
    }
  }

  /** Snapshots node `id`'s state machine at its applied index and compacts its log there. */
  snapshotAndCompact(id: number): void {
    const n = this.node(id);
    const data = encoder.encode(n.applied.join("\n"));
    n.storage.createSnapshot(n.appliedIndex, n.confState, data);
    n.storage.compact(n.appliedIndex);
  }
}

/** Message types on the wire from `from` to `to`, for terse assertions. */
export function typesOf(msgs: Message[]): string[] {
  return msgs.map((m) => `${MessageType[m.type]} ${m.from}->${m.to}`);
}
