/**
 * Benchmark clusters: cassemdb nodes and etcd members started as child
 * processes on loopback, a common {@linkcode Cluster} handle over either
 * (leader, pause, resume, stop), and the probes that find their leader.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { callOnce, RawClient } from "./_rpc.ts";
import { waitFor as waitUntil } from "../tests/support/procs.ts";
import { freePort, type Proc, spawnProc, stopAll } from "./_procs.ts";

/** One member of a benchmark cluster. */
export interface Member {
  /** 1-based. */
  index: number;
  /** Client gRPC address. */
  client: string;
  proc: Proc;
}

/** A started cluster of cassemdb nodes or etcd members. */
export interface Cluster {
  kind: "cassem" | "etcd";
  members: Member[];
  leader: Member;
  followers: Member[];
  /** Freezes every member (SIGSTOP by PID), so an idle cluster takes no CPU from a measurement. */
  pause(): void;
  /** Thaws every member (SIGCONT) and waits until they agree on a leader again (updating `leader`). */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** A Cluster over started members; `probe` answers the leader's index (1-based) once all agree. */
function makeCluster(
  kind: "cassem" | "etcd",
  members: Member[],
  leaderIndex: number,
  probe: () => Promise<number | undefined>,
): Cluster {
  let paused = false;
  const signal = (sig: Deno.Signal) => {
    for (const m of members) m.proc.signal(sig);
  };
  const c: Cluster = {
    kind,
    members,
    leader: members[leaderIndex - 1]!,
    followers: members.filter((_, i) => i !== leaderIndex - 1),
    pause() {
      paused = true;
      signal("SIGSTOP");
    },
    async resume() {
      if (!paused) return;
      paused = false;
      signal("SIGCONT");
      const i = await waitFor(
        `the ${kind} cluster to agree on a leader again`,
        30_000,
        members,
        probe,
      );
      c.leader = members[i - 1]!;
      c.followers = members.filter((_, k) => k !== i - 1);
    },
    async stop() {
      // Probe channels first: a grpc-js client that receives the GOAWAY of a
      // server shutting down can abort Deno 2.9.6 (an nghttp2 assertion).
      closeProbeClients(members.map((m) => m.client));
      if (paused) signal("SIGCONT");
      paused = false;
      await stopAll(members.map((m) => m.proc));
    },
  };
  return c;
}

/** Options of {@linkcode startCassem}. */
export interface CassemOptions {
  /** Extra db/main.ts flags for every node. */
  extra?: string[];
  /** Write a V8 CPU profile of every node into `<dir>/node-<i>/` (on a clean exit). */
  cpuProfDir?: string;
  /** Reuse these ports and dirs (a restart); default fresh ones under `root`. */
  layout?: { client: number; peer: number; dir: string }[];
}

/** Ports and data dirs for an `n`-node cassemdb cluster under `root`. */
export function cassemLayout(
  n: number,
  root: string,
): { client: number; peer: number; dir: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    client: freePort(),
    peer: freePort(),
    dir: `${root}/node-${i + 1}`,
  }));
}

