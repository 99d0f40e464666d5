import assert from "node:assert/strict";
import { SeededPrng } from "../shared/prng.ts";
import { BodyStore } from "./body_store.ts";

Deno.test("BodyStore keeps each text's UTF-8 bytes exactly, across chunks", () => {
  const s = new BodyStore({ chunkBytes: 4096, compressMinBytes: 0 });
  const texts = [
    "",
    "a",
    "héllo wörld ✓",
    "x".repeat(1000),
    "日本語".repeat(100),
    "y".repeat(3000),
  ];
  const handles = texts.map((t) => s.put(t));
  texts.forEach((t, i) => {
    assert.equal(s.text(handles[i]!), t);
    assert.deepEqual(s.bytes(handles[i]!), new TextEncoder().encode(t));
    assert.equal(s.size(handles[i]!), new TextEncoder().encode(t).length);
  });
  const st = s.stats();
  assert.equal(st.bodies, texts.length);
  assert.equal(st.bytes, texts.reduce((n, t) => n + new TextEncoder().encode(t).length, 0));
  assert.ok(st.chunks >= 2, "the texts did not fit in one 4 KiB chunk");
  assert.equal(st.deflated, 0, "compressMinBytes 0 never deflates");
  assert.equal(st.textBytes, st.bytes);
});

/** A config-like text of about `n` bytes whose values come from `prng`. */
function configText(prng: SeededPrng, n: number): string {
  const lines = ["{"];
  for (let i = 0; lines.join("\n").length < n; i++) {
    lines.push(
      `  "service_${i}": { "host": "10.0.${prng.intn(256)}.${prng.intn(256)}", "port": ${
        1024 + prng.intn(60000)
      }, "enabled": ${prng.intn(2) === 1} },`,
    );
  }
  return lines.join("\n") + "\n}";
}

Deno.test("BodyStore deflates config text from compressMinBytes on, and reads it back exactly", () => {
  const prng = new SeededPrng(7);
  const s = new BodyStore({ chunkBytes: 64 * 1024, compressMinBytes: 256 });
  const texts = [
    configText(prng, 300),
    configText(prng, 1024),
    configText(prng, 5000) + "✓ 日本語",
    configText(prng, 200), // below the minimum: as is
    "z".repeat(255), // below the minimum even though it deflates well
    "日本語".repeat(60), // 180 UTF-16 units but 540 UTF-8 bytes: at the minimum
  ];
  const handles = texts.map((t) => s.put(t));
  const utf8 = (t: string) => new TextEncoder().encode(t);
  texts.forEach((t, i) => {
    const h = handles[i]!;
    assert.equal(s.text(h), t);
    assert.deepEqual(s.bytes(h), utf8(t));
    if (utf8(t).length >= 256) {
      assert.equal(s.deflated(h), true, `text ${i} is deflated`);
      assert.ok(s.size(h) < utf8(t).length * 0.7, `text ${i}: ${s.size(h)} of ${utf8(t).length}`);
    } else {
      assert.equal(s.deflated(h), false, `text ${i} is as is`);
      assert.equal(s.size(h), utf8(t).length);
    }
  });
  const st = s.stats();
  assert.equal(st.deflated, 4);
  assert.equal(st.textBytes, texts.reduce((n, t) => n + utf8(t).length, 0));
  assert.equal(st.bytes, handles.reduce((n, h) => n + s.size(h), 0));
  assert.ok(st.bytes < st.textBytes * 0.7, `${st.bytes} of ${st.textBytes}`);
  // Freeing takes a deflated body out of every counter.
  s.free(handles[1]!);
  assert.equal(s.stats().deflated, 3);
  assert.equal(s.stats().textBytes, st.textBytes - utf8(texts[1]!).length);
});

