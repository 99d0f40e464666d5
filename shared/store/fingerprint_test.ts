import assert from "node:assert/strict";
import { SeededPrng } from "../../shared/prng.ts";
import { fingerprint } from "./fingerprint.ts";

/** 64-bit FNV-1a with BigInt: the reference the fast version must match. */
function reference(bytes: Uint8Array): string {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffff_ffff_ffff_ffffn;
  return h.toString(16).padStart(16, "0");
}

Deno.test("fingerprint() matches the published FNV-1a 64 vectors", () => {
  const enc = new TextEncoder();
  assert.equal(fingerprint(new Uint8Array()), "cbf29ce484222325");
  assert.equal(fingerprint(enc.encode("a")), "af63dc4c8601ec8c");
  assert.equal(fingerprint(enc.encode("foobar")), "85944171f73967e8");
});

Deno.test("fingerprint() matches a BigInt reference on random bytes", () => {
  const prng = new SeededPrng(7);
  for (let i = 0; i < 200; i++) {
    const b = new Uint8Array(prng.intn(300));
    for (let j = 0; j < b.length; j++) b[j] = prng.intn(256);
    assert.equal(fingerprint(b), reference(b));
  }
  const ff = new Uint8Array(1000).fill(0xff);
  assert.equal(fingerprint(ff), reference(ff));
});