/** The deno process of one cassemdb node. */
export function spawnCassemNode(
  i: number,
  layout: { client: number; peer: number; dir: string }[],
  opts: CassemOptions = {},
): Proc {
  const l = layout[i - 1]!;
  const peers = layout.map((x, k) => `${k + 1}=127.0.0.1:${x.peer}`).join(",");
  const prof = opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}/node-${i}`] : [];
  const main = fileURLToPath(new URL("../db/main.ts", import.meta.url));
  return spawnProc(`cassemdb node ${i}`, Deno.execPath(), [
    "run",
    "-A",
    ...prof,
    main,
    "--id",
    String(i),
    "--listen",
    `127.0.0.1:${l.client}`,
    "--peer-listen",
    `127.0.0.1:${l.peer}`,
    "--peers",
    peers,
    "--dir",
    l.dir,
    "--log-level",
    "warn",
    ...(opts.extra ?? []),
  ]);
}

interface CassemStatus {
  id: number;
  leader: number;
  role: string;
  commit: number;
  applied: number;
  keys: number;
}

/** Status of the cassemdb node at `client`, or undefined when it does not answer. */
export async function cassemStatus(
  client: string,
  timeoutMs = 1_000,
): Promise<CassemStatus | undefined> {
  try {
    return (await callOnce(client, "cassem", "Cluster", "Status", {}, {
      timeoutMs,
    })) as CassemStatus;
  } catch {
    return undefined;
  }
}

/**
 * Starts an `n`-node cassemdb cluster (default tick) and waits until every
 * node follows one leader and the leader has answered a write. A start that
 * fails (a node exits: Deno's nghttp2 has been seen to abort on an assertion
 * while peers connect) is retried twice, on fresh directories unless a
 * layout was given.
 */
export async function startCassem(
  n: number,
  root: string,
  opts: CassemOptions = {},
): Promise<Cluster> {
  for (let attempt = 1;; attempt++) {
    const layout = opts.layout ?? cassemLayout(n, `${root}/try-${attempt}`);
    try {
      return await startCassemOnce(n, layout, opts);
    } catch (e) {
      if (attempt >= 3) throw e;
      console.error(`(cassemdb start failed, retrying: ${(e as Error).message.slice(0, 400)})`);
    }
  }
}

async function startCassemOnce(
  n: number,
  layout: { client: number; peer: number; dir: string }[],
  opts: CassemOptions,
): Promise<Cluster> {
  const members: Member[] = [];
  try {
    for (let i = 1; i <= n; i++) {
      members.push({
        index: i,
        client: `127.0.0.1:${layout[i - 1]!.client}`,
        proc: spawnCassemNode(i, layout, opts),
      });
    }
    const leaderId = await waitFor(
      `a cassemdb leader among ${n} node(s)`,
      30_000,
      members,
      () => cassemLeader(members.map((m) => m.client)),
    );
    const leader = members[leaderId - 1]!;
    const kv = new RawClient(leader.client, "cassem", "KV");
    try {
      await waitFor("the cassemdb leader to take a write", 15_000, members, async () => {
        try {
          await kv.method("SetKV")(
            { key: "bench-probe", val: new Uint8Array(1), overwrite: true },
            2_000,
          );
          return true;
        } catch {
          return undefined;
        }
      });
    } finally {
      kv.close();
    }
    return makeCluster(
      "cassem",
      members,
      leaderId,
      () => cassemLeader(members.map((m) => m.client)),
    );
  } catch (e) {
    await stopAll(members.map((m) => m.proc));
    throw e;
  }
}

const statusClients = new Map<string, RawClient>();

/** The 1-based index of the node all of `clients` follow as leader (and that says it leads). */
async function cassemLeader(clients: string[]): Promise<number | undefined> {
  const st = await Promise.all(clients.map(async (addr) => {
    let c = statusClients.get(addr);
    if (!c) statusClients.set(addr, c = new RawClient(addr, "cassem", "Cluster"));
    try {
      return (await c.method("Status")({}, 1_000)) as CassemStatus;
    } catch {
      return undefined;
    }
  }));
  const lead = st[0]?.leader ?? 0;
  if (!lead || st.some((s) => !s || s.leader !== lead)) return undefined;
  return st.find((s) => s!.id === lead)?.role === "leader" ? lead : undefined;
}

/** Closes the clients the leader probes keep open (to `addrs`, default all). */
export function closeProbeClients(addrs?: string[]): void {
  for (const [addr, c] of statusClients) {
    if (addrs && !addrs.includes(addr)) continue;
    c.close();
    statusClients.delete(addr);
  }
}

/** Path of the etcd binary, or undefined when it is not installed. */
export async function findEtcd(): Promise<{ path: string; version: string } | undefined> {
  for (const path of [Deno.env.get("ETCD_BIN"), "/usr/bin/etcd", "/usr/local/bin/etcd"]) {
    if (!path) continue;
    try {
      const out = await new Deno.Command(path, {
        args: ["--version"],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (!out.success) continue;
      const version = /etcd Version:\s*(\S+)/.exec(new TextDecoder().decode(out.stdout))?.[1] ??
        "?";
      return { path, version };
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * Starts an `n`-member etcd cluster on loopback (temp data dirs under
 * `root`, default heartbeat and election settings) and waits for a leader
 * that has answered a Put.
 */
export async function startEtcd(etcdPath: string, n: number, root: string): Promise<Cluster> {
  const ports = Array.from({ length: n }, () => ({ client: freePort(), peer: freePort() }));
  const initial = ports.map((p, i) => `e${i + 1}=http://127.0.0.1:${p.peer}`).join(",");
  const token = `bench-${crypto.randomUUID().slice(0, 8)}`;
  const members: Member[] = [];
  try {
    for (let i = 1; i <= n; i++) {
      const p = ports[i - 1]!;
      const proc = spawnProc(`etcd e${i}`, etcdPath, [
        "--name",
        `e${i}`,
        "--data-dir",
        `${root}/etcd-${n}-${i}`,
        "--listen-client-urls",
        `http://127.0.0.1:${p.client}`,
        "--advertise-client-urls",
        `http://127.0.0.1:${p.client}`,
        "--listen-peer-urls",
        `http://127.0.0.1:${p.peer}`,
        "--initial-advertise-peer-urls",
        `http://127.0.0.1:${p.peer}`,
        "--initial-cluster",
        initial,
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        token,
        "--logger",
        "zap",
        "--log-level",
        "error",
      ], { cwd: root });
      members.push({ index: i, client: `127.0.0.1:${p.client}`, proc });
    }
    const probe = () => etcdLeader(members.map((m) => m.client));
    const leaderIndex = await waitFor(
      `an etcd leader among ${n} member(s)`,
      30_000,
      members,
      probe,
    );
    const leader = members[leaderIndex - 1]!;
    await waitFor("the etcd leader to take a write", 15_000, members, async () => {
      try {
        await callOnce(leader.client, "etcd", "KV", "Put", {
          key: new TextEncoder().encode("bench-probe"),
          value: new Uint8Array(1),
        });
        return true;
      } catch {
        return undefined;
      }
    });
    return makeCluster("etcd", members, leaderIndex, probe);
  } catch (e) {
    await stopAll(members.map((m) => m.proc));
    throw e;
  }
}

