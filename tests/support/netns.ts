/**
 * A private network for tests that cut a process off by the network (not by
 * pausing it): Linux network namespaces joined by a bridge, every address in
 * 127.0.0.0/8, nothing of the machine's own network touched.
 *
 * ```
 *   netns <lab>-c   (the test)  eth0 127.0.0.9 ─┐
 *   netns <lab>-1   (node 1)    eth0 127.0.0.2 ─┤   netns <lab>-hub: bridge br0,
 *   netns <lab>-2   (node 2)    eth0 127.0.0.3 ─┼── one veth port h<k> per host,
 *   netns <lab>-3   (node 3)    eth0 127.0.0.4 ─┘   and the drop device drop0
 * ```
 *
 * Why a namespace per host, not one namespace with 127.0.0.2..4 on `lo`: the
 * kernel picks 127.0.0.1 as the source of every connection between addresses
 * of one `lo`, so a filter on the cut node's address would miss the
 * connections it opens itself (its raft streams to the followers). With one
 * namespace per host each connection leaves from its host's own address.
 *
 * {@linkcode cutHost} drops every IP packet from and to one host in the hub
 * (tc u32 filters on its bridge port, matching the source on ingress and the
 * destination on egress) and {@linkcode healHost} removes them: the process
 * keeps running and its connections stay open, its packets just vanish.
 * The filters' action redirects to `drop0`, an ifb device whose qdisc is a
 * pfifo of length 0, because this machine's kernel has act_mirred but not
 * act_gact (the usual `action drop`); {@linkcode droppedPackets} counts what
 * it dropped.
 *
 * Namespaces are named `cassem-<pid>-<n>-…` after the process that made
 * them: {@linkcode destroyNetLab} deletes a lab's, and {@linkcode createNetLab}
 * first deletes those of processes that are gone (a runner killed mid-test).
 * Needs root, iproute2 (`ip`, `tc`) and a kernel with network namespaces,
 * veth, bridge, ifb, cls_u32 and act_mirred.
 *
 * @module
 */

import { isAlive, runToEnd } from "./procs.ts";

/** One host of a lab: the namespace it runs in and its address there. */
export interface NetHost {
  /** The network namespace's name (`ip netns exec <ns> …`). */
  readonly ns: string;
  /** Its one address, in 127.0.0.0/8. */
  readonly addr: string;
  /** Its port on the hub's bridge. */
  readonly port: string;
}

/** A private network: a hub namespace with a bridge, the test's host and node hosts. */
export interface NetLab {
  /** The prefix of every namespace name of the lab. */
  readonly name: string;
  /** The hub's namespace: the bridge, the filters, the drop device. */
  readonly hub: string;
  /** Where the test itself runs. */
  readonly client: NetHost;
  /** Where the nodes run, in order. */
  readonly nodes: readonly NetHost[];
}

/** Environment variable that carries a lab (JSON) into the process that runs inside it. */
export const NETLAB_ENV = "CASSEM_TEST_NETLAB";
/** Set to 1 to skip, knowingly, the tests that need a lab (they are then reported ignored). */
export const NO_NETNS_ENV = "CASSEM_TEST_NO_NETNS";

const PREFIX = "cassem-";
const CLIENT_ADDR = "127.0.0.9";
let labs = 0;

/**
 * Runs `ip` (or `tc`) with `args`, bounded in time.
 * @throws {Error} naming the command and its stderr when it fails.
 */
async function run(cmd: "ip" | "tc", args: string[]): Promise<string> {
  const r = await runToEnd(cmd, args, { timeoutMs: 15_000 });
  if (r.code !== 0) {
    throw new Error(
      `Cannot run "${cmd} ${args.join(" ")}" as it exited with code ${r.code}: ${r.stderr.trim()}`,
    );
  }
  return r.stdout;
}

