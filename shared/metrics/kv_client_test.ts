import assert from "node:assert/strict";
import type { CallOptions, KvClient } from "../db/api.ts";
import { MemoryDb } from "../db/memory_db.ts";
import { currentRequestId, withRequestId } from "../request_context.ts";
import { instrumentKvClient, KvClientMetrics } from "./kv_client.ts";
import { parsePrometheusText } from "./prom_text.ts";
import { createRegistry } from "./registry.ts";

/** A MemoryDb that records the request id of each call it gets. */
function recording(): { db: KvClient; ids: [string, string | undefined][] } {
  const mem = new MemoryDb();
  const ids: [string, string | undefined][] = [];
  const db = new Proxy(mem, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        const opts = args.find((a, i) => i > 0 && a && typeof a === "object" && !Array.isArray(a));
        ids.push([String(prop), (opts as CallOptions | undefined)?.requestId]);
        return v.apply(target, args);
      };
    },
  });
  return { db, ids };
}

Deno.test("instrumentKvClient counts and times every call by method and outcome", async () => {
  const registry = createRegistry();
  const db = instrumentKvClient(new MemoryDb(), { metrics: new KvClientMetrics(registry) });
  await db.set("a/1", "x");
  await db.set("a/2", "y");
  await assert.rejects(db.set("a/1", "z"), /exists/);
  await db.get("a/1");
  await db.get("absent");
  await assert.rejects(db.unset("absent"));
  await db.txn().if("a/1", { mustExist: true }).set("a/3", "t").commit();
  const listed = await db.list("a/", { pageSize: 2 });
  assert.equal(listed.entities.length, 3);
  const m = parsePrometheusText(await registry.metrics());
  const calls = (method: string, code: string) =>
    m.sum("cassem_db_client_calls_total", { method, code });
  assert.equal(calls("set", "OK"), 2);
  assert.equal(calls("set", "ALREADY_EXISTS"), 1);
  assert.equal(calls("get", "OK"), 2, "a missing key is an answer, not an error");
  assert.equal(calls("unset", "NOT_FOUND"), 1);
  assert.equal(calls("commitTxn", "OK"), 1);
  assert.equal(calls("range", "OK"), 2, "list reads its pages through the instrumented client");
  assert.equal(m.value("cassem_db_client_call_duration_seconds_count", { method: "set" }), 3);
  db.close();
});

Deno.test("instrumentKvClient gives each call the current request id unless the call names one", async () => {
  const { db: inner, ids } = recording();
  const db = instrumentKvClient(inner, { requestId: currentRequestId });
  await db.set("k", "v");
  await withRequestId("req-7", async () => {
    await db.get("k");
    await db.get("k", { requestId: "own" });
    await db.txn().set("k2", "v").commit();
    await db.list("");
  });
  // (list's fence watch is a stream: no request options.)
  assert.deepEqual(ids.filter(([m]) => m !== "watch"), [
    ["set", undefined],
    ["get", "req-7"],
    ["get", "own"],
    ["commitTxn", "req-7"],
    ["range", "req-7"],
  ]);
  db.close();
});

Deno.test("instrumentKvClient passes watches through", async () => {
  const db = instrumentKvClient(new MemoryDb(), {});
  const seen: number[] = [];
  const lw = db.listAndWatch("p/", {
    onSnapshot: (s) => seen.push(s.entities.length),
    onChanges: (e) => seen.push(e.revision),
  });
  await lw.ready;
  const { revision } = await db.set("p/a", "1");
  for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(seen, [0, revision]);
  lw.close();
  db.close();
});
