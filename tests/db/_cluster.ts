/**
 * A harness for tests that run real cassemdb processes on loopback: each node
 * is a child `deno run -A db/main.ts ...` with its own ports and a data dir
 * under one temporary root.
 *
 * - {@linkcode TestCluster.startFounders} starts N founding nodes (`--peers`);
 *   {@linkcode TestCluster.join} adds one through `--join`.
 * - {@linkcode TestCluster.kill} (SIGKILL), {@linkcode TestCluster.terminate}
 *   (SIGTERM) and {@linkcode TestCluster.restart} (same flags, same dir) act
 *   on one process, by its PID.
 * - {@linkcode TestCluster.waitLeader} and {@linkcode TestCluster.waitConverged}
 *   poll `Cluster.Status` through {@linkcode DbClient.status}.
 * - Every child's stdout and stderr, and the test's own {@linkcode TestCluster.note}s,
 *   go to one in-memory timeline that {@linkcode withCluster} prints only when
 *   the test fails.
 *
 * - {@linkcode withCluster} gives a test body a cluster, and runs an attempt
 *   again when the Deno runtime crashed under it (tests/db/README.md); the
 *   body itself runs in a process of its own (`scenario()` of _scenario.ts).
 *
 * Ports: a random port below the kernel's ephemeral range (so no outgoing
 * connection can take it between the check and the child's bind), checked
 * free with `Deno.listen`; a founding start that loses a port race anyway is
 * retried with new ports. `destroy` SIGKILLs every process still running, by
 * PID, and removes the data root, whatever happened before.
 *
 * @module
 */

import { DbClient, type NodeStatus as StatusResp } from "../../shared/db/mod.ts";
import { type ChildProc, freePort, spawnChild, waitFor } from "../support/procs.ts";
import { commandIn, type NetHost, type NetLab } from "../support/netns.ts";
import { recordScenarioPid, SAFETY_MARK, scenarioRoot } from "./_scenario.ts";

/** Raft and store flags every node of a cluster gets. */
export interface NodeFlags {
  /** `--tick-ms` (default 20). */
  tickMs?: number;
  /** `--election-ticks` (default 10). */
  electionTicks?: number;
  /** `--snapshot-every` (default: the node's own default). */
  snapshotEvery?: number;
  /** `--log-level` (default info). */
  logLevel?: "debug" | "info" | "warn" | "error";
}

/** Options of {@linkcode TestCluster.create}. */
export interface ClusterOptions extends NodeFlags {
  /** Label used in the log timeline (default "cluster"). */
  name?: string;
  /**
   * Runs each node in a host of this private network (tests/support/netns.ts),
   * in order, on its address with fixed ports (client 7021, peer 7022, HTTP
   * 7023), instead of on 127.0.0.1 with free ports. The test must run inside
   * the lab too (`scenario(..., { netLab })`).
   */
  lab?: NetLab;
}

/** Where a node listens, and the lab host it runs in, if any. */
interface Placement {
  client: string;
  peer: string;
  http: string;
  host?: NetHost;
}

/**
 * When set, every timeline line is also appended to `<dir>/<cluster name>.log`
 * as it happens: the record survives even if the test process itself dies.
 */
const LOG_DIR = Deno.env.get("CASSEMDB_TEST_LOG_DIR");
/** Lines of output kept per cluster (older ones are dropped first). */
const MAX_LOG_LINES = 20_000;
/** How long a SIGTERMed process may take to exit before it is SIGKILLed. */
const TERM_GRACE_MS = 10_000;

const MAIN = new URL("../../db/main.ts", import.meta.url).pathname;

// ---- one process -------------------------------------------------------------------

/** An exit nobody asked for. */
export interface Crash {
  pid: number;
  /** "code C" or "code C signal S". */
  how: string;
  /** The signal that ended the process, if one did. */
  signal: string | null;
}

/** One cassemdb child process and the flags to (re)start it. */
export class DbProc {
  /** Label in the timeline: "n1", "n4", ... */
  readonly name: string;
  /** The raft id (0 until a joining node has reported it). */
  id: number;
  readonly clientAddr: string;
  readonly peerAddr: string;
  readonly httpAddr: string;
  readonly dir: string;
  readonly args: string[];
  /** The lab host it runs in (undefined: this process's own network). */
  readonly host: NetHost | undefined;
  /** Process ids, one per start. */
  readonly pids: number[] = [];
  #proc: ChildProc | undefined;
  #exited: Promise<Deno.CommandStatus> | undefined;
  #running = false;
  #signalled = false;
  /** Exits nobody asked for (crashes). */
  readonly crashes: Crash[] = [];
  /** Called on each exit nobody asked for. */
  onCrash: ((c: Crash) => void) | undefined;
  /** An exit of its own is expected (a node that must refuse to start): not a crash. */
  readonly mayExit: boolean;
  readonly #sink: (line: string) => void;

