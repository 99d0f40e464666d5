/**
 * A TCP relay on 127.0.0.1 to one target address that a test can cut and
 * heal, without root: the link between one client and one server.
 *
 * Cut, it stops passing bytes either way and opens no new upstream
 * connection, but closes nothing: the client's connections stay open and
 * silent, as through a network partition that TCP rides out (what it sent
 * waits in the socket buffers). Healed, everything waiting flows on, in
 * order, and connections accepted meanwhile are connected upstream.
 *
 * ```ts ignore
 * const link = startRelay("127.0.0.1:7021");
 * const db = new DbClient({ endpoints: [link.address] });
 * link.cut(); // ... link.heal(); ... link.close();
 * ```
 *
 * @module
 */

import { splitHostPort } from "../../shared/host_port.ts";

/** A running relay (see the module doc). */
export interface TcpRelay {
  /** The address to connect to instead of the target (127.0.0.1:port). */
  readonly address: string;
  /** Whether the relay is cut now. */
  readonly isCut: boolean;
  /** Stops passing bytes and opening upstream connections; idempotent. */
  cut(): void;
  /** Passes bytes again; idempotent. */
  heal(): void;
  /** Closes the listener and every connection, both sides. */
  close(): void;
}

/**
 * Starts a relay to `target` (`host:port`) on a port the kernel picks.
 * @throws {RangeError} when `target` is not `host:port`.
 */
export function startRelay(target: string): TcpRelay {
  const parts = splitHostPort(target);
  if (!parts) {
    throw new RangeError(
      `Cannot relay to ${target} as the target must be host:port: current value is ${target}`,
    );
  }
  const { hostname, port } = parts;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let closed = false;
  let healed = Promise.withResolvers<void>();
  let isCut = false;
  healed.resolve();

  const drop = (c: Deno.Conn) => {
    conns.delete(c);
    try {
      c.close();
    } catch { /* closed already */ }
  };
  /** Copies `from` to `to` while healed; closes both at the first end or error. */
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (!closed) {
        await healed.promise;
        const n = await from.read(buf);
        if (n === null) break;
        await healed.promise;
        for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
      }
    } catch { /* reset or closed */ }
    drop(from);
    drop(to);
  };
  const serve = async (down: Deno.Conn) => {
    conns.add(down);
    let up: Deno.Conn;
    try {
      await healed.promise;
      up = await Deno.connect({ hostname, port });
    } catch {
      return drop(down); // the target is down: as a refused connection would be
    }
    if (closed) return drop(up);
    conns.add(up);
    void pump(down, up);
    void pump(up, down);
  };
  void (async () => {
    try {
      for await (const c of listener) void serve(c);
    } catch { /* the listener closed */ }
  })();

  return {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get isCut() {
      return isCut;
    },
    cut() {
      if (isCut) return;
      isCut = true;
      healed = Promise.withResolvers<void>();
    },
    heal() {
      isCut = false;
      healed.resolve();
    },
    close() {
      closed = true;
      try {
        listener.close();
      } catch { /* closed already */ }
      for (const c of [...conns]) drop(c);
      healed.resolve();
    },
  };
}
