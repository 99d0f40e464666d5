import assert from "node:assert/strict";
import { newSecretKey, parseKeyring } from "../shared/config/mod.ts";
import { jsonOf, TestEnv } from "./_test_env.ts";

const E = "/v1/apps/shop/envs/prod";
const SECRET = "s3cr3t-of-the-env";

Deno.test("an env with a client secret: 401 without it, 403 with a wrong one, and nothing of the app in either", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod", SECRET);
    await t.pub.publish("shop", "prod", "k", { version: 1, raw: "hidden-value" });
    const a = await t.agent();
    const routes: [string, RequestInit][] = [
      [`${E}/elements?keys=k`, {}],
      [`${E}/elements/k/raw`, {}],
      [`${E}/watch?keys=k`, { headers: { accept: "text/event-stream" } }],
      [`${E}/poll`, { method: "POST", body: JSON.stringify({ held: { k: null }, timeoutMs: 0 }) }],
      ["/v1/instances", {
        method: "POST",
        headers: { "x-cassem-client-id": "c-1" },
        body: JSON.stringify({ watching: [{ app: "shop", env: "prod", keys: ["k"] }] }),
      }],
    ];
    for (const [path, init] of routes) {
      for (
        const [secret, status, code] of [[undefined, 401, "UNAUTHENTICATED"], [
          "wrong",
          403,
          "PERMISSION_DENIED",
        ]] as const
      ) {
        const headers = new Headers(init.headers);
        if (secret) headers.set("x-cassem-secret", secret);
        const r = await a.request(path, { ...init, headers });
        const text = await r.text();
        assert.equal(r.status, status, `${path} ${secret}`);
        assert.equal(JSON.parse(text).error.code, code);
        assert.equal(JSON.parse(text).error.field, "X-Cassem-Secret");
        assert.ok(!text.includes("hidden-value") && !text.includes('"k"'), `${path}: ${text}`);
      }
      const ok = await a.request(path, {
        ...init,
        headers: { ...Object.fromEntries(new Headers(init.headers)), "x-cassem-secret": SECRET },
      });
      assert.equal(ok.status, 200, `${path} with the secret`);
      await ok.body?.cancel();
    }
    assert.equal((await t.db.get("cassem/instances/c-1")).entity !== undefined, true);
  } finally {
    await t.close();
  }
});

Deno.test("rotating an env's secret ends the streams that used the old one", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod", SECRET);
    await t.pub.publish("shop", "prod", "k", { version: 1, raw: "v" });
    const a = await t.agent();
    const s = await t.watch(a, `${E}/watch?keys=k`, { "x-cassem-secret": SECRET });
    await s.next();
    await s.next();
    await t.pub.env("shop", "prod", "the-new-secret");
    const close = await s.next();
    assert.equal(close?.event, "close");
    assert.equal(JSON.parse(close!.data).code, "PERMISSION_DENIED");
    assert.equal(await s.next(), undefined, "the stream ended");
    assert.equal(a.core.subscribers.size, 0);
  } finally {
    await t.close();
  }
});

Deno.test("a secret element is served opened with the keyring, and refused clearly without one", async () => {
  const t = new TestEnv();
  try {
    const keyring = await parseKeyring(newSecretKey(), "test");
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "pw", { version: 4, raw: "hunter2", keyring });
    const withKey = await t.agent({ keyring });
    const r = await jsonOf(await withKey.request(`${E}/elements?keys=pw`));
    const el = (r.body.elements as { raw: string; fingerprint: string }[])[0]!;
    assert.equal(el.raw, "hunter2");
    const stored = JSON.parse(
      new TextDecoder().decode((await t.db.get("cassem/serve/shop/prod/pw/live")).entity!.val),
    );
    assert.equal(
      el.fingerprint,
      stored.fingerprint,
      "the sealed fingerprint, not one of the plaintext",
    );
    // A push of a new secret version is opened before it goes out.
    const s = await t.watch(withKey, `${E}/watch?keys=pw`);
    assert.equal(JSON.parse((await s.next())!.data).raw, "hunter2");
    await s.next();
    await t.pub.publish("shop", "prod", "pw", { version: 5, raw: "correct horse", keyring });
    assert.equal(JSON.parse((await s.next())!.data).raw, "correct horse");

    const without = await t.agent();
    const refused = await jsonOf(await without.request(`${E}/elements?keys=pw`));
    assert.equal(refused.status, 500);
    assert.equal((refused.body.error as { code: string }).code, "FAILED_PRECONDITION");
    assert.match(
      (refused.body.error as { message: string }).message,
      /has no secret key: start it with CASSEM_SECRET_KEY or --secret-key-file/,
    );
  } finally {
    await t.close();
  }
});