  constructor(
    init: {
      name: string;
      id: number;
      clientAddr: string;
      peerAddr: string;
      httpAddr: string;
      dir: string;
      args: string[];
      mayExit?: boolean;
      host?: NetHost;
    },
    sink: (line: string) => void,
  ) {
    this.name = init.name;
    this.mayExit = init.mayExit ?? false;
    this.id = init.id;
    this.clientAddr = init.clientAddr;
    this.peerAddr = init.peerAddr;
    this.httpAddr = init.httpAddr;
    this.dir = init.dir;
    this.args = init.args;
    this.host = init.host;
    this.#sink = sink;
  }

  /** The PID of the running process, if any. */
  get pid(): number | undefined {
    return this.#running ? this.#proc?.pid : undefined;
  }

  get running(): boolean {
    return this.#running;
  }

  /** The exit status of the last start, once it exited. */
  get exited(): Promise<Deno.CommandStatus> | undefined {
    return this.#exited;
  }

  /** Spawns the process (it must not be running). */
  start(): void {
    if (this.#running) throw new Error(`Cannot start ${this.name} as it is already running`);
    let tag = `[${this.name}]`;
    const run = ["run", "-A", MAIN, ...this.args];
    // `ip netns exec` execs deno: the PID is the node's.
    const [cmd, args] = this.host
      ? commandIn(this.host, Deno.execPath(), run)
      : [Deno.execPath(), run];
    const proc = spawnChild(this.name, cmd, args, {
      onLine: (_, l) => this.#sink(`${tag} ${l}`),
      keepLines: 0,
    });
    tag = `[${this.name} pid ${proc.pid}]`;
    this.#proc = proc;
    this.#running = true;
    this.#signalled = false;
    this.pids.push(proc.pid);
    recordScenarioPid(proc.pid);
    this.#sink(`${tag} started: ${this.args.join(" ")}`);
    this.#exited = proc.exited.then((s) => {
      this.#running = false;
      const how = `code ${s.code}${s.signal ? ` signal ${s.signal}` : ""}`;
      this.#sink(`${tag} exited: ${how}`);
      if (!this.#signalled && !(this.mayExit && !s.signal)) {
        const crash = { pid: proc.pid, how, signal: s.signal };
        this.crashes.push(crash);
        this.onCrash?.(crash);
      }
      return s;
    });
  }

  /**
   * Sends `sig` to the process by its PID and waits for it to exit; a
   * SIGTERM that is not obeyed within 10 s is followed by a SIGKILL.
   */
  async signal(sig: "SIGKILL" | "SIGTERM"): Promise<Deno.CommandStatus | undefined> {
    const proc = this.#proc;
    if (!proc || !this.#running) return await this.#exited;
    this.#signalled = true;
    this.#sink(`[${this.name} pid ${proc.pid}] sending ${sig}`);
    const late = setTimeout(() => {
      this.#sink(`[${this.name} pid ${proc.pid}] did not exit within ${TERM_GRACE_MS} ms: SIGKILL`);
    }, TERM_GRACE_MS);
    await proc.stop({ signal: sig, graceMs: TERM_GRACE_MS });
    clearTimeout(late);
    return await this.#exited;
  }
}

// ---- the cluster -------------------------------------------------------------------

/** A set of cassemdb processes under one temporary data root. */
export class TestCluster {
  readonly root: string;
  readonly flags: Required<Omit<NodeFlags, "snapshotEvery">> & { snapshotEvery?: number };
  readonly nodes: DbProc[] = [];
  readonly #name: string;
  readonly #lab: NetLab | undefined;
  /** Lab hosts handed out so far. */
  #hosts = 0;
  readonly #log: string[] = [];
  #dropped = 0;
  readonly #clients = new Set<DbClient>();
  readonly #probe: DbClient;
  #seq = 0;
  #destroyed = false;
  readonly #t0 = Date.now();
  readonly #crash = Promise.withResolvers<never>();