/** `args` run inside namespace `ns`. */
function inNs(ns: string, cmd: "ip" | "tc" | "sysctl", args: string[]): string[] {
  return ["netns", "exec", ns, cmd, ...args];
}

/**
 * The command line that runs `cmd args` inside host `h`'s namespace (the
 * process keeps its PID: `ip netns exec` execs it).
 */
export function commandIn(h: NetHost, cmd: string, args: string[]): [string, string[]] {
  return ["ip", ["netns", "exec", h.ns, cmd, ...args]];
}

/** The names of the existing namespaces. */
async function namespaces(): Promise<string[]> {
  const out = await run("ip", ["netns", "list"]);
  return out.split("\n").map((l) => l.trim().split(/\s+/)[0] ?? "").filter(Boolean);
}

/** Deletes the namespaces left by labs whose process is gone. */
async function sweepStale(): Promise<void> {
  for (const ns of await namespaces()) {
    const m = /^cassem-(\d+)-\d+-/.exec(ns);
    if (!m || isAlive(Number(m[1]))) continue;
    await run("ip", ["netns", "del", ns]).catch(() => {});
  }
}

/**
 * Builds a lab of `nodes` node hosts (127.0.0.2, .3, …) and the test's host
 * (127.0.0.9), every host able to reach every other. Deletes whatever it
 * built when a step fails.
 * @throws {Error} naming the step that failed (no root, a missing tool or kernel feature).
 */
