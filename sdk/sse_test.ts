import assert from "node:assert/strict";
import { type SseItem, SseParser } from "./sse.ts";

/** Feeds `text` cut into pieces at every one of `cuts` (offsets), and answers every item. */
function parseIn(text: string, cuts: number[] = []): SseItem[] {
  const p = new SseParser();
  const out: SseItem[] = [];
  let at = 0;
  for (const c of [...cuts, text.length]) {
    out.push(...p.feed(text.slice(at, c)));
    at = c;
  }
  return out;
}

const STREAM = "retry: 1000\n\n" +
  'data: {"key":"a"}\n\n' +
  'id: 7\nevent: missing\ndata: {"key":"b"}\n\n' +
  ": heartbeat 7\n\n" +
  "data: line1\ndata: line2\nid: 9\n\n" +
  "id: 10\n\n";

Deno.test("SseParser reads the agent's frames: untyped data, typed events with ids, comments, id-only blocks", () => {
  const items = parseIn(STREAM);
  assert.deepEqual(items, [
    { kind: "event", type: "message", data: '{"key":"a"}', id: undefined, lastEventId: "" },
    { kind: "event", type: "missing", data: '{"key":"b"}', id: "7", lastEventId: "7" },
    { kind: "comment", text: "heartbeat 7" },
    { kind: "event", type: "message", data: "line1\nline2", id: "9", lastEventId: "9" },
    { kind: "id", id: "10" },
  ]);
});

Deno.test("SseParser answers the same items whatever the chunking, with CRLF, CR or LF line ends", () => {
  const want = parseIn(STREAM);
  for (const eol of ["\n", "\r\n", "\r"]) {
    const text = STREAM.replaceAll("\n", eol);
    assert.deepEqual(parseIn(text), want, `whole, eol ${JSON.stringify(eol)}`);
    for (let cut = 0; cut <= text.length; cut++) {
      assert.deepEqual(parseIn(text, [cut]), want, `cut at ${cut}, eol ${JSON.stringify(eol)}`);
    }
    const every = Array.from({ length: text.length }, (_, i) => i);
    assert.deepEqual(parseIn(text, every), want, `one char at a time, eol ${JSON.stringify(eol)}`);
  }
});

Deno.test("SseParser follows the WHATWG field rules", async (t) => {
  await t.step(
    "a BOM at the start is dropped, one space after the colon is, a second is kept",
    () => {
      assert.deepEqual(parseIn("\ufeffdata:  x\n\n"), [
        { kind: "event", type: "message", data: " x", id: undefined, lastEventId: "" },
      ]);
    },
  );
  await t.step("a field with no colon has an empty value; unknown fields are ignored", () => {
    assert.deepEqual(parseIn("data\nfoo: bar\n\n"), [
      { kind: "event", type: "message", data: "", id: undefined, lastEventId: "" },
    ]);
  });
  await t.step("an id with NUL is ignored; the last event id carries over to later events", () => {
    const items = parseIn("id: 5\ndata: a\n\nid: x\0y\ndata: b\n\ndata: c\n\n");
    assert.deepEqual(items.map((i) => i.kind === "event" && [i.data, i.id, i.lastEventId]), [
      ["a", "5", "5"],
      ["b", undefined, "5"],
      ["c", undefined, "5"],
    ]);
  });
  await t.step("retry takes digits only", () => {
    const p = new SseParser();
    p.feed("retry: 1500\n\nretry: 2x\n\n");
    assert.equal(p.retryMs, 1500);
  });
  await t.step("a block not ended by a blank line is not dispatched, also after end()", () => {
    const p = new SseParser();
    assert.deepEqual(p.feed("data: half"), []);
    assert.deepEqual(p.feed("\n"), []);
    p.end();
    assert.deepEqual(p.feed("\n"), []);
  });
  await t.step("a CR at the end of a chunk and the LF starting the next make one line end", () => {
    const p = new SseParser();
    assert.deepEqual(p.feed("data: a\r"), []);
    assert.deepEqual(p.feed("\n\r"), [
      { kind: "event", type: "message", data: "a", id: undefined, lastEventId: "" },
    ]);
    assert.deepEqual(
      p.feed("\ndata: b\n\n").length,
      1,
      "the LF after the blank line's CR is not a second blank line",
    );
  });
});
