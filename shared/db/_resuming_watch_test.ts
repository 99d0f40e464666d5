import assert from "node:assert/strict";
import type { WatchEvent } from "./api.ts";
import { DbError, WatchHandlerError } from "./errors.ts";
import { resumingWatch, type StreamSink } from "./_resuming_watch.ts";

/** A scripted transport: records each open and hands the test its sink. */
function scripted() {
  const opens: { start: number; sink: StreamSink; cancelled: boolean }[] = [];
  return {
    opens,
    source: {
      open(start: number, sink: StreamSink) {
        const o = { start, sink, cancelled: false };
        opens.push(o);
        return { cancel: () => (o.cancelled = true) };
      },
      classify(error: Error | undefined) {
        const e = error ?? new DbError("UNAVAILABLE", "ended");
        return e instanceof DbError && e.code === "INVALID_ARGUMENT"
          ? { retry: false as const, error: e }
          : { retry: true as const, error: e, now: true };
      },
    },
  };
}

const ev = (revision: number, key = "k"): WatchEvent => ({
  revision,
  changes: [{ op: "SET", key, revision, reason: "" }],
});

Deno.test("resumingWatch resumes after the last revision and never delivers one twice", () => {
  const t = scripted();
  const got: number[] = [];
  const retries: string[] = [];
  const w = resumingWatch({ keys: ["k"], startRevision: 5 }, {
    onChanges: (e) => got.push(e.revision),
    onRetry: (e) => retries.push(e.message),
  }, t.source);
  assert.equal(t.opens[0]!.start, 5);
  assert.equal(w.revision, 4);
  const s1 = t.opens[0]!.sink;
  s1.message({ revision: 4, changes: [] });
  s1.message(ev(5));
  s1.message(ev(7));
  s1.end(new DbError("UNAVAILABLE", "Connection dropped"));
  s1.message(ev(8)); // a late message of a replaced stream: ignored
  assert.equal(t.opens[1]!.start, 8);
  const s2 = t.opens[1]!.sink;
  s2.message({ revision: 7, changes: [] });
  s2.message(ev(7)); // a node that sends a revision again
  s2.message(ev(9));
  assert.deepEqual(got, [5, 7, 9]);
  assert.deepEqual(retries, ["Connection dropped"]);
  assert.equal(w.revision, 9);
  w.close();
  assert.ok(t.opens[1]!.cancelled);
});

Deno.test("resumingWatch from now takes its start from the first message", () => {
  const t = scripted();
  const w = resumingWatch({ keys: ["k"] }, { onChanges() {} }, t.source);
  assert.equal(t.opens[0]!.start, 0);
  assert.equal(w.revision, 0);
  t.opens[0]!.sink.message({ revision: 41, changes: [] });
  assert.equal(w.revision, 41);
  t.opens[0]!.sink.end(undefined);
  assert.equal(t.opens[1]!.start, 42, "after a first message, it resumes by revision");
  w.close();
});

Deno.test("resumingWatch ends on a terminal error or a throwing handler, and reports it once", async () => {
  const t = scripted();
  const errors: Error[] = [];
  const w = resumingWatch({ keys: ["k"] }, {
    onChanges() {},
    onError: (e) => errors.push(e),
    onRetry: () => assert.fail("a terminal error is no retry"),
  }, t.source);
  t.opens[0]!.sink.end(new DbError("INVALID_ARGUMENT", "bad key", { field: "keys[0]" }));
  await assert.rejects(w.done, /bad key/);
  assert.equal(errors.length, 1);
  assert.equal(t.opens.length, 1);

  const t2 = scripted();
  const w2 = resumingWatch({ keys: ["k"], startRevision: 1 }, {
    onChanges: () => {
      throw new TypeError("consumer bug");
    },
  }, t2.source);
  t2.opens[0]!.sink.message(ev(1));
  await assert.rejects(
    w2.done,
    (e) => e instanceof WatchHandlerError && e.cause instanceof TypeError,
  );
  assert.ok(t2.opens[0]!.cancelled, "the stream is cancelled");
  t2.opens[0]!.sink.message(ev(2)); // nothing more is delivered
  assert.throws(
    () => resumingWatch({ keys: ["k"], startRevision: 1.5 }, { onChanges() {} }, t.source),
    RangeError,
  );
});
