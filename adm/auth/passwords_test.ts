import assert from "node:assert/strict";
import { hashPassword, MIN_PASSWORD_ITERATIONS, verifyPassword } from "./passwords.ts";

Deno.test("hashPassword: PBKDF2-SHA256 with a fresh 16-byte salt each time; verify tells right from wrong", async () => {
  const a = await hashPassword("correct horse");
  const b = await hashPassword("correct horse");
  assert.equal(a.algorithm, "PBKDF2-SHA256");
  assert.equal(a.iterations, MIN_PASSWORD_ITERATIONS);
  assert.equal(atob(a.salt).length, 16);
  assert.notEqual(a.salt, b.salt, "the same password gets another salt");
  assert.notEqual(a.hash, b.hash, "and so another hash");
  assert.ok(await verifyPassword("correct horse", a));
  assert.ok(await verifyPassword("correct horse", b));
  assert.equal(await verifyPassword("correct horsf", a), false);
  assert.equal(await verifyPassword("correct horse", { ...a, salt: b.salt }), false);
  await assert.rejects(hashPassword("x", 1_000), RangeError);
});