/** The 1-based index of the member all of `clients` follow as leader. */
async function etcdLeader(clients: string[]): Promise<number | undefined> {
  const st = await Promise.all(clients.map(async (addr) => {
    let c = statusClients.get(addr);
    if (!c) {
      statusClients.set(addr, c = new RawClient(addr, "etcd", "Maintenance", { longs: "string" }));
    }
    try {
      return (await c.method("Status")({}, 1_000)) as {
        header: { memberId: string };
        leader: string;
      };
    } catch {
      return undefined;
    }
  }));
  const lead = st[0]?.leader;
  if (!lead || lead === "0" || st.some((s) => !s || s.leader !== lead)) return undefined;
  const i = st.findIndex((s) => s!.header.memberId === lead);
  return i >= 0 ? i + 1 : undefined;
}

/** Polls `probe` every 50 ms until it returns a value; fails early when a member exits. */
function waitFor<T>(
  what: string,
  timeoutMs: number,
  members: Member[],
  probe: () => Promise<T | undefined>,
): Promise<T> {
  return waitUntil(what, probe, {
    timeoutMs,
    failIf: () => {
      const dead = members.find((m) => m.proc.hasExited);
      return dead && `${dead.proc.name} exited: ${dead.proc.tail(800)}`;
    },
  });
}
