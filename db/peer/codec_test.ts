import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type * as grpc from "@grpc/grpc-js";
import { EntryType, type Message, message, MessageType } from "../../shared/raft/types.ts";
import {
  type AnnounceRequest,
  type AnnounceResponse,
  type BatchProto,
  copyBytes,
  decodeAnnounceRequest,
  decodeAnnounceResponse,
  decodeBatch,
  decodeMessage,
  deserializeOwned,
  encodeBatch,
  encodeMessage,
  isNetworkMessageType,
  messageBytes,
  type MessageProto,
  ownBytes,
} from "./codec.ts";
import { raftPeerService } from "./_proto.ts";

const send = raftPeerService().Stream as grpc.MethodDefinition<BatchProto, unknown>;
const announce = raftPeerService().Announce as grpc.MethodDefinition<
  AnnounceRequest,
  AnnounceResponse
>;

/** Through the real wire: encode, serialize, deserialize (as grpc-js does), decode. */
function overTheWire(messages: Message[], from = 1): Message[] {
  const wire = send.requestSerialize(encodeBatch(from, messages));
  const batch = decodeBatch(send.requestDeserialize(wire));
  assert.equal(batch.from, from);
  return batch.messages;
}

function full(type: MessageType): Message {
  return message({
    type,
    from: 1,
    to: 2,
    term: 7,
    logTerm: 6,
    index: 41,
    entries: [
      { term: 6, index: 42, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) },
      { term: 7, index: 43, type: EntryType.ConfChange, data: new Uint8Array([9]) },
    ],
    commit: 40,
    reject: true,
    rejectHint: 39,
    context: `ctx-${type}`,
  });
}

Deno.test("decodeMessage(encodeMessage()) keeps every field of every MessageType", () => {
  const types = Object.values(MessageType).filter((v): v is MessageType => typeof v === "number");
  assert.equal(types.length, 19);
  const sent = types.map(full);
  assert.deepEqual(overTheWire(sent), sent);
});

Deno.test("decodeMessage keeps snapshot chunks with their metadata", () => {
  const data = new Uint8Array(100_000).map((_, i) => i % 253);
  const sent = [
    message({
      type: MessageType.Snap,
      from: 3,
      to: 1,
      term: 9,
      snapshot: {
        metadata: { index: 1000, term: 8, confState: { voters: [1, 2, 3], learners: [4, 5] } },
        offset: 524_288,
        total: 2_000_000,
        data,
      },
    }),
    message({
      type: MessageType.Snap,
      from: 3,
      to: 1,
      snapshot: {
        metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
        offset: 0,
        total: 0,
        data: new Uint8Array(0),
      },
    }),
  ];
  assert.deepEqual(overTheWire(sent), sent);
});

Deno.test("decodeMessage keeps empty fields empty and leaves out an absent snapshot", () => {
  const sent = [
    message({ type: MessageType.Heartbeat }),
    message({
      type: MessageType.App,
      entries: [{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(0) }],
    }),
  ];
  const got = overTheWire(sent);
  assert.deepEqual(got, sent);
  assert.equal("snapshot" in got[0]!, false);
  assert.equal(got[0]!.context, "");
  assert.deepEqual(got[0]!.entries, []);
  assert.equal(got[1]!.entries[0]!.data.byteLength, 0);
});

Deno.test("decodeMessage keeps numbers up to 2^53 - 1 and any text in context", () => {
  const max = Number.MAX_SAFE_INTEGER;
  const sent = [
    message({
      type: MessageType.ReadIndexResp,
      from: max,
      to: max - 1,
      term: max,
      logTerm: max,
      index: max,
      commit: max,
      rejectHint: max,
      context: "read é ✓ 🚀",
      entries: [{ term: max, index: max, type: EntryType.Normal, data: new Uint8Array([255]) }],
    }),
  ];
  assert.deepEqual(overTheWire(sent), sent);
});

Deno.test("decodeMessage gives plain Uint8Arrays that share nothing with the wire", () => {
  const sent = [
    message({
      type: MessageType.Snap,
      to: 2,
      entries: [{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array([5, 6, 7]) }],
      snapshot: {
        metadata: { index: 1, term: 1, confState: { voters: [1], learners: [] } },
        offset: 0,
        total: 2,
        data: new Uint8Array([8, 9]),
      },
    }),
  ];
  const wire = send.requestSerialize(encodeBatch(1, sent));
  const proto = send.requestDeserialize(wire);
  // grpc-js hands out Buffers that view the frame...
  assert.ok(proto.messages[0]!.entries[0]!.data.buffer === wire.buffer);
  const got = decodeBatch(proto).messages[0]!;
  // ...the codec copies them into plain arrays of their own.
  const data = got.entries[0]!.data;
  const snap = got.snapshot!.data;
  assert.equal(Object.getPrototypeOf(data), Uint8Array.prototype);
  assert.equal(Object.getPrototypeOf(snap), Uint8Array.prototype);
  assert.equal(data.byteOffset, 0);
  assert.equal(data.buffer.byteLength, 3);
  wire.fill(0);
  assert.deepEqual(data, new Uint8Array([5, 6, 7]));
  assert.deepEqual(snap, new Uint8Array([8, 9]));
});

