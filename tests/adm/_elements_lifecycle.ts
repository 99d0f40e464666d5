/**
 * The whole life of an element, for every content type, through the REST
 * API: create, read back byte for byte, the 409-while-unpublished rule,
 * publish, a second version, diff (text, and structural for structured
 * types), rollback, publish-in-one-call, a gray release and its abort,
 * versions, the list, delete. After every step the element's records are
 * checked straight from cassemdb (`checkElement`). Run in process on
 * `MemoryDb` (`elements_lifecycle_test.ts`) and on a real cassemdb node
 * (`real_db_test.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type ContentType,
  contentTypeHeader,
  elementTrees,
  oplogPrefix,
  OplogRecord,
  serveLiveKey,
  ServeLiveRecord,
} from "../../shared/config/mod.ts";
import { appWithEnv, checkElement, elementsPath, keysUnder, record } from "./_elements.ts";
import type { MakeAdm, Step } from "./_make_adm.ts";

interface Case {
  type: ContentType;
  v1: string;
  v2: string;
  /** A structural change v1 → v2 (JSON Pointer paths), or null for plaintext. */
  changed: { added: string[]; removed: string[]; changed: string[] } | null;
}

// Each raw has what a re-serialization would lose: CRLF, tabs, comments, trailing blanks, unicode.
const CASES: Case[] = [
  {
    type: "json",
    v1: '{\r\n  "port": 8080,\r\n\t"hosts": ["a", "b"], "name": "ünï 🎉"\r\n}\r\n',
    v2: '{ "port": 9090, "hosts": ["a"], "name": "ünï 🎉", "tls": true }',
    changed: { added: ["/tls"], removed: ["/hosts/1"], changed: ["/port"] },
  },
  {
    type: "yaml",
    v1: "# the db\nport: 8080   \nhosts:\n  - a\n  - b\nname: 'ünï'\n",
    v2: "port: 9090\nhosts:\n  - a\nname: 'ünï'\ntls: true\n",
    changed: { added: ["/tls"], removed: ["/hosts/1"], changed: ["/port"] },
  },
  {
    type: "toml",
    v1:
      '# the db\nport = 8080\nhosts = ["a", "b"]\n[owner]\nname = "ünï"\nsince = 1979-05-27T07:32:00Z\n',
    v2:
      'port = 9090\nhosts = ["a"]\ntls = true\n[owner]\nname = "ünï"\nsince = 1979-05-27T07:32:00Z\n',
    changed: { added: ["/tls"], removed: ["/hosts/1"], changed: ["/port"] },
  },
  {
    type: "ini",
    v1: "; the db\nport = 8080\n\n[owner]\nname = ünï\nold = yes\n",
    v2: "port = 9090\ntls = true\n\n[owner]\nname = ünï\n",
    changed: { added: ["/tls"], removed: ["/owner/old"], changed: ["/port"] },
  },
  {
    type: "properties",
    v1: "# the db\nport=8080\nowner.name=\\u00fcn\\u00ef\nold : yes\n",
    v2: "port=9090\nowner.name=\\u00fcn\\u00ef\ntls=true\n",
    changed: { added: ["/tls"], removed: ["/old"], changed: ["/port"] },
  },
  {
    type: "plaintext",
    v1: "hello\tworld  \r\n  ünïcødé 🎉\n\n",
    v2: "hello world\n",
    changed: null,
  },
];

/**
 * The whole life of element shop/prod/cfg, one step per content type, each
 * on a fresh harness from `makeAdm`.
 */