Deno.test("BodyStore keeps as is a body that deflating would not shrink by an eighth", () => {
  const prng = new SeededPrng(11);
  const s = new BodyStore({ compressMinBytes: 64 });
  // Random bytes: deflate cannot shrink them at all.
  const bytes = new Uint8Array(2048);
  for (let i = 0; i < bytes.length; i++) bytes[i] = prng.intn(256);
  const h = s.putBytes(bytes);
  assert.equal(s.deflated(h), false);
  assert.deepEqual(s.bytes(h), bytes);
  assert.equal(s.size(h), bytes.length);
  assert.throws(
    () => new BodyStore({ compressMinBytes: -1 }),
    /compressMinBytes must be an integer ≥ 0/,
  );
});

Deno.test("BodyStore refuses a freed handle, and gives the handle to the next body", () => {
  const s = new BodyStore({ chunkBytes: 4096 });
  const a = s.put("a");
  s.free(a);
  assert.equal(s.holds(a), false);
  assert.throws(() => s.text(a), /Cannot use body 0 as the store does not hold it/);
  assert.throws(() => s.free(a), /does not hold it/);
  const b = s.put("b");
  assert.equal(b, a, "the handle is reused");
  assert.equal(s.text(b), "b");
  assert.throws(() => s.text(99), /does not hold it/);
});

Deno.test("BodyStore empties mostly-free chunks into the current one and drops them", () => {
  const s = new BodyStore({ chunkBytes: 4096 });
  // Four chunks of 40 bodies of 100 bytes each.
  const held = new Map<number, string>();
  for (let i = 0; i < 160; i++) {
    const t = `${i}:`.padEnd(100, String.fromCharCode(97 + (i % 26)));
    held.set(s.put(t), t);
  }
  const before = s.stats();
  assert.ok(before.chunks >= 4, `chunks: ${before.chunks}`);
  // Free 9 of 10 bodies: every full chunk falls below a quarter and is emptied.
  let i = 0;
  for (const h of [...held.keys()]) {
    if (i++ % 10 !== 0) {
      s.free(h);
      held.delete(h);
    }
  }
  const after = s.stats();
  assert.ok(after.moved > 0, "bodies were moved");
  assert.ok(after.chunks < before.chunks, `chunks ${before.chunks} → ${after.chunks}`);
  assert.equal(after.bodies, held.size);
  assert.equal(after.bytes, held.size * 100);
  assert.ok(after.reservedBytes <= 2 * 4096, `reserved ${after.reservedBytes}`);
  for (const [h, t] of held) assert.equal(s.text(h), t, `body ${h} after the moves`);
});

Deno.test("BodyStore: a random workload of puts and frees keeps every held text and bounded chunks", () => {
  const prng = new SeededPrng(7);
  const s = new BodyStore({ chunkBytes: 8192 });
  const held = new Map<number, string>();
  for (let step = 0; step < 20_000; step++) {
    if (held.size > 0 && prng.intn(100) < 48) {
      const keys = [...held.keys()];
      const h = keys[prng.intn(keys.length)]!;
      s.free(h);
      held.delete(h);
    } else {
      // Mostly small bodies, some that get a chunk of their own.
      const len = prng.intn(100) < 3 ? 2_100 + prng.intn(3_000) : prng.intn(400);
      const t = `${step}|`.padEnd(len, String.fromCharCode(97 + (step % 26)));
      held.set(s.put(t), t);
    }
  }
  const st = s.stats();
  assert.equal(st.bodies, held.size);
  for (const [h, t] of held) assert.equal(s.text(h), t);
  // Live bytes take at least a quarter of every chunk that is not the current one.
  assert.ok(
    st.reservedBytes <= 4 * st.bytes + 2 * 8192,
    `reserved ${st.reservedBytes} for ${st.bytes} live bytes`,
  );
});

Deno.test("BodyStore refuses a chunk size out of range naming the option", () => {
  assert.throws(
    () => new BodyStore({ chunkBytes: 10 }),
    /chunkBytes must be an integer in \[4096, 2\^30\]: current value is 10/,
  );
});