export async function createNetLab(opts: { nodes: number }): Promise<NetLab> {
  if (!(opts.nodes >= 1 && opts.nodes <= 6)) {
    throw new RangeError(
      `Cannot create a network lab as nodes must be 1 to 6: current value is ${opts.nodes}`,
    );
  }
  const name = `${PREFIX}${Deno.pid}-${++labs}`;
  const host = (suffix: string, addr: string, port: string): NetHost => ({
    ns: `${name}-${suffix}`,
    addr,
    port,
  });
  const lab: NetLab = {
    name,
    hub: `${name}-hub`,
    client: host("c", CLIENT_ADDR, "h0"),
    nodes: Array.from(
      { length: opts.nodes },
      (_, i) => host(`${i + 1}`, `127.0.0.${i + 2}`, `h${i + 1}`),
    ),
  };
  try {
    await sweepStale();
    await run("ip", ["netns", "add", lab.hub]);
    await run("ip", ["-n", lab.hub, "link", "set", "lo", "up"]);
    await run("ip", ["-n", lab.hub, "link", "add", "br0", "type", "bridge"]);
    await run("ip", ["-n", lab.hub, "link", "set", "br0", "up"]);
    // The drop device: up, with a queue that holds nothing, so all it is given is dropped.
    await run("ip", ["-n", lab.hub, "link", "add", "drop0", "type", "ifb"]);
    await run("ip", ["-n", lab.hub, "link", "set", "drop0", "up"]);
    await run(
      "ip",
      inNs(lab.hub, "tc", ["qdisc", "add", "dev", "drop0", "root", "pfifo", "limit", "0"]),
    );
    for (const h of [lab.client, ...lab.nodes]) await addHost(lab, h);
    return lab;
  } catch (e) {
    await destroyNetLab(lab);
    throw new Error(
      `Cannot create a network lab as a step failed (it needs root on Linux, iproute2's ip and ` +
        `tc, and a kernel with network namespaces, veth, bridge, ifb, cls_u32 and act_mirred; ` +
        `${NO_NETNS_ENV}=1 skips the tests that need one, knowingly): ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** One host: its namespace, a veth pair into the hub's bridge, its address on it. */
async function addHost(lab: NetLab, h: NetHost): Promise<void> {
  await run("ip", ["netns", "add", h.ns]);
  await run("ip", [
    "-n",
    lab.hub,
    "link",
    "add",
    h.port,
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    "netns",
    h.ns,
  ]);
  await run("ip", ["-n", lab.hub, "link", "set", h.port, "master", "br0", "up"]);
  // Loopback addresses on a real interface: allowed only with route_localnet.
  for (const dev of ["all", "default", "eth0"]) {
    await run("ip", inNs(h.ns, "sysctl", ["-qw", `net.ipv4.conf.${dev}.route_localnet=1`]));
  }
  // `lo` keeps 127.0.0.1 alone: with 127.0.0.0/8 it would claim every lab address as local.
  await run("ip", ["-n", h.ns, "link", "set", "lo", "up"]);
  await run("ip", ["-n", h.ns, "addr", "del", "127.0.0.1/8", "dev", "lo"]);
  await run("ip", ["-n", h.ns, "addr", "add", "127.0.0.1/32", "dev", "lo"]);
  await run("ip", ["-n", h.ns, "addr", "add", `${h.addr}/8`, "dev", "eth0"]);
  await run("ip", ["-n", h.ns, "link", "set", "eth0", "up"]);
}

/** Deletes every namespace of `lab` (its veth pairs go with them). Never throws. */
export async function destroyNetLab(lab: NetLab): Promise<void> {
  let existing: string[] = [];
  try {
    existing = await namespaces();
  } catch { /* no ip: nothing was made */ }
  for (const ns of existing) {
    if (ns.startsWith(`${lab.name}-`)) await run("ip", ["netns", "del", ns]).catch(() => {});
  }
}

/** The host of `lab` at `addr`. */
function hostAt(lab: NetLab, addr: string): NetHost {
  const h = [lab.client, ...lab.nodes].find((x) => x.addr === addr);
  if (!h) {
    throw new RangeError(
      `Cannot find a host of lab ${lab.name} as addr must be one of its addresses: current value is ${addr}`,
    );
  }
  return h;
}

/**
 * Cuts the host at `addr` off: every IP packet it sends, and every one sent
 * to it, is dropped at its bridge port. Its process and sockets stay as they
 * are. Idempotent.
 */
export async function cutHost(lab: NetLab, addr: string): Promise<void> {
  const h = hostAt(lab, addr);
  await healHost(lab, addr);
  await run("ip", inNs(lab.hub, "tc", ["qdisc", "add", "dev", h.port, "clsact"]));
  const drop = ["action", "mirred", "egress", "redirect", "dev", "drop0"];
  const filter = (dir: string, field: string) =>
    inNs(lab.hub, "tc", [
      "filter",
      "add",
      "dev",
      h.port,
      dir,
      "protocol",
      "ip",
      "prio",
      "1",
      "u32",
      "match",
      "ip",
      field,
      `${h.addr}/32`,
      ...drop,
    ]);
  await run("ip", filter("ingress", "src")); // what it sends
  await run("ip", filter("egress", "dst")); // what is sent to it
}

/** Removes the cut of the host at `addr` (its filters); a host not cut is left as it is. */
export async function healHost(lab: NetLab, addr: string): Promise<void> {
  const h = hostAt(lab, addr);
  const qdiscs = await run("ip", inNs(lab.hub, "tc", ["qdisc", "show", "dev", h.port]));
  if (qdiscs.includes("clsact")) {
    await run("ip", inNs(lab.hub, "tc", ["qdisc", "del", "dev", h.port, "clsact"]));
  }
}

/** Packets dropped so far by the cuts of `lab` (all hosts together). */
export async function droppedPackets(lab: NetLab): Promise<number> {
  const out = await run("ip", inNs(lab.hub, "tc", ["-s", "qdisc", "show", "dev", "drop0"]));
  const m = /dropped (\d+)/.exec(out);
  return m ? Number(m[1]) : 0;
}

/** The lab this process runs in (set by the test runner in {@linkcode NETLAB_ENV}), if any. */
export function currentNetLab(): NetLab | undefined {
  const raw = Deno.env.get(NETLAB_ENV);
  return raw ? JSON.parse(raw) as NetLab : undefined;
}
