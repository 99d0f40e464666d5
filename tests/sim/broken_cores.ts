/**
 * Deliberately broken raft cores, to show that the checkers catch the bugs
 * they are meant to catch. Never used outside tests.
 *
 * @module
 */

import { Raft } from "../../shared/raft/raft.ts";
import type { RaftFactory } from "../../shared/raft/raw_node.ts";
import type { Message } from "../../shared/raft/types.ts";

/** Grants every vote whose log is up to date, even after voting for another candidate in the term. */
export class VotesTwiceRaft extends Raft {
  protected override canGrantVote(_m: Message): boolean {
    return true;
  }
}

/** Commits whatever a majority holds, even an entry of an older term (the Figure 8 bug). */
export class CommitsOldTermRaft extends Raft {
  protected override maybeCommit(): boolean {
    const idx = this.trk.committed();
    const term = this.raftLog.term(idx);
    return term !== undefined && this.raftLog.maybeCommit(idx, term);
  }
}

/** Factories keyed by a name, for the CLI and tests. */
export const BROKEN_CORES: Record<string, RaftFactory> = {
  "votes-twice": (c) => new VotesTwiceRaft(c),
  "commits-old-term": (c) => new CommitsOldTermRaft(c),
};
