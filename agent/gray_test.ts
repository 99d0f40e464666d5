import assert from "node:assert/strict";
import { grayBucket } from "../shared/config/mod.ts";
import { TestEnv } from "./_test_env.ts";
import type { Agent } from "./app.ts";

const E = "/v1/apps/shop/envs/prod";

async function versionFor(a: Agent, headers: Record<string, string>): Promise<number | undefined> {
  const r = await a.request(`${E}/elements?keys=k`, { headers });
  assert.equal(r.status, 200);
  const body = await r.json();
  return body.elements[0]?.version;
}

Deno.test("gray by client ids and by labels reaches exactly the chosen clients; anonymous clients get live", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "k", { version: 1, raw: "v1" });
    await t.pub.gray("shop", "prod", "k", { version: 2, raw: "v2" }, {
      kind: "clients",
      clientIds: ["c-1", "c-3"],
    });
    const a = await t.agent();
    const got: Record<string, number | undefined> = {};
    for (const id of ["c-1", "c-2", "c-3", "c-4"]) {
      got[id] = await versionFor(a, { "x-cassem-client-id": id });
    }
    assert.deepEqual(got, { "c-1": 2, "c-2": 1, "c-3": 2, "c-4": 1 });
    assert.equal(await versionFor(a, {}), 1, "anonymous");

    await t.pub.gray("shop", "prod", "k", { version: 2, raw: "v2" }, {
      kind: "labels",
      selector: { region: "eu", tier: "canary" },
    });
    const cases: [string, number][] = [
      ["region=eu,tier=canary", 2],
      ["tier=canary,region=eu,zone=a", 2],
      ["region=eu", 1],
      ["region=us,tier=canary", 1],
      ["", 1],
    ];
    for (const [labels, want] of cases) {
      assert.equal(
        await versionFor(a, { "x-cassem-client-id": "c-9", "x-cassem-labels": labels }),
        want,
        labels,
      );
    }
    assert.equal(
      await versionFor(a, { "x-cassem-labels": "region=eu,tier=canary" }),
      2,
      "anonymous with labels",
    );
  } finally {
    await t.close();
  }
});

Deno.test("gray by percentage: exactly the clients whose bucket is below it, 10% ± 1.5% of 10,000 ids", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "k", { version: 1, raw: "v1" });
    await t.pub.gray("shop", "prod", "k", { version: 2, raw: "v2" }, {
      kind: "percentage",
      percent: 10,
    });
    const a = await t.agent();
    let gray = 0;
    for (let i = 0; i < 10_000; i++) {
      const clientId = `client-${i}`;
      const r = await a.core.read("shop", "prod", ["k"], {
        clientId,
        labels: {},
        secret: undefined,
        ip: "",
      });
      const picked = r.elements[0]!.version === 2;
      const want = grayBucket({ app: "shop", env: "prod", key: "k", clientId }) < 1_000;
      assert.equal(picked, want, clientId);
      if (picked) gray++;
    }
    // Binomial(10,000, 0.1) has a standard deviation of 30: ±150 is 5σ.
    assert.ok(Math.abs(gray - 1_000) <= 150, `${gray} of 10,000 got the gray version`);
  } finally {
    await t.close();
  }
});

Deno.test("gray pushes: the chosen watchers get the gray version, then promote reaches all, abort returns to live", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "k", { version: 1, raw: "v1" });
    const a = await t.agent();
    const inside = await t.watch(a, `${E}/watch?keys=k`, { "x-cassem-client-id": "c-1" });
    const outside = await t.watch(a, `${E}/watch?keys=k`, { "x-cassem-client-id": "c-2" });
    for (const s of [inside, outside]) {
      assert.equal(JSON.parse((await s.next())!.data).version, 1);
      assert.equal((await s.next())!.event, "ready");
    }
    await t.pub.gray("shop", "prod", "k", { version: 2, raw: "v2" }, {
      kind: "clients",
      clientIds: ["c-1"],
    });
    const g = JSON.parse((await inside.next())!.data);
    assert.deepEqual([g.version, g.gray], [2, true]);
    assert.equal(await outside.next(50), undefined, "the outsider gets nothing");

    await t.pub.promote("shop", "prod", "k");
    const p1 = JSON.parse((await inside.next())!.data);
    assert.deepEqual([p1.version, p1.gray], [2, false], "same version, now live");
    const p2 = JSON.parse((await outside.next())!.data);
    assert.deepEqual([p2.version, p2.gray], [2, false]);

    await t.pub.gray("shop", "prod", "k", { version: 3, raw: "v3" }, {
      kind: "clients",
      clientIds: ["c-1"],
    });
    assert.equal(JSON.parse((await inside.next())!.data).version, 3);
    await t.pub.abort("shop", "prod", "k");
    const back = JSON.parse((await inside.next())!.data);
    assert.deepEqual([back.version, back.gray, back.raw], [2, false, "v2"], "abort: back to live");
    assert.equal(await outside.next(50), undefined, "the outsider saw neither");
    assert.equal(await versionFor(a, { "x-cassem-client-id": "c-1" }), 2);
  } finally {
    await t.close();
  }
});

Deno.test("resume after an abort the client missed brings it back to live (the log rebuilds the gray view)", async () => {
  const t = new TestEnv();
  try {
    await t.pub.appEnv("shop", "prod");
    await t.pub.publish("shop", "prod", "k", { version: 1, raw: "v1" });
    await t.pub.gray("shop", "prod", "k", { version: 2, raw: "v2" }, {
      kind: "clients",
      clientIds: ["c-1"],
    });
    const a = await t.agent();
    const s = await t.watch(a, `${E}/watch?keys=k`, { "x-cassem-client-id": "c-1" });
    assert.equal(JSON.parse((await s.next())!.data).version, 2);
    await s.next();
    const last = s.lastEventId;
    await s.cancel();
    await t.pub.abort("shop", "prod", "k");
    const r = await t.watch(a, `${E}/watch?keys=k`, {
      "x-cassem-client-id": "c-1",
      "last-event-id": last,
    });
    const ev = JSON.parse((await r.next())!.data);
    assert.deepEqual([ev.version, ev.gray], [1, false]);
    assert.equal((await r.next())!.event, "ready");
  } finally {
    await t.close();
  }
});
