/**
 * Saying why a node cannot serve. {@linkcode ServingWatch} tracks how long
 * the node has known no leader, gives the reason a write or a linearizable
 * read is refused right now, and produces a warning line every few seconds
 * while the node has had no leader for longer than an election timeout (the
 * longest one raft draws, twice the configured one, so that an election that
 * is merely under way is not reported), or is recovering from a lost disk,
 * naming the peers it cannot reach and why.
 * Pure: time and the node's state come in as arguments.
 *
 * @module
 */

import { describeFailure, isUnreachable, type PeerHealth } from "../peer/mod.ts";

/** A stream that waits this long for the peer to accept it counts as "no answer". */
const NO_ANSWER_MS = 1_000;

/** Default of {@linkcode ServingWatchOptions.warnEveryMs}. */
export const DEFAULT_WARN_EVERY_MS = 3_000;

/** What the node tells {@linkcode ServingWatch} about itself. */
export interface ServingState {
  /** Now, in ms since the epoch. */
  now: number;
  /** The leader it knows (0: none). */
  leader: number;
  /** Its current term. */
  term: number;
  /** Its raft role ("follower", "pre-candidate", ...). */
  role: string;
  /** Recovering from a lost disk: it neither votes nor may serve linearizable reads yet. */
  recovering: boolean;
  /** Removed from the cluster. */
  removed: boolean;
  /** Entries applied so far. */
  applied: number;
  /** The other voters, as the transport sees them. */
  peers: PeerHealth[];
}

/** Options of {@linkcode ServingWatch}. */
export interface ServingWatchOptions {
  /** The node's election timeout in ms: leaderless for longer than this is worth a warning. */
  electionTimeoutMs: number;
  /** Least time between two warnings, in ms (default 3,000). */
  warnEveryMs?: number;
  /** When the node started (ms since the epoch): it knew no leader since then. */
  startedAt: number;
}

/** Tracks a node's leaderless and recovering spells; see the module doc. */
export class ServingWatch {
  readonly #electionTimeoutMs: number;
  readonly #warnEveryMs: number;
  /** Since when no leader has been known; undefined while one is. */
  #leaderlessSince: number | undefined;
  #recoveringSince: number | undefined;
  #warnedAt = -Infinity;

  /** A watch of a node that started at `opts.startedAt` without a leader. */
  constructor(opts: ServingWatchOptions) {
    this.#electionTimeoutMs = opts.electionTimeoutMs;
    this.#warnEveryMs = opts.warnEveryMs ?? DEFAULT_WARN_EVERY_MS;
    this.#leaderlessSince = opts.startedAt;
    this.#recoveringSince = opts.startedAt;
  }

  /**
   * Records `s` and returns the warning to log now, if one is due: while the
   * node has known no leader for longer than an election timeout, or is
   * recovering, at most one every `warnEveryMs`. A removed node gets none
   * (it said so once, when it learned it).
   */
  observe(s: ServingState): string | undefined {
    this.#track(s);
    if (s.removed) return undefined;
    // Raft draws election timeouts from [T, 2T): before 2T an election may just be under way.
    const leaderless = s.leader === 0 &&
      s.now - this.#leaderlessSince! > 2 * this.#electionTimeoutMs;
    if (!leaderless && !s.recovering) return undefined;
    if (s.now - this.#warnedAt < this.#warnEveryMs) return undefined;
    this.#warnedAt = s.now;
    if (leaderless) {
      const why = `no leader for ${
        seconds(s.now - this.#leaderlessSince!)
      } (term ${s.term}, ${s.role})`;
      return s.recovering
        ? `${why}; recovering from a lost disk, so it does not vote: ${
          describePeers(s.peers, s.now)
        }`
        : `${why}: ${describePeers(s.peers, s.now)}`;
    }
    return `recovering from a lost disk for ${
      seconds(s.now - this.#recoveringSince!)
    } (applied ${s.applied}, leader ${s.leader}): it neither votes nor serves linearizable reads until it has caught up with the leader`;
  }

  /**
   * Why the node cannot serve a write (`read` false) or a linearizable read
   * now, or undefined when it may try: removed, no leader known, or (reads
   * only) recovering. A recovering follower still takes writes: it
   * redirects them to the leader.
   */
  refusal(s: ServingState, read: boolean): string | undefined {
    this.#track(s);
    if (s.removed) return "this node was removed from the cluster";
    if (s.leader === 0) {
      return `this node knows no leader (for ${
        seconds(s.now - this.#leaderlessSince!)
      }, term ${s.term}${s.recovering ? ", recovering from a lost disk" : ""}): ${
        describePeers(s.peers, s.now)
      }`;
    }
    if (read && s.recovering) {
      return `this node is recovering from a lost disk and has not caught up with leader ${s.leader} yet (applied ${s.applied})`;
    }
    return undefined;
  }

  /** Records a change of the known leader (0: none) at `now`, as it happens. */
  noteLeader(leader: number, now: number): void {
    if (leader !== 0) this.#leaderlessSince = undefined;
    else this.#leaderlessSince ??= now;
  }

  #track(s: ServingState): void {
    if (s.leader !== 0) this.#leaderlessSince = undefined;
    else this.#leaderlessSince ??= s.now;
    if (!s.recovering) this.#recoveringSince = undefined;
    else this.#recoveringSince ??= s.now;
  }
}

/**
 * The peers a node cannot reach and why ("cannot reach node 2 at
 * 127.0.0.1:7032 (connection refused)"), and those it can.
 */
export function describePeers(peers: readonly PeerHealth[], now: number): string {
  if (peers.length === 0) return "it has no other voter";
  const name = (p: PeerHealth) => `node ${p.id}${p.address ? ` at ${p.address}` : ""}`;
  const down: string[] = [];
  const up: string[] = [];
  for (const p of peers) {
    const why = unreachableBecause(p, now);
    if (why) down.push(`${name(p)} (${why})`);
    else if (p.heardAt > 0 && now - p.heardAt >= NO_ANSWER_MS) {
      up.push(`${name(p)} (silent for ${seconds(now - p.heardAt)})`);
    } else up.push(name(p));
  }
  const parts: string[] = [];
  if (down.length > 0) parts.push(`cannot reach ${down.join(", ")}`);
  if (up.length > 0 && down.length > 0) parts.push(`reaches ${up.join(", ")}`);
  if (up.length > 0 && down.length === 0) {
    parts.push(`reaches every peer (${up.join(", ")}) but has heard from no leader yet`);
  }
  return parts.join("; ");
}

/** Why `p` counts as unreachable at `now`, or undefined when it was reached since its last failure. */
function unreachableBecause(p: PeerHealth, now: number): string | undefined {
  if (p.address === undefined) return "no address known";
  // A peer that takes connections but never answers (hung, stopped) shows as a stream that waits.
  if (p.waitingSince > 0 && now - p.waitingSince >= NO_ANSWER_MS) {
    return `no answer for ${seconds(now - p.waitingSince)}`;
  }
  if (p.failure && isUnreachable(p)) return describeFailure(p.failure);
  if (p.acceptedAt === 0 && p.heardAt === 0) return "no answer yet";
  return undefined;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