Deno.test("deserializeOwned decodes from a copy whose views decodeMessage keeps", () => {
  const sent = [
    message({
      type: MessageType.App,
      to: 2,
      entries: [
        { term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array([5, 6, 7]) },
        { term: 1, index: 2, type: EntryType.Normal, data: new Uint8Array(0) },
      ],
    }),
  ];
  const wire = send.requestSerialize(encodeBatch(1, sent));
  const proto = deserializeOwned(send.requestDeserialize)(wire);
  const view = proto.messages[0]!.entries[0]!.data;
  assert.equal(Object.getPrototypeOf(view), Uint8Array.prototype);
  assert.notEqual(view.buffer, wire.buffer);
  const got = decodeBatch(proto).messages[0]!;
  // Taken over, not copied again...
  assert.equal(got.entries[0]!.data, view);
  // ...and owned: the frame grpc-js holds can change under it.
  wire.fill(0);
  assert.deepEqual(got.entries[0]!.data, new Uint8Array([5, 6, 7]));
  assert.equal(got.entries[1]!.data.byteLength, 0);
  assert.equal(got.entries[1]!.data.buffer.byteLength, 0);
  assert.deepEqual(got, sent[0]);
});

Deno.test("ownBytes keeps plain arrays and copies everything else", () => {
  const plain = new Uint8Array([1, 2]);
  assert.equal(ownBytes(plain), plain);
  const buf = Buffer.from([3, 4]);
  const owned = ownBytes(buf);
  assert.notEqual(owned.buffer, buf.buffer);
  assert.equal(Object.getPrototypeOf(owned), Uint8Array.prototype);
  assert.deepEqual(owned, new Uint8Array([3, 4]));
  const empty = new Uint8Array(8).subarray(4, 4);
  assert.equal(ownBytes(empty).buffer.byteLength, 0);
  assert.deepEqual(ownBytes(null), new Uint8Array(0));
});

Deno.test("encodeMessage shares byte arrays and does not touch the message", () => {
  const m = full(MessageType.App);
  const before = structuredClone(m);
  const p = encodeMessage(m);
  assert.equal(p.entries[0]!.data, m.entries[0]!.data);
  assert.equal("snapshot" in p, false);
  assert.deepEqual(m, before);
});

Deno.test("decodeMessage reads missing proto fields as their defaults", () => {
  const p = { type: MessageType.Vote } as unknown as MessageProto;
  assert.deepEqual(decodeMessage(p), message({ type: MessageType.Vote }));
  const snap = decodeMessage({
    type: MessageType.Snap,
    snapshot: { metadata: null, offset: 1, total: 2, data: null },
  } as unknown as MessageProto).snapshot!;
  assert.deepEqual(snap, {
    metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
    offset: 1,
    total: 2,
    data: new Uint8Array(0),
  });
});

Deno.test("decodeMessage passes unknown enum values through as numbers", () => {
  const sent = [
    message({
      type: 42 as MessageType,
      entries: [{ term: 1, index: 1, type: 7 as EntryType, data: new Uint8Array(0) }],
    }),
  ];
  const got = overTheWire(sent);
  assert.equal(got[0]!.type, 42);
  assert.equal(got[0]!.entries[0]!.type, 7);
});

Deno.test("decodeBatch keeps the order of a large batch", () => {
  const sent = Array.from(
    { length: 5000 },
    (_, i) => message({ type: MessageType.AppResp, from: 2, to: 1, index: i }),
  );
  assert.deepEqual(overTheWire(sent, 2).map((m) => m.index), sent.map((m) => m.index));
});

Deno.test("copyBytes copies into a new plain Uint8Array", () => {
  const src = new Uint8Array([1, 2, 3, 4]).subarray(1, 3);
  const out = copyBytes(src);
  assert.deepEqual(out, new Uint8Array([2, 3]));
  src[0] = 99;
  assert.equal(out[0], 2);
  assert.deepEqual(copyBytes(null), new Uint8Array(0));
  assert.deepEqual(copyBytes(undefined), new Uint8Array(0));
});

Deno.test("isNetworkMessageType accepts remote kinds only", () => {
  const remote = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 18];
  for (let t = -1; t <= 20; t++) {
    assert.equal(isNetworkMessageType(t), remote.includes(t), `type ${t}`);
  }
  assert.equal(isNetworkMessageType(3.5), false);
});

Deno.test("messageBytes counts payloads plus overheads", () => {
  const empty = messageBytes(message({ type: MessageType.Heartbeat }));
  assert.equal(empty, 64);
  const m = message({
    type: MessageType.App,
    context: "abc",
    entries: [{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(100) }],
  });
  assert.equal(messageBytes(m), 64 + 3 + 24 + 100);
  const s = message({
    type: MessageType.Snap,
    snapshot: {
      metadata: { index: 1, term: 1, confState: { voters: [1, 2], learners: [3] } },
      offset: 0,
      total: 10,
      data: new Uint8Array(10),
    },
  });
  assert.equal(messageBytes(s), 64 + 10 + 24);
});

Deno.test("decodeAnnounceRequest and decodeAnnounceResponse read the wire objects", () => {
  const req: AnnounceRequest = { id: 4, peerAddr: "10.0.0.4:7001", clientAddr: "10.0.0.4:2379" };
  const wire = announce.requestSerialize(req);
  assert.deepEqual(decodeAnnounceRequest(announce.requestDeserialize(wire)), req);
  const resp: AnnounceResponse = { ok: true, leader: 2 };
  const back = announce.responseDeserialize(announce.responseSerialize(resp));
  assert.deepEqual(decodeAnnounceResponse(back), resp);
  assert.deepEqual(decodeAnnounceRequest({}), { id: 0, peerAddr: "", clientAddr: "" });
  assert.deepEqual(decodeAnnounceResponse({}), { ok: false, leader: 0 });
});
