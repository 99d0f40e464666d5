/**
 * `deno task bench adm [--duration S] [--concurrency N] [--quick] [--cpu-prof DIR]`:
 * cassemadm's element writes per second through one and two adm copies
 * against a 3-node cassemdb, beside cassemdb's own SetKV and Txn rate
 * measured from the same process in the same run.
 *
 * Rows (each bounded by `--duration` seconds and 20,000 requests):
 *
 * - `db SetKV`: one 300 B value per call through `DbClient` (what every
 *   adm request's Txn travels over);
 * - `db Txn`: a Txn shaped like an adm publish (3 compares on keys it
 *   read, 4 sets of ~300 B) through `DbClient`, after a `getMany` of those
 *   keys: the floor under one adm write;
 * - `adm create`: `POST .../elements/{new key}` (version 1);
 * - `adm update`: `PUT .../elements/{key}` with `publish: true` (a version
 *   made live in one Txn), each worker on its own element, so no request
 *   loses a compare-and-swap race;
 * - `adm publish`: `POST .../elements/{key}/publish` of the version 1 of
 *   an element created for it.
 *
 * The adm rows run through one copy, then through two (requests alternate
 * between them). Latency is per request, in the bench process (which is
 * also the HTTP client). CPU per request is user+system CPU of the adm
 * processes and of the cassemdb nodes during the row (/proc/<pid>/stat),
 * per completed request. `--cpu-prof DIR` writes V8 CPU profiles of the
 * adm copies when they stop (read them with bench/cpuprof_top.ts).
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  appKey,
  AppRecord,
  elementKey,
  ElementRecord,
  encodeRecord,
  envKey,
  EnvRecord,
} from "../shared/config/mod.ts";
import { DbClient } from "../shared/db/mod.ts";
import { type Cluster, startCassem } from "./_clusters.ts";
import {
  foreignCpuMs,
  foreignDeltaMs,
  freePort,
  type Proc,
  procCpuMs,
  spawnProc,
} from "./_procs.ts";
import { closedLoop, fmt, percentile, printTable } from "./_stats.ts";

const PASSWORD = "bench-admin-password";
const MAX_OPS = 20_000;

interface Row {
  target: string;
  op: string;
  copies: string;
  concurrency: number;
  ops: number;
  perSec: number;
  p50: number;
  p99: number;
  errors: number;
  admCpuUs: number;
  dbCpuUs: number;
  /** CPU other users' processes took meanwhile, % of one core. */
  othersPct: number;
}

/** Starts one adm copy on `endpoints`; resolves with it and its URL once it listens. */
async function startAdm(
  name: string,
  endpoints: string,
  cpuProfDir?: string,
): Promise<{ proc: Proc; url: string }> {
  const port = freePort();
  const prof = cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}/${name}`] : [];
  const proc = spawnProc(name, Deno.execPath(), [
    "run",
    "-A",
    ...prof,
    "adm/main.ts",
    "--listen",
    `127.0.0.1:${port}`,
    "--db",
    endpoints,
    "--log-level",
    "warn",
  ], { env: { ...Deno.env.toObject(), CASSEM_ADMIN_PASSWORD: PASSWORD } });
  await proc.waitLine((l: string) => l.includes("cassemadm listening on"), { timeoutMs: 60_000 });
  return { proc, url: `http://127.0.0.1:${port}` };
}

