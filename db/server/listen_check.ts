/**
 * Checks that the addresses a node will listen on can be bound, before it
 * takes any other step, so that a port in use is reported as one line naming
 * the flag and the address (`Cannot listen on --peer-listen 127.0.0.1:7022 as
 * it is in use`) instead of a grpc-js error after raft has started.
 *
 * @module
 */

import { type HostPort, splitHostPort } from "../../shared/host_port.ts";
import { BindError } from "./errors.ts";

/** An address a node listens on and the flag it came from. */
export interface ListenAddress {
  /** Such as `--peer-listen`. */
  flag: string;
  /** `host:port` (IPv6 hosts in brackets). */
  address: string;
}

/**
 * The hostname (IPv6 brackets removed, as `Deno.listen` wants it) and port
 * of `address`, which `flag` gave.
 * @throws {BindError} naming the flag and the address when it is not `host:port`.
 */
export function listenHostPort(flag: string, address: string): HostPort {
  const parts = splitHostPort(address);
  if (!parts) {
    throw new BindError(
      flag,
      address,
      new TypeError("it is not host:port with a port in [0, 65535]"),
    );
  }
  return parts;
}

/**
 * Binds and releases each address in turn.
 * @throws {BindError} for the first one that cannot be bound, naming its flag, the address and why.
 */
export function checkListenAddresses(addresses: readonly ListenAddress[]): void {
  for (const { flag, address } of addresses) {
    const { hostname, port } = listenHostPort(flag, address);
    try {
      Deno.listen({ hostname, port }).close();
    } catch (e) {
      throw new BindError(flag, address, e);
    }
  }
}
