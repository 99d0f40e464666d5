import assert from "node:assert/strict";
import { joinHostPort, splitHostPort } from "./host_port.ts";

Deno.test("splitHostPort: the hostname as Deno.listen and Deno.serve want it, IPv6 without brackets", () => {
  assert.deepEqual(splitHostPort("127.0.0.1:7023"), { hostname: "127.0.0.1", port: 7023 });
  assert.deepEqual(splitHostPort("[::1]:7023"), { hostname: "::1", port: 7023 });
  assert.deepEqual(splitHostPort("localhost:0"), { hostname: "localhost", port: 0 });
  assert.deepEqual(splitHostPort("0.0.0.0:65535"), { hostname: "0.0.0.0", port: 65535 });
});

Deno.test("splitHostPort: anything but host:port with a port in [0, 65535] is undefined", () => {
  for (
    const bad of [
      "",
      "7023",
      ":7023",
      "host:",
      "host:x",
      "host:65536",
      "host:-1",
      "host:1e3",
      "[]:1",
    ]
  ) {
    assert.equal(splitHostPort(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("joinHostPort puts an IPv6 hostname back in brackets", () => {
  for (const address of ["127.0.0.1:7023", "[::1]:7023", "localhost:0"]) {
    const { hostname, port } = splitHostPort(address)!;
    assert.equal(joinHostPort(hostname, port), address);
  }
});
