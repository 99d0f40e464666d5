/**
 * Checks that the addresses a node will listen on can be bound, before it
 * takes any other step, so that a port in use is reported as one line naming
 * the flag and the address (`Cannot listen on --peer-listen 127.0.0.1:7022 as
 * it is in use`) instead of a grpc-js error after raft has started.
 *
 * @module
 */

import { BindError } from "./errors.ts";

/** An address a node listens on and the flag it came from. */
export interface ListenAddress {
  /** Such as `--peer-listen`. */
  flag: string;
  /** `host:port` (IPv6 hosts in brackets). */
  address: string;
}

/** The hostname (IPv6 brackets removed, as `Deno.listen` wants it) and port of `host:port`. */
export function splitHostPort(address: string): { hostname: string; port: number } {
  const at = address.lastIndexOf(":");
  return {
    hostname: address.slice(0, at).replace(/^\[(.*)\]$/, "$1"),
    port: Number(address.slice(at + 1)),
  };
}

/**
 * Binds and releases each address in turn.
 * @throws {BindError} for the first one that cannot be bound, naming its flag, the address and why.
 */
export function checkListenAddresses(addresses: readonly ListenAddress[]): void {
  for (const { flag, address } of addresses) {
    const { hostname, port } = splitHostPort(address);
    try {
      Deno.listen({ hostname, port }).close();
    } catch (e) {
      throw new BindError(flag, address, e);
    }
  }
}
