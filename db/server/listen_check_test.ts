import assert from "node:assert/strict";
import { splitHostPort } from "./listen_check.ts";

Deno.test("splitHostPort: the hostname as Deno.listen and Deno.serve want it, IPv6 without brackets", () => {
  assert.deepEqual(splitHostPort("127.0.0.1:7023"), { hostname: "127.0.0.1", port: 7023 });
  assert.deepEqual(splitHostPort("[::1]:7023"), { hostname: "::1", port: 7023 });
  assert.deepEqual(splitHostPort("localhost:0"), { hostname: "localhost", port: 0 });
});
