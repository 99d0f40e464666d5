import assert from "node:assert/strict";
import { BindError } from "./errors.ts";
import { listenHostPort } from "./listen_check.ts";

Deno.test("listenHostPort: host and port to bind, or a BindError naming the flag and the address", () => {
  assert.deepEqual(listenHostPort("--listen", "[::1]:7021"), { hostname: "::1", port: 7021 });
  assert.throws(
    () => listenHostPort("--peer-listen", "127.0.0.1"),
    (e) =>
      e instanceof BindError &&
      e.message ===
        "Cannot listen on --peer-listen 127.0.0.1 as it is not host:port with a port in [0, 65535]",
  );
});
