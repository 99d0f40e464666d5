/**
 * Coalesces the writes a `node:net` socket gets within one turn of the event
 * loop into a single system call.
 *
 * Deno's `node:http2` (which grpc-js runs on) writes every HTTP/2 frame to
 * its socket as soon as it is produced: a unary gRPC answer is three writes
 * (HEADERS, DATA, trailers), and each is a system call that on loopback also
 * runs the receiver's TCP stack. Node's own http2 gathers a turn's frames and
 * writes them once. Corking a socket at its first write of a turn and
 * uncorking it in `setImmediate` does the same here: the frames leave
 * together, a turn later at most.
 *
 * An A/B of 3-node writes during development (bench/README.md, "What moved")
 * put the saving at ~12% of the cluster's CPU per write.
 *
 * @module
 */

import net from "node:net";

const corked = Symbol("cassem.corked");
let installed = false;

type Corkable = net.Socket & { [corked]?: boolean };

/** Patches `net.Socket.prototype.write` for the whole process; calling it again does nothing. */
export function coalesceSocketWrites(): void {
  if (installed) return;
  installed = true;
  const proto = net.Socket.prototype as Corkable;
  const write = proto.write as (this: Corkable, ...args: unknown[]) => boolean;
  const uncork = (socket: Corkable) => {
    socket[corked] = false;
    socket.uncork();
  };
  (proto as { write: unknown }).write = function (this: Corkable, ...args: unknown[]): boolean {
    if (!this[corked] && !this.destroyed) {
      this[corked] = true;
      this.cork();
      setImmediate(uncork, this);
    }
    return write.apply(this, args);
  };
}
