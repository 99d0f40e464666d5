import assert from "node:assert/strict";
import { CONTENT_TYPES } from "../shared/config/mod.ts";
import { type DecodedServe, ServedVersion } from "./serve_records.ts";
import { ServedState } from "./served.ts";

function version(
  key: string,
  v: number,
  modRevision: number,
  kind: "live" | "gray" = "live",
): DecodedServe {
  const meta = new ServedVersion({
    kind,
    app: "a",
    env: "e",
    key,
    version: v,
    contentType: "plaintext",
    fingerprint: String(v).padStart(64, "0"),
    modRevision,
    rule: kind === "gray" ? { kind: "clients", clientIds: ["c"] } : undefined,
    sealed: false,
  });
  return { kind: "version", meta, body: { raw: `v${v}` } };
}

const APP: DecodedServe = {
  kind: "app",
  recordKey: "cassem/serve/a/_app",
  app: "a",
  status: "active",
};
const ENV: DecodedServe = {
  kind: "env",
  recordKey: "cassem/serve/a/e/_env",
  app: "a",
  env: "e",
  clientSecretHash: null,
};

Deno.test("ServedState rebuilds the versions of an element at any revision since its horizon", () => {
  const s = new ServedState();
  s.reset([APP, ENV, version("k", 1, 3)], 3);
  s.apply(5, [{ recordKey: "cassem/serve/a/e/k/gray", after: version("k", 2, 5, "gray") }]);
  s.apply(7, [{ recordKey: "cassem/serve/a/e/k/live", after: version("k", 3, 7) }]);
  s.apply(9, [{ recordKey: "cassem/serve/a/e/k/gray", after: undefined }]);
  s.apply(11, [{ recordKey: "cassem/serve/a/e/k/live", after: undefined }]);
  const at = (r: number) => {
    const p = s.elementAt("a", "e", "k", r);
    return p && [p.live?.version, p.gray?.version];
  };
  assert.deepEqual(at(3), [1, undefined]);
  assert.deepEqual(at(4), [1, undefined]);
  assert.deepEqual(at(5), [1, 2]);
  assert.deepEqual(at(8), [3, 2]);
  assert.deepEqual(at(9), [3, undefined]);
  assert.deepEqual(at(11), [undefined, undefined]);
  assert.equal(at(2), undefined, "before the horizon: unknown");
  assert.equal(s.revision, 11);
});

Deno.test("ServedState: a full change log moves the horizon; old revisions are ignored", () => {
  const s = new ServedState(4);
  s.reset([APP, ENV], 1);
  for (let r = 2; r <= 10; r++) {
    s.apply(r, [{ recordKey: "cassem/serve/a/e/k/live", after: version("k", r, r) }]);
  }
  assert.equal(s.horizon, 6, "entries of revisions up to 6 were dropped");
  assert.equal(s.elementAt("a", "e", "k", 5), undefined);
  assert.equal(s.elementAt("a", "e", "k", 6)?.live?.version, 6);
  const d = s.apply(10, [{ recordKey: "cassem/serve/a/e/k/live", after: undefined }]);
  assert.equal(d.elements.length, 0, "a revision already applied changes nothing");
  assert.equal(s.element("a", "e", "k").live?.version, 10);
});

Deno.test("ServedState: deltas name the elements, envs and apps that changed; a reset diffs the whole state", () => {
  const s = new ServedState();
  s.reset([APP, ENV, version("k", 1, 2), version("j", 1, 2)], 2);
  const d = s.apply(3, [
    { recordKey: "cassem/serve/a/e/k/live", after: version("k", 2, 3) },
    {
      recordKey: "cassem/serve/a/e/_env",
      after: { ...ENV, clientSecretHash: "f".repeat(64) } as DecodedServe,
    },
  ]);
  assert.deepEqual(d.elements.map((e) => [e.key, e.before.live?.version, e.after.live?.version]), [[
    "k",
    1,
    2,
  ]]);
  assert.deepEqual([...d.envs], ["a/e"]);
  const r = s.reset([APP, version("k", 2, 3), version("n", 1, 4)], 4);
  assert.deepEqual(r.elements.map((e) => e.key).sort(), ["j", "n"], "j went, n came, k unchanged");
  assert.deepEqual([...r.envs], ["a/e"], "the env went");
  assert.equal(s.env("a", "e"), undefined);
  assert.equal(s.horizon, 4);
});

