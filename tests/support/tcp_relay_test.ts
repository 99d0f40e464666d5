import assert from "node:assert/strict";
import { startRelay } from "./tcp_relay.ts";
import { sleep, waitFor } from "./procs.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An echo server on 127.0.0.1 that answers every read with "echo:" + what it read. */
function echoServer(): { address: string; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  void (async () => {
    try {
      for await (const c of listener) {
        conns.push(c);
        void (async () => {
          const buf = new Uint8Array(1024);
          try {
            for (let n = await c.read(buf); n !== null; n = await c.read(buf)) {
              await c.write(enc.encode(`echo:${dec.decode(buf.subarray(0, n))}`));
            }
          } catch { /* closed */ }
        })();
      }
    } catch { /* closed */ }
  })();
  return {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* gone */ }
      }
    },
  };
}

/** Everything `c` receives, appended to a string as it arrives. */
function collect(c: Deno.Conn): { text: () => string } {
  let text = "";
  void (async () => {
    const buf = new Uint8Array(1024);
    try {
      for (let n = await c.read(buf); n !== null; n = await c.read(buf)) {
        text += dec.decode(buf.subarray(0, n));
      }
    } catch { /* closed */ }
  })();
  return { text: () => text };
}

async function dial(address: string): Promise<Deno.Conn> {
  const [hostname, port] = address.split(":") as [string, string];
  return await Deno.connect({ hostname, port: Number(port) });
}

Deno.test("startRelay passes bytes, holds them while cut without closing anything, and delivers them on heal", async () => {
  const server = echoServer();
  const relay = startRelay(server.address);
  const conn = await dial(relay.address);
  const got = collect(conn);
  try {
    await conn.write(enc.encode("a"));
    await waitFor("the first echo", () => (got.text() === "echo:a" ? true : undefined));

    relay.cut();
    assert.equal(relay.isCut, true);
    await conn.write(enc.encode("b"));
    const late = await dial(relay.address); // accepted, but not connected upstream while cut
    const lateGot = collect(late);
    await late.write(enc.encode("c"));
    await sleep(300);
    assert.equal(got.text(), "echo:a", "nothing passes while cut");
    assert.equal(lateGot.text(), "", "nothing passes on a connection made while cut");

    relay.heal();
    await waitFor("the held bytes", () => (got.text() === "echo:aecho:b" ? true : undefined));
    await waitFor("the late connection", () => (lateGot.text() === "echo:c" ? true : undefined));
    late.close();
  } finally {
    conn.close();
    relay.close();
    server.close();
  }
});

Deno.test("startRelay refuses a target that is not host:port", () => {
  assert.throws(() => startRelay("localhost"), RangeError);
});
