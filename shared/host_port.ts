/**
 * `host:port` addresses as every flag and peer list spells them (an IPv6
 * host in brackets): one parser for the services and tests.
 *
 * @module
 */

/** The parts of a `host:port` address. */
export interface HostPort {
  /** The host without IPv6 brackets, as `Deno.listen` and `Deno.connect` want it. */
  readonly hostname: string;
  /** The port, in [0, 65535]. */
  readonly port: number;
}

/** The parts of `address`, or undefined when it is not `host:port` with a port in [0, 65535]. */
export function splitHostPort(address: string): HostPort | undefined {
  const at = address.lastIndexOf(":");
  const portText = address.slice(at + 1);
  const hostname = address.slice(0, at).replace(/^\[(.*)\]$/, "$1");
  const port = Number(portText);
  if (at <= 0 || hostname === "" || !/^\d{1,5}$/.test(portText) || port > 65_535) {
    return undefined;
  }
  return { hostname, port };
}

/** `hostname:port`, an IPv6 hostname in brackets. */
export function joinHostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
