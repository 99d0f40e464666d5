import assert from "node:assert/strict";
import { fromBase64, toBase64 } from "./hashing.ts";
import {
  DecryptError,
  KeyringError,
  newSecretKey,
  parseKeyring,
  secretAad,
  UnknownKeyError,
} from "./secret_crypto.ts";

const AAD = secretAad("shop", "prod", "db.password", 3);

Deno.test("a sealed secret opens with the same keyring and place, and its ciphertext hides the text", async () => {
  const ring = await parseKeyring(newSecretKey(), "CASSEM_SECRET_KEY");
  assert.equal(ring.activeId, "default");
  const sealed = await ring.seal("hunter2 ✓", AAD);
  assert.equal(sealed.keyId, "default");
  assert.equal(fromBase64(sealed.iv).byteLength, 12);
  assert.ok(!sealed.ciphertext.includes("hunter2"));
  assert.ok(!new TextDecoder().decode(fromBase64(sealed.ciphertext)).includes("hunter2"));
  assert.equal(await ring.open(sealed, AAD), "hunter2 ✓");
  // A fresh IV each time: the same text never seals the same way twice.
  const again = await ring.seal("hunter2 ✓", AAD);
  assert.notEqual(again.ciphertext, sealed.ciphertext);
});

Deno.test("a wrong key, an altered ciphertext or another place fails with a clear error", async () => {
  const ring = await parseKeyring(`k1:${newSecretKey()}`, "test");
  const other = await parseKeyring(`k1:${newSecretKey()}`, "test");
  const sealed = await ring.seal("s3cret", AAD);
  await assert.rejects(() => other.open(sealed, AAD), (e: unknown) => {
    assert.ok(e instanceof DecryptError);
    assert.match(
      e.message,
      /^Cannot decrypt the secret of shop\/prod\/db.password\/3 with key "k1"/,
    );
    return true;
  });
  const bytes = fromBase64(sealed.ciphertext);
  bytes[0] = bytes[0]! ^ 1;
  await assert.rejects(
    () => ring.open({ ...sealed, ciphertext: toBase64(bytes) }, AAD),
    DecryptError,
  );
  await assert.rejects(
    () => ring.open(sealed, secretAad("shop", "prod", "db.password", 4)),
    DecryptError,
  );
  await assert.rejects(() => ring.open({ ...sealed, ciphertext: "###" }, AAD), DecryptError);
  await assert.rejects(() => ring.open({ ...sealed, keyId: "k9" }, AAD), (e: unknown) => {
    assert.ok(e instanceof UnknownKeyError);
    assert.match(e.message, /key "k9" is not in the keyring: current ids are k1$/);
    return true;
  });
});

Deno.test("key rotation: the first key seals, every key opens", async () => {
  const oldKey = newSecretKey();
  const before = await parseKeyring(`old:${oldKey}`, "test");
  const sealedOld = await before.seal("v1", AAD);
  const after = await parseKeyring(`# rotated\nnew:${newSecretKey()}\nold:${oldKey}\n`, "key file");
  assert.deepEqual(after.ids, ["new", "old"]);
  assert.equal(await after.open(sealedOld, AAD), "v1");
  const sealedNew = await after.seal("v2", AAD);
  assert.equal(sealedNew.keyId, "new");
  await assert.rejects(() => before.open(sealedNew, AAD), UnknownKeyError);
});

Deno.test("parseKeyring refuses malformed keyrings, naming the source", async () => {
  const key = newSecretKey();
  const bad: [string, RegExp][] = [
    ["", /needs at least one key/],
    [toBase64(new Uint8Array(16)), /must be 32 bytes \(AES-256\): current size is 16/],
    ["a:!!!", /key "a" must be base64/],
    [`a:${key},a:${key}`, /repeats "a"/],
    [`${key},b:${key}`, /must each be id:base64key/],
    [`bad id:${key}`, /key id must be 1 to 32/],
  ];
  for (const [text, re] of bad) {
    await assert.rejects(() => parseKeyring(text, "CASSEM_SECRET_KEY"), (e: unknown) => {
      assert.ok(e instanceof KeyringError, String(e));
      assert.match(e.message, /^Cannot read the secret keys of CASSEM_SECRET_KEY as /);
      assert.match(e.message, re);
      return true;
    });
  }
});
