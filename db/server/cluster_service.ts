/**
 * The Cluster gRPC service: membership (AddNode as a learner, promoted once
 * caught up; RemoveNode), Members, Status and TransferLeader.
 *
 * @module
 */

import { grpc } from "../../shared/grpc.ts";
import { NotLeaderError } from "../../shared/raft/mod.ts";
import { ConfChangeType, StateType } from "../../shared/raft/mod.ts";
import type { Member } from "../../shared/store/mod.ts";
import { checkAddress, InvalidArgumentError } from "../../shared/store/mod.ts";
import type { DbNode } from "./db_node.ts";
import { StatusError, unaryHandlers } from "./grpc_errors.ts";
import { memberContext } from "./state_machine.ts";

const ROLES: Record<StateType, string> = {
  [StateType.Leader]: "leader",
  [StateType.Follower]: "follower",
  [StateType.Candidate]: "candidate",
  [StateType.PreCandidate]: "pre-candidate",
};

/** Members as the Cluster service reports them. */
export function protoMembers(members: readonly Member[]): Member[] {
  return [...members].sort((a, b) => a.id - b.id).map((m) => ({ ...m }));
}

/** Builds the Cluster service implementation over `node`. */
export function clusterService(node: DbNode): Record<string, unknown> {
  const unary = unaryHandlers((e) => node.statusOf(e));
  const requireLeader = () => {
    if (!node.raft.isLeader) throw new NotLeaderError(node.raft.leader);
  };

  return {
    AddNode: unary(async (req) => {
      const peerAddr = checkAddress("peer_addr", req.peerAddr);
      const clientAddr = checkAddress("client_addr", req.clientAddr);
      requireLeader();
      const members = node.store.members();
      const requested = Number(req.id ?? 0);
      if (!Number.isInteger(requested) || requested < 0) {
        throw new InvalidArgumentError(
          "id",
          `it must be a non-negative integer: current value is ${req.id}`,
        );
      }
      if (requested > 0 && members.some((m) => m.id === requested)) {
        throw new StatusError(
          grpc.status.ALREADY_EXISTS,
          `Cannot add node ${requested} as it is already a member`,
        );
      }
      const taken = members.find((m) => m.peerAddr === peerAddr);
      if (taken) {
        throw new StatusError(
          grpc.status.ALREADY_EXISTS,
          `Cannot add a node at ${peerAddr} as member ${taken.id} already uses that peer address`,
        );
      }
      const id = requested || Math.max(0, ...members.map((m) => m.id), node.maxSeenId) + 1;
      await node.raft.proposeConfChange({
        type: ConfChangeType.AddLearner,
        nodeId: id,
        context: memberContext({ peerAddr, clientAddr }),
      });
      return { id, members: protoMembers(node.store.members()) };
    }),

    RemoveNode: unary(async (req) => {
      const id = Number(req.id);
      requireLeader();
      if (!node.store.members().some((m) => m.id === id)) {
        throw new StatusError(
          grpc.status.NOT_FOUND,
          `Cannot remove node ${req.id} as it is not a member`,
        );
      }
      const voters = node.raft.confState.voters;
      if (voters.length === 1 && voters[0] === id) {
        throw new StatusError(
          grpc.status.FAILED_PRECONDITION,
          `Cannot remove node ${id} as it is the last voter`,
        );
      }
      await node.raft.proposeConfChange({
        type: ConfChangeType.RemoveNode,
        nodeId: id,
        context: "",
      });
      return { members: protoMembers(node.store.members()) };
    }),

    Members: unary(() => {
      return Promise.resolve({
        members: protoMembers(node.store.members()),
        leader: node.raft.leader,
      });
    }),

    Status: unary(() => Promise.resolve(node.statusReport())),

    TransferLeader: unary(async (req) => {
      const id = Number(req.id);
      requireLeader();
      if (!node.raft.confState.voters.includes(id)) {
        throw new StatusError(
          grpc.status.FAILED_PRECONDITION,
          `Cannot transfer leadership to ${req.id} as it is not a voter`,
        );
      }
      if (id === node.id) return { leader: id };
      node.raft.transferLeadership(id);
      const deadline = Date.now() + node.electionTimeoutMs * 3;
      while (Date.now() < deadline && node.raft.leader !== id) {
        await new Promise((r) => setTimeout(r, 10));
      }
      if (node.raft.leader !== id) {
        throw new StatusError(
          grpc.status.DEADLINE_EXCEEDED,
          `Cannot confirm the transfer to ${id} as it did not become leader in time: current leader is ${node.raft.leader}`,
        );
      }
      return { leader: id };
    }),
  };
}

/** The role name of a raft state. */
export function roleName(s: StateType): string {
  return ROLES[s];
}