export async function elementLifecycle(makeAdm: MakeAdm, step: Step): Promise<void> {
  for (const c of CASES) {
    await step(c.type, async () => {
      const t = await makeAdm();
      await appWithEnv(t);
      const admin = { token: t.adminToken };
      const base = `${elementsPath()}/cfg`;
      const check = () => checkElement(t.db, "shop", "prod", "cfg");

      // Create: version 1, unpublished; the raw comes back exactly.
      let r = await t.request("POST", base, {
        ...admin,
        body: { raw: c.v1, contentType: c.type, remark: "first" },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.version, 1);
      assert.equal(r.body.raw, c.v1);
      assert.equal(r.headers.get("ETag"), r.body.element.etag);
      let meta = await check();
      assert.deepEqual([meta.latestVersion, meta.unpublishedVersion, meta.publishedVersion], [
        1,
        1,
        null,
      ]);
      r = await t.request("GET", base, admin);
      assert.equal(r.status, 200);
      assert.deepEqual([r.body.version, r.body.raw, r.body.live], [1, c.v1, false]);
      // The raw route answers the bytes themselves, as the type's MIME type.
      const res = await t.app.request(`${base}/raw`, {
        headers: { Authorization: `Bearer ${t.adminToken}` },
      });
      assert.equal(res.headers.get("Content-Type"), contentTypeHeader(c.type));
      assert.deepEqual(
        new Uint8Array(await res.arrayBuffer()),
        new TextEncoder().encode(c.v1),
      );

      // A second create conflicts; a new version waits until version 1 is published.
      assert.equal(
        (await t.request("POST", base, { ...admin, body: { raw: c.v1, contentType: c.type } }))
          .status,
        409,
      );
      r = await t.request("PUT", base, { ...admin, body: { raw: c.v2 } });
      assert.equal(r.status, 409);
      assert.match(
        r.body.error.message,
        /unpublished version exists: current unpublished version is 1/,
      );

      // Publish 1: served to agents with its exact raw.
      r = await t.request("POST", `${base}/publish`, { ...admin, body: { version: 1 } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.applied, true);
      const live = await record(t.db, ServeLiveRecord, serveLiveKey("shop", "prod", "cfg"));
      assert.equal(live?.raw, c.v1);
      meta = await check();
      assert.deepEqual([meta.publishedVersion, meta.unpublishedVersion], [1, null]);

      // Version 2, answered with its number; GET still shows the live version 1.
      r = await t.request("PUT", base, { ...admin, body: { raw: c.v2, remark: "second" } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual([r.body.version, r.body.raw, r.body.remark], [2, c.v2, "second"]);
      await check();
      r = await t.request("GET", base, admin);
      assert.deepEqual([r.body.version, r.body.raw, r.body.live], [1, c.v1, true]);
      r = await t.request("GET", `${base}?version=2`, admin);
      assert.deepEqual([r.body.version, r.body.raw, r.body.live], [2, c.v2, false]);
      assert.equal((await t.request("GET", `${base}?version=3`, admin)).status, 404);

      // Diff 1 → 2.
      r = await t.request("GET", `${base}/diff?base=1&compare=2`, admin);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.match(r.body.unified, /^--- cfg@v1/m);
      assert.match(r.body.unified, /^\+\+\+ cfg@v2/m);
      const firstChanged = c.v1.split(/\r?\n/)[0]!;
      if (firstChanged !== c.v2.split(/\r?\n/)[0]) {
        assert.ok(r.body.unified.includes(`-${firstChanged}`), r.body.unified);
      }
      if (c.changed === null) assert.equal(r.body.structural, null);
      else {
        const paths = (xs: { path: string }[]) => xs.map((x) => x.path).sort();
        assert.deepEqual(
          {
            added: paths(r.body.structural.added),
            removed: paths(r.body.structural.removed),
            changed: paths(r.body.structural.changed),
          },
          c.changed,
        );
      }

      // Publish 2, roll back to 1 (its own operation), then a version published in one call.
      assert.equal(
        (await t.request("POST", `${base}/publish`, { ...admin, body: { version: 2 } })).status,
        200,
      );
      t.advance(1_000);
      r = await t.request("POST", `${base}/rollback`, {
        ...admin,
        body: { version: 1, remark: "bad" },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      meta = await check();
      assert.equal(meta.publishedVersion, 1);
      const entries = (await t.db.list(oplogPrefix())).entities.map((e) =>
        OplogRecord.parse(JSON.parse(new TextDecoder().decode(e.val)))
      );
      const rollback = entries.find((e) => e.operation === "element.rollback");
      assert.deepEqual(
        [rollback?.previousVersion, rollback?.newVersion, rollback?.remark, rollback?.key],
        [2, 1, "bad", "cfg"],
      );
      r = await t.request("PUT", base, { ...admin, body: { raw: c.v1, publish: true } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual([r.body.version, r.body.live], [3, true]);
      meta = await check();
      assert.deepEqual([meta.publishedVersion, meta.unpublishedVersion], [3, null]);

      // A gray release of version 2 to one client, then aborted.
      r = await t.request("POST", `${base}/gray`, {
        ...admin,
        body: { version: 2, rule: { kind: "clients", clientIds: ["pod-1"] } },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal((await check()).grayVersion, 2);
      r = await t.request("GET", `${base}/gray`, admin);
      assert.deepEqual([r.body.version, r.body.rule.kind, r.body.liveVersion], [2, "clients", 3]);
      assert.equal((await t.request("DELETE", `${base}/gray`, admin)).status, 200);
      assert.equal((await check()).grayVersion, null);

      // Versions and the list.
      r = await t.request("GET", `${base}/versions`, admin);
      assert.deepEqual(
        r.body.items.map((v: { version: number; live: boolean; published: boolean }) => [
          v.version,
          v.live,
          v.published,
        ]),
        [[1, false, true], [2, false, true], [3, true, true]],
      );
      r = await t.request("GET", elementsPath(), admin);
      assert.equal(r.body.items.length, 1);
      assert.deepEqual(
        [r.body.items[0].key, r.body.items[0].contentType, r.body.items[0].latestVersion],
        ["cfg", c.type, 3],
      );

      // Delete: nothing of it is left in cassemdb.
      assert.equal((await t.request("DELETE", base, admin)).status, 200);
      assert.equal((await t.request("GET", base, admin)).status, 404);
      for (const tree of elementTrees("shop", "prod", "cfg")) {
        assert.deepEqual(await keysUnder(t.db, tree.key), [], `${tree.key} is gone`);
      }
    });
  }
}
