/**
 * DbStateMachine adapts the cassemdb {@linkcode Store} and its
 * {@linkcode WatchHub} to the raft driver: it decodes committed entries into
 * store commands, keeps the member table in step with raft membership
 * changes, snapshots, and hands out request ids. A proposer finds its
 * command's result in the store's request table by its request id.
 *
 * @module
 */

import type { StateMachine } from "../../shared/raft/mod.ts";
import {
  type ConfChange,
  ConfChangeType,
  type Entry,
  type Snapshot,
} from "../../shared/raft/mod.ts";
import { decodeCommand } from "../../shared/store/mod.ts";
import { Store } from "../../shared/store/mod.ts";
import type { Member } from "../../shared/store/mod.ts";
import { WatchHub, type WatchHubOptions } from "../../shared/store/mod.ts";
import { NodeRemovedError, WatchLeaderlessError } from "./errors.ts";

/** What a membership change's context carries. */
export interface MemberContext {
  peerAddr: string;
  clientAddr: string;
}

/** Encodes a member's addresses as a membership-change context. */
export function memberContext(m: MemberContext): string {
  return JSON.stringify({ peerAddr: m.peerAddr, clientAddr: m.clientAddr });
}

function parseContext(ctx: string): Partial<MemberContext> {
  if (!ctx) return {};
  try {
    const v = JSON.parse(ctx);
    return {
      peerAddr: typeof v.peerAddr === "string" ? v.peerAddr : undefined,
      clientAddr: typeof v.clientAddr === "string" ? v.clientAddr : undefined,
    };
  } catch {
    return { peerAddr: ctx }; // a bare address
  }
}

/** 16 hex digits of fresh randomness: this process's request id epoch. */
function randomEpoch(): string {
  const [hi, lo] = crypto.getRandomValues(new Uint32Array(2));
  return hi!.toString(16).padStart(8, "0") + lo!.toString(16).padStart(8, "0");
}

/** The replicated state of one cassemdb node. */
export class DbStateMachine implements StateMachine {
  store: Store;
  readonly hub: WatchHub;
  /** Called whenever the member table changed (to update the transport). */
  onMembers: (members: readonly Member[]) => void = () => {};
  /** Called when this node's view of the leader changes. */
  onLeader: (leader: number, term: number) => void = () => {};
  #removed = false;
  #myId = 0;
  /**
   * Request ids are `<node id>.<epoch>.<counter>`: the random 64-bit epoch,
   * chosen once per process, keeps a restarted node (whose counter starts
   * over) from reusing an id that a request table may still hold.
   */
  readonly #epoch = randomEpoch();
  #requests = 0;
  #leader = 0;
  /** See {@linkcode setLeaderlessLimit}; 0 = never. */
  #leaderlessLimitMs = 0;
  #leaderlessTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set once the node went `#leaderlessLimitMs` without a leader; cleared by a leader. */
  #leaderless = false;

  constructor(hubOptions: WatchHubOptions = {}) {
    this.hub = new WatchHub(hubOptions);
    this.store = this.#newStore();
  }

  /** Whether this node applied its own removal from the cluster. */
  get removed(): boolean {
    return this.#removed;
  }

  /**
   * Why this node serves no watch now (removed from the cluster, or without
   * a leader for too long), or `undefined` when it serves them.
   */
  watchRefusal(): Error | undefined {
    if (this.#removed) return new NodeRemovedError(this.#myId);
    if (this.#leaderless) return new WatchLeaderlessError(this.#leaderlessLimitMs);
    return undefined;
  }

  /**
   * Ends every watch, and refuses new ones, once this node has gone `ms`
   * without a leader (0: never), until it has one again: a node cut off from
   * the others, or removed without having learnt it, would otherwise keep its
   * watchers waiting in silence. `leader` is the leader this node knows now.
   */
  setLeaderlessLimit(ms: number, leader: number): void {
    this.#leaderlessLimitMs = ms;
    this.#leader = leader;
    this.#armLeaderless();
  }

  #armLeaderless(): void {
    clearTimeout(this.#leaderlessTimer);
    this.#leaderlessTimer = undefined;
    this.#leaderless = false;
    const ms = this.#leaderlessLimitMs;
    if (this.#leader !== 0 || ms <= 0) return;
    this.#leaderlessTimer = setTimeout(() => {
      this.#leaderless = true;
      this.hub.fail(new WatchLeaderlessError(ms));
    }, ms);
    // A timer of its own must not keep a stopping process alive.
    Deno.unrefTimer(this.#leaderlessTimer);
  }

  /** A request id for the next command this node proposes: unique across the cluster and restarts. */
  nextRequestId(): string {
    return `${this.#myId}.${this.#epoch}.${++this.#requests}`;
  }

  #newStore(bytes?: Uint8Array): Store {
    const onChanges = (revision: number, changes: Parameters<WatchHub["publish"]>[1]) =>
      this.hub.publish(revision, changes);
    return bytes ? Store.restore(bytes, { onChanges }) : new Store({ onChanges });
  }

  /** A removed node's state no longer moves: its watchers end, with a status that says why. */
  #setRemoved(removed: boolean): void {
    const was = this.#removed;
    this.#removed = removed;
    if (removed && !was) this.hub.fail(new NodeRemovedError(this.#myId));
  }

  apply(entries: Entry[]): void {
    for (const e of entries) {
      if (e.data.byteLength === 0) {
        this.store.markApplied(e.index);
        continue;
      }
      const cmd = decodeCommand(e.data);
      this.store.applyCommand(cmd, e.index);
      if (cmd.kind === "members") this.onMembers(this.store.members());
    }
  }

  snapshot(): Uint8Array {
    return this.store.snapshot();
  }

  restore(snapshot: Snapshot): void {
    this.store = this.#newStore(snapshot.data);
    // Watchers that need revisions before the snapshot get a compacted error.
    this.hub.reset(this.store.revision);
    this.#setRemoved(this.#myId !== 0 && !this.store.members().some((m) => m.id === this.#myId));
    this.onMembers(this.store.members());
  }

  onConfChange(cc: ConfChange, _confState: unknown, index: number): void {
    const known = this.store.members().find((m) => m.id === cc.nodeId);
    const ctx = parseContext(cc.context);
    if (cc.type === ConfChangeType.RemoveNode) {
      this.store.removeMember(cc.nodeId);
      if (cc.nodeId === this.#myId) this.#setRemoved(true);
    } else {
      if (cc.nodeId === this.#myId) this.#setRemoved(false);
      this.store.setMember({
        id: cc.nodeId,
        peerAddr: ctx.peerAddr ?? known?.peerAddr ?? "",
        clientAddr: ctx.clientAddr ?? known?.clientAddr ?? "",
        learner: cc.type === ConfChangeType.AddLearner,
      });
    }
    this.store.markApplied(index);
    this.onMembers(this.store.members());
  }

  /** Sets this node's id (it prefixes request ids and recognises this node's removal). */
  setId(id: number): void {
    this.#myId = id;
  }

  onLeaderChange(leader: number, term: number): void {
    this.#leader = leader;
    this.#armLeaderless();
    this.onLeader(leader, term);
  }
}
