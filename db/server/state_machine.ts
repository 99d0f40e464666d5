/**
 * DbStateMachine adapts the cassemdb {@linkcode Store} and its
 * {@linkcode WatchHub} to the raft driver: it decodes committed entries into
 * store commands, keeps each command's result for the local proposer, keeps
 * the member table in step with raft membership changes, and snapshots.
 *
 * @module
 */

import type { StateMachine } from "../../shared/raft/node.ts";
import {
  type ConfChange,
  ConfChangeType,
  type Entry,
  type Snapshot,
} from "../../shared/raft/types.ts";
import { decodeCommand } from "../../shared/store/mod.ts";
import { type ApplyResult, Store } from "../../shared/store/mod.ts";
import type { Member } from "../../shared/store/mod.ts";
import { WatchHub, type WatchHubOptions } from "../../shared/store/mod.ts";

/** Results kept for proposers at most; older ones nobody asked for are dropped. */
const MAX_RESULTS = 10_000;

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

/** The replicated state of one cassemdb node. */
export class DbStateMachine implements StateMachine {
  store: Store;
  readonly hub: WatchHub;
  /** Called whenever the member table changed (to update the transport). */
  onMembers: (members: readonly Member[]) => void = () => {};
  /** Called when this node's view of the leader changes. */
  onLeader: (leader: number, term: number) => void = () => {};
  /** Set once this node applied its own removal from the cluster. */
  removed = false;
  readonly #results = new Map<number, ApplyResult>();
  /** Terms this node led: only its own proposals (entries of those terms) need results. */
  readonly #ledTerms = new Set<number>();
  #myId = 0;

  constructor(hubOptions: WatchHubOptions = {}) {
    this.hub = new WatchHub(hubOptions);
    this.store = this.#newStore();
  }

  #newStore(bytes?: Uint8Array): Store {
    const onChanges = (revision: number, changes: Parameters<WatchHub["publish"]>[1]) =>
      this.hub.publish(revision, changes);
    return bytes ? Store.restore(bytes, { onChanges }) : new Store({ onChanges });
  }

  apply(entries: Entry[]): void {
    for (const e of entries) {
      if (e.data.byteLength === 0) {
        this.store.markApplied(e.index);
        continue;
      }
      const cmd = decodeCommand(e.data);
      const result = this.store.applyCommand(cmd, e.index);
      if (cmd.kind === "members") this.onMembers(this.store.members());
      if (!this.#ledTerms.has(e.term)) continue;
      this.#results.set(e.index, result);
      if (this.#results.size > MAX_RESULTS) {
        this.#results.delete(this.#results.keys().next().value!);
      }
    }
  }

  /** The result of the command applied at `index`, once (then forgotten). */
  takeResult(index: number): ApplyResult | undefined {
    const r = this.#results.get(index);
    this.#results.delete(index);
    return r;
  }

  snapshot(): Uint8Array {
    return this.store.snapshot();
  }

  restore(snapshot: Snapshot): void {
    this.store = this.#newStore(snapshot.data);
    // Watchers that need revisions before the snapshot get a compacted error.
    this.hub.reset(this.store.revision);
    this.#results.clear();
    this.removed = this.#myId !== 0 && !this.store.members().some((m) => m.id === this.#myId);
    this.onMembers(this.store.members());
  }

  onConfChange(cc: ConfChange, _confState: unknown, index: number): void {
    const known = this.store.members().find((m) => m.id === cc.nodeId);
    const ctx = parseContext(cc.context);
    if (cc.type === ConfChangeType.RemoveNode) {
      this.store.removeMember(cc.nodeId);
      if (cc.nodeId === this.#myId) this.removed = true;
    } else {
      if (cc.nodeId === this.#myId) this.removed = false;
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

  /** Sets this node's id (to recognise the terms it leads). */
  setId(id: number): void {
    this.#myId = id;
  }

  onLeaderChange(leader: number, term: number): void {
    if (leader === this.#myId && this.#myId !== 0) {
      this.#ledTerms.add(term);
      if (this.#ledTerms.size > 64) this.#ledTerms.delete(this.#ledTerms.values().next().value!);
    }
    this.onLeader(leader, term);
  }
}
