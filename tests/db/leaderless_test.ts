/**
 * A node that cannot serve says why (issue 7 §2): one node of three whose
 * two peers are stopped answers a write and a linearizable read at once with
 * UNAVAILABLE and the reason (the peers it cannot reach, and how), marked
 * retryable, instead of waiting out the caller's deadline; a serializable
 * read still answers from its state; and its log warns, every few seconds,
 * naming the unreachable peers. Once the peers are back, every acknowledged
 * write is there and the refused one is nowhere.
 */

import assert from "node:assert/strict";
import { RETRYABLE } from "../../shared/db/errors.ts";
import { grpc, loadProto, serviceOf } from "../../shared/grpc.ts";
import { waitFor } from "../support/procs.ts";
import { withCluster } from "./_cluster.ts";
import { scenario } from "./_scenario.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One call of `method` on the node at `addr`, without the client's retries. */
function callOnce(
  addr: string,
  method: string,
  req: unknown,
  deadlineMs: number,
): Promise<{ err: grpc.ServiceError | null; resp: unknown }> {
  const Kv = serviceOf(loadProto("cassemdb.proto", "cassemdb"), "KV");
  // Left open: closing sends GOAWAY, which Deno 2.9.6 may crash on (tests/db/README.md).
  const client = new Kv(addr, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (
      req: unknown,
      md: grpc.Metadata,
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, resp: unknown) => void,
    ) => void
  >;
  return new Promise((resolve) =>
    client[method]!.call(
      client,
      req,
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err, resp) => resolve({ err, resp }),
    )
  );
}

scenario(
  import.meta.url,
  "a node without a leader refuses writes and linearizable reads at once and names the peers it cannot reach",
  async () => {
    await withCluster({ name: "leaderless" }, async (c) => {
      const nodes = await c.startFounders(3);
      const { node: leader } = await c.waitLeader();
      const db = c.client();
      const acked = new Map<string, string>();
      for (let i = 0; i < 10; i++) {
        await db.set(`nl/k${i}`, enc.encode(`v${i}`), { overwrite: true });
        acked.set(`nl/k${i}`, `v${i}`);
      }
      await c.waitConverged();
      const lone = nodes.find((p) => p !== leader)!;
      const others = nodes.filter((p) => p !== lone);
      for (const p of others) await c.kill(p);
      await waitFor("the remaining node to know no leader", async () => {
        const st = await c.status(lone);
        return st?.leader === 0 ? st : undefined;
      }, { timeoutMs: 20_000 });

      const peers = others.map((p) => `node ${p.id} at ${p.peerAddr}`);
      const deadlineMs = 10_000;
      for (
        const [method, req] of [
          ["SetKV", { key: "nl/refused", val: enc.encode("x"), overwrite: true }],
          ["GetKV", { key: "nl/k1" }],
        ] as const
      ) {
        const t0 = Date.now();
        const { err } = await callOnce(lone.clientAddr, method, req, deadlineMs);
        const took = Date.now() - t0;
        c.note(`${method} on the leaderless node: ${err?.code} after ${took} ms: ${err?.details}`);
        assert.ok(err, `${method} succeeded on a node without a leader`);
        assert.equal(err.code, grpc.status.UNAVAILABLE, err.details);
        assert.match(err.details, /Cannot serve the request as this node knows no leader/);
        for (const p of peers) assert.ok(err.details.includes(p), `${err.details} names ${p}`);
        assert.equal(err.metadata.get(RETRYABLE)[0]?.toString(), "1");
        // At once: far from the caller's deadline.
        assert.ok(
          took < deadlineMs / 3,
          `${method} took ${took} ms of a ${deadlineMs} ms deadline`,
        );
      }
      const ser = await callOnce(
        lone.clientAddr,
        "GetKV",
        { key: "nl/k1", read: { serializable: true } },
        deadlineMs,
      );
      assert.equal(ser.err, null, ser.err?.details ?? "");
      assert.equal(dec.decode((ser.resp as { entity: { val: Uint8Array } }).entity.val), "v1");

      // Its log names both peers and how they fail, and repeats every few seconds.
      const warning = new RegExp(
        `WARN .*no leader for [\\d.]+ s \\(term \\d+, [a-z-]+\\): cannot reach ${
          peers.map((p) => `${p.replaceAll(".", "\\.")} \\(connection refused\\)`).join(", ")
        }`,
      );
      await waitFor("two leaderless warnings naming both peers", () => {
        const seen = c.linesOf(lone).filter((l) => warning.test(l));
        return seen.length >= 2 ? seen : undefined;
      }, { timeoutMs: 20_000 });

      // Back together: every acknowledged write is there, the refused one nowhere.
      for (const p of others) await c.restart(p);
      await c.waitLeader({ timeoutMs: 30_000 });
      await c.waitConverged();
      for (const p of nodes) {
        const one = c.client({ endpoints: [p.clientAddr] });
        const got = await one.getMany([...acked.keys(), "nl/refused"], { serializable: true });
        assert.deepEqual(
          new Map(got.entities.map((e) => [e.key, dec.decode(e.val)])),
          acked,
          `${p.name} holds every acknowledged write and not the refused one`,
        );
      }
    });
  },
);