  private constructor(root: string, opts: ClusterOptions) {
    this.root = root;
    this.#name = opts.name ?? "cluster";
    this.#lab = opts.lab;
    this.flags = {
      tickMs: opts.tickMs ?? 20,
      electionTicks: opts.electionTicks ?? 10,
      logLevel: opts.logLevel ?? "info",
      snapshotEvery: opts.snapshotEvery,
    };
    // Status probes: short deadline so a dead node answers "no" quickly.
    this.#probe = new DbClient({ endpoints: ["127.0.0.1:1"], timeoutMs: 1_000 });
    this.#crash.promise.catch(() => {});
  }

  /** Rejects as soon as a node dies of a signal nobody sent: the runtime crashed. */
  get crashed(): Promise<never> {
    return this.#crash.promise;
  }

  #watch(p: DbProc): DbProc {
    p.onCrash = (x) => {
      if (!x.signal) return;
      this.#crash.reject(
        new Error(`Cannot go on as ${p.name} (pid ${x.pid}) died of ${x.signal}: a runtime crash`),
      );
    };
    return p;
  }

  /** A cluster with no process yet, and its temporary data root. */
  static async create(opts: ClusterOptions = {}): Promise<TestCluster> {
    const root = await Deno.makeTempDir({
      dir: scenarioRoot(),
      prefix: "cassemdb_test_",
    });
    return new TestCluster(root, opts);
  }

  /** The election timeout of one node, in ms (raft randomises it in [this, 2 × this)). */
  get electionTimeoutMs(): number {
    return this.flags.tickMs * this.flags.electionTicks;
  }

  /** Adds a line to the timeline (printed when the test fails). */
  note(msg: string): void {
    this.#sink(`[test] ${msg}`);
  }

  #sink = (line: string): void => {
    const ms = String(Date.now() - this.#t0).padStart(6);
    this.#log.push(`${ms} ${line}`);
    if (LOG_DIR) {
      Deno.writeTextFileSync(`${LOG_DIR}/${this.#name}.log`, `${ms} ${line}\n`, { append: true });
    }
    if (this.#log.length > MAX_LOG_LINES) {
      this.#log.shift();
      this.#dropped++;
    }
  };

  /** The timeline: every child's output and the test's notes, in arrival order. */
  logs(): string {
    const head = this.#dropped ? `(${this.#dropped} older lines dropped)\n` : "";
    return `---- ${this.#name}: data under ${this.root} ----\n${head}${this.#log.join("\n")}`;
  }

  /** The output lines of `p` (every start of it) still kept in the timeline. */
  linesOf(p: DbProc): string[] {
    const tag = `[${p.name} pid `;
    return this.#log.filter((l) => l.includes(tag));
  }

  /**
   * The output lines of `p` that match `re`, each with the time it arrived
   * (ms since the epoch, to the ms the timeline keeps), oldest first.
   */
  linesAt(p: DbProc, re: RegExp): { at: number; line: string }[] {
    return this.linesOf(p).filter((l) => re.test(l)).map((l) => ({
      at: this.#t0 + Number(l.slice(0, l.indexOf(" ", l.search(/\d/)))),
      line: l,
    }));
  }

  #nodeFlags(extra: NodeFlags = {}): string[] {
    const f = { ...this.flags, ...extra };
    const out = [
      "--tick-ms",
      String(f.tickMs),
      "--election-ticks",
      String(f.electionTicks),
      "--log-level",
      f.logLevel,
    ];
    if (f.snapshotEvery !== undefined) out.push("--snapshot-every", String(f.snapshotEvery));
    return out;
  }

  /**
   * Where the next node listens: the next lab host with fixed ports, or
   * 127.0.0.1 with free ports.
   * @throws {Error} when every host of the lab is taken.
   */
  #place(): Placement {
    const lab = this.#lab;
    if (!lab) {
      const at = (port: number) => `127.0.0.1:${port}`;
      return { client: at(freePort()), peer: at(freePort()), http: at(freePort()) };
    }
    const host = lab.nodes[this.#hosts++];
    if (!host) {
      throw new Error(
        `Cannot place another node as lab ${lab.name} has ${lab.nodes.length} node hosts, all taken`,
      );
    }
    const at = (port: number) => `${host.addr}:${port}`;
    return { client: at(7021), peer: at(7022), http: at(7023), host };
  }

  #newProc(
    id: number,
    build: (p: { client: string; peer: string; http: string; dir: string }) => string[],
    place: Placement = this.#place(),
    opts: { dir?: string; mayExit?: boolean } = {},
  ): DbProc {
    this.#checkNotDestroyed();
    const name = `n${++this.#seq}`;
    const { client, peer, http } = place;
    const dir = opts.dir ?? `${this.root}/${name}`;
    const args = [
      "--listen",
      client,
      "--peer-listen",
      peer,
      "--http",
      http,
      "--dir",
      dir,
      ...build({ client, peer, http, dir }),
    ];
    return this.#watch(
      new DbProc(
        {
          name,
          id,
          clientAddr: client,
          peerAddr: peer,
          httpAddr: http,
          dir,
          args,
          mayExit: opts.mayExit,
          host: place.host,
        },
        this.#sink,
      ),
    );
  }

  /**
   * Starts `n` founding nodes with ids 1..n and waits until each answers
   * Status and one leads. A start that lost a port race is retried with new
   * ports (three times at most).
   */
  async startFounders(n: number, extra: NodeFlags = {}): Promise<DbProc[]> {
    for (let attempt = 1;; attempt++) {
      const procs: DbProc[] = [];
      const places = Array.from({ length: n }, () => this.#place());
      const peers = places.map((p, i) => `${i + 1}=${p.peer}`).join(",");
      for (let i = 0; i < n; i++) {
        procs.push(this.#newProc(
          i + 1,
          () => ["--id", String(i + 1), "--peers", peers, ...this.#nodeFlags(extra)],
          places[i],
        ));
      }
      this.nodes.push(...procs);
      for (const p of procs) p.start();
      try {
        await Promise.all(procs.map((p) => this.#waitServing(p)));
        await this.waitLeader({ among: procs });
        return procs;
      } catch (e) {
        // A lab host's ports are its own: no race to lose there.
        const lost = attempt < 3 && !this.#lab &&
          this.#log.some((l) => /in use|EADDRINUSE/i.test(l));
        if (!lost) throw e;
        this.note(`port race lost (attempt ${attempt}): starting over with new ports`);
        for (const p of procs) await p.signal("SIGKILL");
        for (const p of procs) this.nodes.splice(this.nodes.indexOf(p), 1);
        for (const p of procs) await Deno.remove(p.dir, { recursive: true }).catch(() => {});
      }
    }
  }

  /**
   * Starts a node that joins through `via` (default: any running node) with
   * `--join`, waits until it serves Status and records its assigned id.
   */
  async join(opts: { via?: DbProc; flags?: NodeFlags } = {}): Promise<DbProc> {
    const via = opts.via ?? this.running()[0];
    if (!via) throw new Error("Cannot join as no node is running");
    const p = this.#newProc(0, () => ["--join", via.clientAddr, ...this.#nodeFlags(opts.flags)]);
    this.nodes.push(p);
    p.start();
    const st = await this.#waitServing(p, 30_000);
    p.id = st.id;
    this.note(`${p.name} joined as id ${p.id}`);
    return p;
  }

  /**
   * Starts one node with flags of the test's own and does not wait for it:
   * fresh client, peer and HTTP ports, its own data dir (or `dir`), then what
   * `args` returns and the cluster's raft flags. With `mayExit`, an exit of
   * its own (a node that must refuse to start) is not a failure.
   */
  spawn(opts: {
    args: (p: { client: string; peer: string; http: string; dir: string }) => string[];
    dir?: string;
    id?: number;
    mayExit?: boolean;
  }): DbProc {
    const p = this.#newProc(
      opts.id ?? 0,
      (x) => [...opts.args(x), ...this.#nodeFlags()],
      this.#place(),
      { dir: opts.dir, mayExit: opts.mayExit },
    );
    this.nodes.push(p);
    p.start();
    return p;
  }

  /** SIGKILLs `p` by its PID and waits for it to exit. */
  async kill(p: DbProc): Promise<void> {
    this.note(`kill -9 ${p.name} (id ${p.id})`);
    await p.signal("SIGKILL");
  }

  /** SIGTERMs `p` by its PID and waits for a clean exit; returns its exit status. */
  async terminate(p: DbProc): Promise<Deno.CommandStatus | undefined> {
    this.note(`SIGTERM ${p.name} (id ${p.id})`);
    return await p.signal("SIGTERM");
  }

  /** Starts `p` again with the same flags and data dir; waits until it serves Status. */
  async restart(p: DbProc): Promise<StatusResp> {
    this.#checkNotDestroyed();
    this.note(`restart ${p.name} (id ${p.id})`);
    p.start();
    return await this.#waitServing(p, 30_000);
  }

  /** The processes running now. */
  running(): DbProc[] {
    return this.nodes.filter((p) => p.running);
  }

  /** The process with raft id `id`. */
  byId(id: number): DbProc | undefined {
    return this.nodes.find((p) => p.id === id);
  }

  /** A DbClient over `endpoints` (default: every running node), closed by `destroy`. */
  client(
    opts: { endpoints?: string[]; timeoutMs?: number; attemptTimeoutMs?: number } = {},
  ): DbClient {
    const endpoints = opts.endpoints ?? this.running().map((p) => p.clientAddr);
    const c = new DbClient({
      endpoints,
      timeoutMs: opts.timeoutMs ?? 5_000,
      attemptTimeoutMs: opts.attemptTimeoutMs,
    });
    this.#clients.add(c);
    return c;
  }

  /** Status of `p`, or undefined when it does not answer within 1 s. */
  async status(p: DbProc): Promise<StatusResp | undefined> {
    if (!p.running) return undefined;
    try {
      return await this.#probe.status({ endpoint: p.clientAddr });
    } catch {
      return undefined;
    }
  }

  async #waitServing(p: DbProc, timeoutMs = 20_000): Promise<StatusResp> {
    return await waitFor(`${p.name} serving Status`, () => this.status(p), {
      timeoutMs,
      failIf: () => (p.running ? undefined : "the process exited (see its log)"),
    });
  }

  /**
   * Waits until one of `among` (default: every running node) leads and every
   * other one that answers follows it in the same term.
   */
  async waitLeader(
    opts: { among?: DbProc[]; timeoutMs?: number } = {},
  ): Promise<{ node: DbProc; status: StatusResp }> {
    let seen = "nothing yet";
    return await waitFor("a leader everyone agrees on", async () => {
      const among = (opts.among ?? this.running()).filter((p) => p.running);
      const all = await Promise.all(among.map((p) => this.status(p)));
      seen = among.map((p, i) => {
        const s = all[i];
        return s ? `${p.name}: ${s.role} term ${s.term} leader ${s.leader}` : `${p.name}: -`;
      }).join("; ");
      const sts = all.map((s, i) => ({ p: among[i]!, s }))
        .filter((x): x is { p: DbProc; s: StatusResp } => x.s !== undefined);
      const leaders = sts.filter((x) => x.s.role === "leader");
      if (leaders.length !== 1) return undefined;
      const l = leaders[0]!;
      // Members removed from the cluster may not know it: only count current ones.
      const memberIds = new Set(l.s.members.map((m) => m.id));
      const agree = sts.filter((x) => memberIds.has(x.s.id))
        .every((x) => x.s.leader === l.s.id && x.s.term === l.s.term);
      return agree ? { node: l.p, status: l.s } : undefined;
    }, { timeoutMs: opts.timeoutMs ?? 15_000 }).catch((e) => {
      throw new Error(`${(e as Error).message}; last seen: ${seen}`);
    });
  }

  /**
   * Waits until every one of `nodes` (default: every running node) answers
   * with the same applied index and revision, all applied up to the commit
   * index, twice in a row.
   */
  async waitConverged(nodes?: DbProc[], timeoutMs = 20_000): Promise<StatusResp[]> {
    let prev = "";
    return await waitFor("every node applied the same index and revision", async () => {
      const ps = nodes ?? this.running();
      const sts = await Promise.all(ps.map((p) => this.status(p)));
      if (sts.some((s) => !s)) return undefined;
      const all = sts as StatusResp[];
      const first = all[0]!;
      const same = all.every((s) =>
        s.applied === first.applied && s.revision === first.revision && s.commit === s.applied
      );
      const sig = `${first.applied}/${first.revision}`;
      if (!same) {
        prev = "";
        return undefined;
      }
      if (sig !== prev) {
        prev = sig;
        return undefined;
      }
      return all;
    }, { timeoutMs, everyMs: 100 });
  }

  /** Kills every process still running (SIGKILL, by PID), closes clients, removes the data root. */
  /**
   * A test body abandoned by {@linkcode withCluster} (its attempt was void)
   * may still be running: it must not start nodes beside the next attempt.
   */
  #checkNotDestroyed(): void {
    if (this.#destroyed) throw new Error("Cannot start a node as the cluster was destroyed");
  }

  async destroy(): Promise<void> {
    this.#destroyed = true;
    // Nodes first: a client that closes a connection sends GOAWAY, and the
    // runtime crash (README) is likelier on a graceful close than on a
    // connection that simply breaks.
    await Promise.all(this.nodes.map((p) => p.signal("SIGKILL")));
    for (const c of this.#clients) c.close();
    this.#clients.clear();
    this.#probe.close();
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}

/**
 * A broken guarantee (an acknowledged write lost, a watch event repeated, two
 * nodes that disagree): never excused by a crash of the runtime.
 */
export class SafetyViolation extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SafetyViolation";
  }
}

/**
 * A process that died of a signal nobody sent: the runtime itself crashed
 * (SIGABRT, SIGSEGV, ...), not cassemdb's code, which exits with a status.
 * Deno 2.9.6's node:http2 aborts in nghttp2 while tearing down HTTP/2
 * sessions (denoland/deno#36788); see tests/db/README.md.
 */
export interface RuntimeCrash {
  node: string;
  pid: number;
  signal: string;
  /** The last lines the process printed. */
  last: string[];
}

/** The runtime crashes among the unexpected exits of `c`'s processes. */
export function runtimeCrashes(c: TestCluster): RuntimeCrash[] {
  return c.nodes.flatMap((p) =>
    p.crashes.filter((x) => x.signal !== null).map((x) => ({
      node: p.name,
      pid: x.pid,
      signal: x.signal!,
      last: c.linesOf(p).filter((l) => l.includes(`pid ${x.pid}]`)).slice(-3),
    }))
  );
}

/**
 * Runs `fn` with a fresh cluster (no process started yet) and always
 * destroys it; prints the cluster's timeline only when `fn` fails.
 *
 * A node that exits without being asked fails the test. There is one
 * exception, while the runtime bug lasts: when an attempt fails (other than
 * with a {@linkcode SafetyViolation}) and a node died of a runtime crash,
 * the attempt is void and runs again, up to `attempts` times in all (default
 * 4), with a warning on stderr naming the crash. Such a crash ends an attempt
 * at once.
 */
export async function withCluster<T>(
  opts: ClusterOptions & { attempts?: number },
  fn: (c: TestCluster) => Promise<T>,
): Promise<T> {
  const attempts = opts.attempts ?? 4;
  for (let attempt = 1;; attempt++) {
    const name = attempt === 1 ? opts.name : `${opts.name ?? "cluster"} (attempt ${attempt})`;
    const c = await TestCluster.create({ ...opts, name });
    try {
      let result: { ok: true; value: T } | { ok: false; error: unknown };
      try {
        // A runtime crash in a node ends the attempt at once, not at a timeout.
        result = { ok: true, value: await Promise.race([fn(c), c.crashed]) };
      } catch (error) {
        result = { ok: false, error };
      }
      const crashes = runtimeCrashes(c);
      for (const x of crashes) {
        console.error(
          `WARNING: the Deno runtime crashed in ${x.node} (pid ${x.pid}, ${x.signal}) during ${
            name ?? "a cluster test"
          }: ${x.last.join(" | ")}`,
        );
      }
      const others = c.nodes.flatMap((p) =>
        p.crashes.filter((x) => x.signal === null).map((x) => `${p.name} pid ${x.pid}: ${x.how}`)
      );
      if (result.ok && others.length === 0) return result.value;
      if (!result.ok && result.error instanceof SafetyViolation) {
        // Printed before anything can crash: scenario() never reruns a run that shows it.
        console.error(`${SAFETY_MARK} ${result.error.message}`);
      }
      const retry = !result.ok && !(result.error instanceof SafetyViolation) &&
        crashes.length > 0 && attempt < attempts;
      if (retry) {
        console.error(
          `WARNING: attempt ${attempt} of ${
            name ?? "a cluster test"
          } is void (the runtime crashed: ${
            result.ok ? "" : String(result.error).split("\n")[0]
          }); running it again`,
        );
        continue;
      }
      console.error(c.logs());
      if (!result.ok) throw result.error;
      throw new Error(`Cannot pass as nodes exited without being asked: ${others.join(", ")}`);
    } finally {
      await c.destroy();
    }
  }
}
