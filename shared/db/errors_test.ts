import assert from "node:assert/strict";
import { grpc } from "../grpc.ts";
import {
  DbError,
  isAlreadyExists,
  isCancelled,
  isCompacted,
  isCompareFailed,
  isFailedPrecondition,
  isInvalidArgument,
  isNotFound,
  isUnavailable,
  mayHaveApplied,
  refusalError,
  STATUS_CODES,
  statusName,
} from "./errors.ts";

Deno.test("STATUS_CODES are grpc-js's status codes, by name", () => {
  for (const [name, code] of Object.entries(STATUS_CODES)) {
    assert.equal(grpc.status[name as keyof typeof grpc.status], code, name);
    assert.equal(statusName(code), name);
  }
  assert.equal(statusName(99), "UNKNOWN");
});

Deno.test("DbError predicates answer for their status only", () => {
  const preds = {
    NOT_FOUND: isNotFound,
    ALREADY_EXISTS: isAlreadyExists,
    ABORTED: isCompareFailed,
    INVALID_ARGUMENT: isInvalidArgument,
    FAILED_PRECONDITION: isFailedPrecondition,
    OUT_OF_RANGE: isCompacted,
    CANCELLED: isCancelled,
  } as const;
  for (const [code, pred] of Object.entries(preds)) {
    for (const other of Object.keys(STATUS_CODES)) {
      const e = new DbError(other as keyof typeof STATUS_CODES, "x");
      assert.equal(pred(e), other === code, `${code} predicate on ${other}`);
    }
  }
  assert.ok(isUnavailable(new DbError("UNAVAILABLE", "x")));
  assert.ok(isUnavailable(new DbError("DEADLINE_EXCEEDED", "x")));
  assert.ok(!isUnavailable(new DbError("ABORTED", "x")));
  assert.ok(!isNotFound(new Error("NOT_FOUND")), "only DbErrors");
  assert.ok(mayHaveApplied(new DbError("DEADLINE_EXCEEDED", "x", { mayHaveApplied: true })));
  assert.ok(!mayHaveApplied(new DbError("DEADLINE_EXCEEDED", "x")));
  assert.ok(!mayHaveApplied("nope"));
});

Deno.test("DbError carries its details; refusalError keeps the field", () => {
  const e = new DbError("NOT_FOUND", "Cannot get k as it does not exist", {
    revision: 12,
    field: "key",
    cause: new Error("wire"),
  });
  assert.equal(e.grpcCode, 5);
  assert.equal(e.revision, 12);
  assert.equal(e.name, "DbError");
  assert.ok(e.cause instanceof Error);
  const r = refusalError({ code: "ABORTED", field: "condition", message: "Cannot set k as ..." });
  assert.ok(isCompareFailed(r) && r.field === "condition" && !r.mayHaveApplied);
});
