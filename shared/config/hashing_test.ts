import assert from "node:assert/strict";
import {
  constantTimeEqual,
  fromBase64,
  hashSecret,
  newId,
  newSecret,
  rawFingerprint,
  sha256Hex,
  toBase64,
  toBase64Url,
  verifySecret,
} from "./hashing.ts";

Deno.test("sha256Hex and rawFingerprint match the SHA-256 test vectors", async () => {
  assert.equal(
    await sha256Hex(""),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    await rawFingerprint("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  // The raw's UTF-8 bytes, not its UTF-16 units.
  assert.equal(await rawFingerprint("é"), await sha256Hex(new Uint8Array([0xc3, 0xa9])));
});

Deno.test("constantTimeEqual compares whole strings", () => {
  assert.equal(constantTimeEqual("abc", "abc"), true);
  assert.equal(constantTimeEqual("abc", "abd"), false);
  assert.equal(constantTimeEqual("abc", "ab"), false);
  assert.equal(constantTimeEqual("", ""), true);
  assert.equal(constantTimeEqual("a", ""), false);
});

Deno.test("secrets verify against their hash only", async () => {
  const s = newSecret();
  assert.match(s, /^[A-Za-z0-9_-]{43}$/);
  const h = await hashSecret(s);
  assert.equal(await verifySecret(s, h), true);
  assert.equal(await verifySecret(s + "x", h), false);
  assert.equal(await verifySecret(newSecret(), h), false);
  assert.notEqual(newSecret(), newSecret());
  assert.match(newId(), /^[0-9a-f]{32}$/);
});

Deno.test("base64 round-trips and refuses non-base64", () => {
  for (const n of [0, 1, 2, 3, 31, 32, 100_000]) {
    const b = crypto.getRandomValues(new Uint8Array(Math.min(n, 65536)));
    assert.deepEqual(fromBase64(toBase64(b)), b);
  }
  assert.equal(toBase64Url(new Uint8Array([0xfb, 0xff])), "-_8");
  assert.throws(() => fromBase64("a$"), TypeError);
  assert.throws(() => fromBase64("abcde"), TypeError);
});