Deno.test("ServedVersion keeps its fingerprint packed and answers it as SHA-256 hex; refuses other text", () => {
  const init = {
    kind: "live" as const,
    app: "a",
    env: "e",
    key: "k",
    version: 1,
    contentType: "plaintext" as const,
    modRevision: 7,
    rule: undefined,
    sealed: false,
  };
  for (
    const fp of ["0".repeat(64), "f".repeat(64), "00ff10a0".repeat(8), "0123456789abcdef".repeat(4)]
  ) {
    assert.equal(new ServedVersion({ ...init, fingerprint: fp }).fingerprint, fp);
  }
  for (const bad of ["", "F".repeat(64), "0".repeat(63), "0".repeat(65), "g".repeat(64)]) {
    assert.throws(
      () => new ServedVersion({ ...init, fingerprint: bad }),
      /fingerprint must be SHA-256 hex: current value is/,
    );
  }
});

Deno.test("ServedVersion answers every field it was made with, packed or shared", () => {
  const rule = { kind: "clients" as const, clientIds: ["c"] };
  for (const kind of ["live", "gray"] as const) {
    for (const sealed of [false, true]) {
      for (const contentType of CONTENT_TYPES) {
        const init = {
          kind,
          app: "shop",
          env: "prod",
          key: "db.url",
          version: 3,
          contentType,
          fingerprint: "0123456789abcdef".repeat(4),
          modRevision: 2 ** 40,
          rule: kind === "gray" ? rule : undefined,
          sealed,
        };
        const v = new ServedVersion(init);
        assert.deepEqual(
          {
            kind: v.kind,
            app: v.app,
            env: v.env,
            key: v.key,
            version: v.version,
            contentType: v.contentType,
            fingerprint: v.fingerprint,
            modRevision: v.modRevision,
            rule: v.rule,
            sealed: v.sealed,
          },
          init,
        );
        assert.equal(v.live, kind === "live" ? v : undefined);
        assert.equal(v.gray, kind === "gray" ? v : undefined);
        assert.equal(v.cacheSlot, -1, "not cached");
      }
    }
  }
  const other = new ServedVersion({
    kind: "live",
    app: "shop",
    env: "prod",
    key: "other",
    version: 1,
    contentType: "json",
    fingerprint: "f".repeat(64),
    modRevision: 1,
    rule: undefined,
    sealed: false,
  });
  assert.equal(other.app, "shop");
  assert.throws(
    () =>
      new ServedVersion({
        kind: "live",
        app: "a",
        env: "e",
        key: "k",
        version: 1,
        contentType: "xml" as "json",
        fingerprint: "f".repeat(64),
        modRevision: 1,
        rule: undefined,
        sealed: false,
      }),
    /content type must be one of json, yaml, toml, ini, properties, plaintext: current value is "xml"/,
  );
});

Deno.test("ServedVersion.sameAs: the same number, fingerprint and live/gray, whatever the object", () => {
  const init = {
    kind: "live" as const,
    app: "a",
    env: "e",
    key: "k",
    version: 2,
    contentType: "json" as const,
    fingerprint: "ab".repeat(32),
    modRevision: 5,
    rule: undefined,
    sealed: false,
  };
  const v = new ServedVersion(init);
  assert.ok(
    v.sameAs(new ServedVersion({ ...init, modRevision: 9 })),
    "written again, same content",
  );
  assert.ok(!v.sameAs(new ServedVersion({ ...init, version: 3 })));
  assert.ok(!v.sameAs(new ServedVersion({ ...init, fingerprint: "ac".repeat(32) })));
  assert.ok(
    !v.sameAs(
      new ServedVersion({ ...init, kind: "gray", rule: { kind: "clients", clientIds: ["c"] } }),
    ),
  );
});
