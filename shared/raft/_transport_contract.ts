/**
 * The contract every {@linkcode Transport} meets, as one suite run against
 * each implementation (the in-process LocalNetwork here, the gRPC transport
 * in cassemdb).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Transport } from "./transport.ts";
import { EntryType, type Message, message, MessageType } from "./types.ts";

/** A set of connected transports for nodes 1..n, and how to tear them down. */
export interface TransportFixture {
  /** Transport of node `id` (1-based), not yet started. */
  transport(id: number): Transport;
  /** Makes `id` unreachable for the others (stops its server, cuts its link). */
  kill(id: number): Promise<void>;
  close(): Promise<void>;
}

interface Inbox {
  got: Message[];
  unreachable: number[];
}

async function started(f: TransportFixture, n: number): Promise<Inbox[]> {
  const inboxes: Inbox[] = [];
  for (let id = 1; id <= n; id++) {
    const inbox: Inbox = { got: [], unreachable: [] };
    inboxes.push(inbox);
    await f.transport(id).start({
      message: (m) => inbox.got.push(m),
      unreachable: (peer) => inbox.unreachable.push(peer),
    });
  }
  return inboxes;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("Cannot meet the transport condition in time");
    await new Promise((r) => setTimeout(r, 2));
  }
}

function app(
  from: number,
  to: number,
  index: number,
  data = new Uint8Array([index % 256]),
): Message {
  return message({
    type: MessageType.App,
    from,
    to,
    term: 3,
    index,
    logTerm: 2,
    commit: index,
    entries: [{ term: 3, index: index + 1, type: EntryType.Normal, data }],
  });
}

/** Registers the Transport contract tests for `name`. */
export function transportContract(name: string, fixture: () => Promise<TransportFixture>): void {
  Deno.test(`${name} delivers messages to their node, in order per pair, intact`, async () => {
    const f = await fixture();
    try {
      const [, two, three] = await started(f, 3);
      const batch = Array.from({ length: 200 }, (_, i) => app(1, i % 2 === 0 ? 2 : 3, i));
      f.transport(1).send(batch);
      await until(() => two!.got.length === 100 && three!.got.length === 100);
      assert.deepEqual(
        two!.got.map((m) => m.index),
        batch.filter((m) => m.to === 2).map((m) => m.index),
      );
      const m = two!.got[5]!;
      assert.equal(m.type, MessageType.App);
      assert.equal(m.from, 1);
      assert.equal(m.term, 3);
      assert.equal(m.logTerm, 2);
      assert.equal(m.entries[0]!.index, 11);
      assert.deepEqual(m.entries[0]!.data, new Uint8Array([10]));
    } finally {
      await f.close();
    }
  });

  Deno.test(`${name} carries large entries and snapshot chunks`, async () => {
    const f = await fixture();
    try {
      const [, two] = await started(f, 2);
      const big = new Uint8Array(600 * 1024).map((_, i) => i % 251);
      f.transport(1).send([
        app(1, 2, 1, big),
        message({
          type: MessageType.Snap,
          from: 1,
          to: 2,
          term: 3,
          snapshot: {
            metadata: { index: 9, term: 2, confState: { voters: [1, 2], learners: [3] } },
            offset: 4,
            total: 10,
            data: new Uint8Array([1, 2, 3]),
          },
        }),
      ]);
      await until(() => two!.got.length === 2);
      assert.deepEqual(two!.got[0]!.entries[0]!.data, big);
      const snap = two!.got[1]!.snapshot!;
      assert.deepEqual(snap.metadata.confState, { voters: [1, 2], learners: [3] });
      assert.equal(snap.offset, 4);
      assert.deepEqual(snap.data, new Uint8Array([1, 2, 3]));
    } finally {
      await f.close();
    }
  });

  Deno.test(`${name} gives the receiver its own copy`, async () => {
    const f = await fixture();
    try {
      const [, two] = await started(f, 2);
      const sent = app(1, 2, 7);
      f.transport(1).send([sent]);
      await until(() => two!.got.length === 1);
      two!.got[0]!.entries[0]!.index = 999;
      assert.equal(sent.entries[0]!.index, 8);
    } finally {
      await f.close();
    }
  });

  Deno.test(`${name} reports a peer it cannot reach`, async () => {
    const f = await fixture();
    try {
      const [one] = await started(f, 2);
      await f.kill(2);
      f.transport(1).send([app(1, 2, 1)]);
      await until(() => one!.unreachable.includes(2));
    } finally {
      await f.close();
    }
  });

  Deno.test(`${name} delivers nothing after close`, async () => {
    const f = await fixture();
    try {
      const [, two] = await started(f, 2);
      await f.transport(2).close();
      f.transport(1).send([app(1, 2, 1)]);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(two!.got.length, 0);
    } finally {
      await f.close();
    }
  });
}
