import assert from "node:assert/strict";
import { DbError } from "../shared/db/mod.ts";
import { exitCodeOf, fromDbError, fromHttp } from "./errors.ts";

Deno.test("fromHttp maps each status to its exit code, keeping the server's sentence and field", () => {
  const table: [number, number][] = [
    [400, 7],
    [401, 3],
    [403, 3],
    [404, 4],
    [409, 5],
    [412, 5],
    [413, 7],
    [415, 7],
    [422, 7],
    [429, 1],
    [500, 1],
    [503, 6],
  ];
  for (const [status, code] of table) {
    const e = fromHttp(
      status,
      { code: "x", message: "Cannot do it as no", field: "body.raw" },
      "GET /api/x",
    );
    assert.equal(exitCodeOf(e), code, `HTTP ${status}`);
    assert.ok(e.message.startsWith("Cannot do it as no"), e.message);
  }
  assert.equal(
    fromHttp(422, { message: "Cannot parse raw", field: "body.raw" }, "").message,
    "Cannot parse raw (body.raw)",
  );
  assert.equal(fromHttp(404, undefined, "GET /api/apps/x").message, "GET /api/apps/x answered 404");
  assert.match(
    fromHttp(401, { message: "Cannot authenticate", field: "header.Authorization" }, "").message,
    /^Cannot authenticate \(cassemctl login; or set CASSEM_TOKEN\)$/,
  );
});

Deno.test("fromDbError maps gRPC statuses, and a refused connection names the endpoints", () => {
  const table: [ConstructorParameters<typeof DbError>[0], number][] = [
    ["NOT_FOUND", 4],
    ["ALREADY_EXISTS", 5],
    ["ABORTED", 5],
    ["FAILED_PRECONDITION", 5],
    ["INVALID_ARGUMENT", 7],
    ["UNAVAILABLE", 6],
    ["DEADLINE_EXCEEDED", 6],
    ["INTERNAL", 1],
  ];
  for (const [status, code] of table) {
    assert.equal(exitCodeOf(fromDbError(new DbError(status, "m"))), code, status);
  }
  const refused = fromDbError(
    new DbError(
      "UNAVAILABLE",
      "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7021",
    ),
    ["127.0.0.1:7021"],
  );
  assert.equal(
    refused.message,
    "Cannot reach cassemdb at 127.0.0.1:7021 as the connection was refused: is it running? (pass --endpoints, or set CASSEMDB_ENDPOINTS)",
  );
  const maybe = fromDbError(new DbError("DEADLINE_EXCEEDED", "late", { mayHaveApplied: true }));
  assert.match(maybe.message, /the write may have applied: read before retrying/);
  assert.equal(exitCodeOf(new Error("x")), 1);
});