/** Measures `worker` at `concurrency`, with the CPU of the adm and db processes. */
async function measure(
  head: Pick<Row, "target" | "op" | "copies" | "concurrency">,
  durationS: number,
  admPids: number[],
  dbPids: number[],
  worker: () => Promise<boolean>,
  maxOps = MAX_OPS,
): Promise<Row> {
  const cpu = (pids: number[]) => pids.reduce((s, p) => s + procCpuMs(p), 0);
  let errors = 0;
  const a0 = cpu(admPids);
  const d0 = cpu(dbPids);
  const f0 = foreignCpuMs();
  const { latencies, elapsedMs } = await closedLoop(
    head.concurrency,
    maxOps,
    durationS * 1000,
    async () => {
      if (!await worker()) errors++;
    },
  );
  const ops = latencies.length;
  const othersPct = foreignDeltaMs(f0, foreignCpuMs()) / elapsedMs * 100;
  const row: Row = {
    ...head,
    ops,
    perSec: (ops - errors) / (elapsedMs / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    admCpuUs: admPids.length > 0 ? ((cpu(admPids) - a0) * 1000) / ops : NaN,
    dbCpuUs: ((cpu(dbPids) - d0) * 1000) / ops,
    othersPct,
  };
  console.log(
    `  ${row.target} ${row.op} copies=${row.copies} c=${row.concurrency}: ${
      fmt(row.perSec)
    }/s, p50 ${fmt(row.p50, 2)} ms, p99 ${fmt(row.p99, 2)} ms${errors ? `, ${errors} errors` : ""}`,
  );
  return row;
}

/** Runs the adm benchmark and prints its table. */
export async function runAdmBench(args: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      duration: { type: "string" },
      concurrency: { type: "string", default: "16" },
      quick: { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
    },
  });
  const durationS = Number(values.duration ?? (values.quick ? 2 : 5));
  const concurrency = Number(values.concurrency);
  if (!(durationS > 0 && durationS <= 60) || !(concurrency >= 1 && concurrency <= 256)) {
    throw new RangeError(
      `Cannot run the adm bench as --duration must be in (0, 60] and --concurrency in [1, 256]: current values are ${values.duration} and ${values.concurrency}`,
    );
  }
  console.log(
    `adm bench: element writes through 1 and 2 adm copies on a 3-node cassemdb, c=${concurrency}, ${durationS} s per row (at most ${MAX_OPS} requests)`,
  );
  console.log(
    `machine: ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}, load average ${
      (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ")
    }`,
  );
  const root = await Deno.makeTempDir({ prefix: "cassem-bench-adm-" });
  const t0 = performance.now();
  let cluster: Cluster | undefined;
  const adms: { proc: Proc; url: string }[] = [];
  let db: DbClient | undefined;
  const rows: Row[] = [];
  try {
    cluster = await startCassem(3, `${root}/db`);
    const endpoints = cluster.members.map((m) => m.client).join(",");
    const dbPids = cluster.members.map((m) => m.proc.pid);
    console.log(`3-node cassemdb up, leader node ${cluster.leader.index}`);
    db = new DbClient({
      endpoints: [cluster.leader.client, ...cluster.followers.map((f) => f.client)],
    });

    // cassemdb's own rates through the client adm uses.
    const value = new TextEncoder().encode("x".repeat(300));
    let n = 0;
    rows.push(
      await measure(
        { target: "db", op: "SetKV", copies: "-", concurrency },
        durationS,
        [],
        dbPids,
        async () => {
          await db!.set(`bench/set/${n++ % 1000}`, value, { overwrite: true });
          return true;
        },
      ),
    );
    const time = new Date().toISOString();
    const meta = encodeRecord(ElementRecord, {
      app: "dbbench",
      env: "prod",
      key: "k",
      contentType: "plaintext",
      secret: false,
      schema: null,
      latestVersion: 1,
      latestFingerprint: "0".repeat(64),
      publishedVersion: null,
      publishedFingerprint: null,
      unpublishedVersion: 1,
      grayVersion: null,
      createdBy: "admin",
      createdAt: time,
      updatedBy: "admin",
      updatedAt: time,
    });
    for (let w = 0; w < concurrency; w++) {
      await db.set(
        appKey(`dbbench${w}`),
        encodeRecord(AppRecord, {
          id: `dbbench${w}`,
          description: "",
          owner: "admin",
          status: "active",
          createdBy: "admin",
          createdAt: time,
          updatedBy: "admin",
          updatedAt: time,
        }),
        { overwrite: true },
      );
      await db.set(
        envKey(`dbbench${w}`, "prod"),
        encodeRecord(EnvRecord, {
          app: `dbbench${w}`,
          env: "prod",
          description: "",
          requireApproval: false,
          clientSecretHash: null,
          clientSecretUpdatedAt: null,
          createdBy: "admin",
          createdAt: time,
          updatedBy: "admin",
          updatedAt: time,
        }),
        { overwrite: true },
      );
      await db.set(elementKey(`dbbench${w}`, "prod", "k"), meta, { overwrite: true });
    }
    let w0 = 0;
    rows.push(
      await measure(
        { target: "db", op: "getMany+Txn", copies: "-", concurrency },
        durationS,
        [],
        dbPids,
        async () => {
          // Each loop its own app: like adm updates of distinct elements, no lost races.
          const app = `dbbench${w0++ % concurrency}`;
          const keys = [appKey(app), envKey(app, "prod"), elementKey(app, "prod", "k")];
          const { entities } = await db!.getMany(keys);
          let tx = db!.txn();
          for (const e of entities) tx = tx.if(e.key, { modRevision: e.modRevision });
          const r = await tx
            .set(elementKey(app, "prod", "k"), meta, { overwrite: true })
            .set(`bench/txn/${app}/version`, value, { overwrite: true })
            .set(`bench/txn/${app}/live`, value, { overwrite: true })
            .set(`bench/txn/${app}/oplog/${n++}`, value, { overwrite: true, ttl: 600 })
            .commit();
          return r.succeeded;
        },
      ),
    );

    const prof = values["cpu-prof"];
    adms.push(await startAdm("adm-1", endpoints, prof), await startAdm("adm-2", endpoints, prof));
    const admPids = adms.map((a) => a.proc.pid);
    const login = await fetch(`${adms[0]!.url}/api/account/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ account: "admin", password: PASSWORD }),
    });
    const { token } = await login.json();
    const headers = { "Authorization": `Bearer ${token}`, "Content-Type": "application/json" };
    const call = async (url: string, method: string, path: string, body: unknown) => {
      const res = await fetch(`${url}${path}`, { method, headers, body: JSON.stringify(body) });
      await res.body?.cancel();
      return res.status;
    };
    if (await call(adms[0]!.url, "POST", "/api/apps/bench", {}) !== 201) {
      throw new Error("Cannot create the bench app");
    }
    if (await call(adms[0]!.url, "POST", "/api/apps/bench/envs/prod", {}) !== 201) {
      throw new Error("Cannot create the bench env");
    }
    const E = "/api/apps/bench/envs/prod/elements";
    const raw = (i: number) => JSON.stringify({ i, pad: "y".repeat(260) });

    for (const copies of [1, 2]) {
      const pids = admPids.slice(0, copies);
      let next = 0;
      const url = () => adms[next++ % copies]!.url;
      const label = String(copies);
      // create: new keys; they are published in the publish row.
      let created = 0;
      const createdKeys: string[] = [];
      rows.push(
        await measure(
          { target: "adm", op: "create", copies: label, concurrency },
          durationS,
          pids,
          dbPids,
          async () => {
            const key = `c${copies}-${created++}`;
            const ok =
              await call(url(), "POST", `${E}/${key}`, { raw: raw(0), contentType: "json" }) ===
                201;
            if (ok) createdKeys.push(key);
            return ok;
          },
        ),
      );
      // update: each worker loop its own element (made here, live at version 1).
      const mine: string[] = [];
      for (let w = 0; w < concurrency; w++) {
        const key = `u${copies}-${w}`;
        await call(adms[0]!.url, "POST", `${E}/${key}`, {
          raw: raw(0),
          contentType: "json",
          publish: true,
        });
        mine.push(key);
      }
      let u = 0;
      rows.push(
        await measure(
          { target: "adm", op: "update+publish", copies: label, concurrency },
          durationS,
          pids,
          dbPids,
          async () => {
            // Each closed loop takes the next free element: no two in flight on one element.
            const key = mine.pop()!;
            try {
              return await call(url(), "PUT", `${E}/${key}`, { raw: raw(++u), publish: true }) ===
                200;
            } finally {
              mine.push(key);
            }
          },
        ),
      );
      let p = 0;
      rows.push(
        await measure(
          { target: "adm", op: "publish", copies: label, concurrency },
          durationS,
          pids,
          dbPids,
          async () => {
            const key = createdKeys[p++]!;
            return await call(url(), "POST", `${E}/${key}/publish`, { version: 1 }) === 200;
          },
          createdKeys.length, // each element created above is published once
        ),
      );
    }
  } finally {
    db?.close();
    await Promise.all(adms.map((a) => a.proc.stop()));
    await cluster?.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  console.log();
  printTable(
    [
      "target",
      "op",
      "adm copies",
      "conc",
      "req/s",
      "p50 ms",
      "p99 ms",
      "errors",
      "adm CPU µs/req",
      "db CPU µs/req",
      "others %",
    ],
    rows.map((r) => [
      r.target,
      r.op,
      r.copies,
      String(r.concurrency),
      fmt(r.perSec),
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      String(r.errors),
      Number.isFinite(r.admCpuUs) ? fmt(r.admCpuUs) : "-",
      fmt(r.dbCpuUs),
      fmt(r.othersPct),
    ]),
  );
  console.log(
    `\nreq/s counts successful requests; latency is measured in the bench process (also the HTTP and` +
      `\ngRPC client). CPU µs/req: user+system CPU of the adm copies / the 3 cassemdb nodes during the row,` +
      `\nper request (/proc/<pid>/stat, 10 ms ticks). others %: CPU that processes this benchmark did not` +
      `\nstart used meanwhile (% of one core): rows with a high figure were disturbed. finished in ${
        fmt((performance.now() - t0) / 1000)
      } s`,
  );
}
