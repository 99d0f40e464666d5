import assert from "node:assert/strict";
import * as loader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import { WIRE_CHANGE_OPS, WIRE_ENTITY_TYPES } from "../store/wire.ts";
import * as mod from "./mod.ts";

const PROTO = fileURLToPath(new URL("../../proto/cassemdb.proto", import.meta.url));
const def = loader.loadSync(PROTO, { keepCase: false });

function enumNames(name: string): string[] {
  const t = def[`cassemdb.${name}`] as { type: { value: { name: string; number: number }[] } };
  return [...t.type.value].sort((a, b) => a.number - b.number).map((v) => v.name);
}

function methods(service: string): string[] {
  return Object.keys(def[`cassemdb.${service}`] as Record<string, unknown>).sort();
}

Deno.test("the literal unions match the proto's enums", () => {
  assert.deepEqual(enumNames("EntityType"), [...WIRE_ENTITY_TYPES]);
  assert.deepEqual(enumNames("ChangeOp"), [...WIRE_CHANGE_OPS]);
});

Deno.test("the client wraps every RPC of the proto (a new one needs a wrapper here first)", () => {
  assert.deepEqual(
    methods("KV"),
    ["Expire", "GetKV", "GetKVs", "Range", "SetKV", "TTL", "Txn", "UnsetKV", "Watch"].sort(),
  );
  assert.deepEqual(
    methods("Cluster"),
    ["AddNode", "Members", "RemoveNode", "Status", "TransferLeader"].sort(),
  );
});

Deno.test("mod.ts exports the client, the in-memory implementation and the error predicates", () => {
  for (
    const name of [
      "DbClient",
      "MemoryDb",
      "DbError",
      "WatchHandlerError",
      "isNotFound",
      "isAlreadyExists",
      "isCompareFailed",
      "isInvalidArgument",
      "isFailedPrecondition",
      "isUnavailable",
      "isCompacted",
      "isCancelled",
      "mayHaveApplied",
      "listAndWatch",
      "list",
      "Txn",
      "ROLES",
    ]
  ) {
    assert.ok(name in mod, name);
  }
});
