import assert from "node:assert/strict";
import { CorruptRecordError, decodeRecord, encodeRecord, MAX_RECORD_BYTES } from "./codec.ts";
import { MAX_RAW_BYTES } from "./content_types.ts";
import { MAX_GRAY_CLIENTS } from "./gray.ts";
import { appKey, versionKey } from "./keys.ts";
import {
  AppRecord,
  OplogRecord,
  ServeGrayRecord,
  ServeLiveRecord,
  UserRecord,
  VersionRecord,
} from "./records.ts";
import { newSecretKey, parseKeyring, secretAad } from "./secret_crypto.ts";

const T = "2025-01-31T12:00:00.000Z";
const FP = "a".repeat(64);

const app = {
  id: "shop",
  description: "the shop",
  owner: "alice",
  status: "active",
  createdBy: "admin",
  createdAt: T,
  updatedBy: "admin",
  updatedAt: T,
} as const;

Deno.test("records round-trip through their codec", () => {
  const bytes = encodeRecord(AppRecord, app);
  assert.deepEqual(decodeRecord(AppRecord, appKey("shop"), bytes), app);
});

Deno.test("records keep fields they do not know (a newer copy's), so read-modify-write loses nothing", () => {
  const newer = { ...app, color: "blue" };
  const read = decodeRecord(
    AppRecord,
    appKey("shop"),
    new TextEncoder().encode(JSON.stringify(newer)),
  );
  const written = decodeRecord(
    AppRecord,
    appKey("shop"),
    encodeRecord(AppRecord, { ...read, description: "x" }),
  );
  assert.equal((written as Record<string, unknown>).color, "blue");
});

Deno.test("a version holds exactly one of raw and sealed", async () => {
  const base = {
    app: "shop",
    env: "prod",
    key: "k",
    version: 1,
    contentType: "json",
    fingerprint: FP,
    author: "alice",
    createdAt: T,
    remark: "",
  };
  const ring = await parseKeyring(newSecretKey(), "test");
  const sealed = await ring.seal("x", secretAad("shop", "prod", "k", 1));
  assert.equal(VersionRecord.safeParse({ ...base, raw: "{}" }).success, true);
  assert.equal(VersionRecord.safeParse({ ...base, sealed }).success, true);
  assert.equal(VersionRecord.safeParse({ ...base }).success, false);
  assert.equal(VersionRecord.safeParse({ ...base, raw: "{}", sealed }).success, false);
  assert.equal(VersionRecord.safeParse({ ...base, raw: "{}", version: 0 }).success, false);
  assert.equal(VersionRecord.safeParse({ ...base, raw: "{}", contentType: "xml" }).success, false);
});

Deno.test("decodeRecord names the key of a damaged record; encodeRecord refuses a malformed one", () => {
  const key = versionKey("shop", "prod", "k", 2);
  assert.throws(() => decodeRecord(AppRecord, key, new TextEncoder().encode("{")), (e: unknown) => {
    assert.ok(e instanceof CorruptRecordError);
    assert.equal(e.key, key);
    assert.match(
      e.message,
      /^Cannot read the record at "cassem\/versions\/shop\/prod\/k\/0000000002" as it is not UTF-8 JSON/,
    );
    return true;
  });
  assert.throws(
    () =>
      decodeRecord(
        AppRecord,
        key,
        new TextEncoder().encode(JSON.stringify({ ...app, status: "gone" })),
      ),
    /does not match its schema: status/,
  );
  assert.throws(() => encodeRecord(UserRecord, { account: "x" } as never), TypeError);
  assert.throws(
    () => encodeRecord(OplogRecord, { bad: true } as never),
    /Cannot encode the record as/,
  );
});

Deno.test("the largest live and gray records (worst-case raw, full gray rule) fit cassemdb's value cap", () => {
  const served = {
    app: "a".repeat(64),
    env: "e".repeat(64),
    key: "k".repeat(128),
    version: 9_999_999_999,
    contentType: "plaintext",
    fingerprint: FP,
    raw: '"'.repeat(MAX_RAW_BYTES),
  } as const;
  const live = encodeRecord(ServeLiveRecord, { ...served, publishedAt: T });
  const gray = encodeRecord(ServeGrayRecord, {
    ...served,
    startedAt: T,
    rule: {
      kind: "clients",
      clientIds: Array.from({ length: MAX_GRAY_CLIENTS }, (_, i) => `${i}`.padEnd(128, "c")),
    },
  });
  assert.ok(live.byteLength <= MAX_RECORD_BYTES && gray.byteLength <= MAX_RECORD_BYTES);
  assert.ok(gray.byteLength > 200 * 1024, `${gray.byteLength}: the test is not near the cap`);
  // A sealed maximum raw: base64 of raw + 16 bytes of tag.
  const ct = "A".repeat(Math.ceil((MAX_RAW_BYTES + 16) / 3) * 4);
  const sealed = encodeRecord(ServeLiveRecord, {
    ...served,
    raw: undefined,
    sealed: { keyId: "default", iv: "A".repeat(16), ciphertext: ct },
    publishedAt: T,
  });
  assert.ok(sealed.byteLength <= MAX_RECORD_BYTES);
});
