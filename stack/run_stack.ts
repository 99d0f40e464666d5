/**
 * `deno task start`: cassemdb (one node, or a local cluster), cassemadm and
 * cassemagent as supervised child processes on one machine.
 *
 * Before it starts anything it checks, and refuses in one line saying what
 * to do: another stack on the data dir; a cassemdb data dir of another
 * cluster, or one in use; every port in use (naming the service, the address
 * and `--port-base`); flags that contradict what the data dir was made with.
 *
 * Then it starts cassemdb and waits until every node knows a leader, starts
 * cassemadm and cassemagent, waits until they serve, and prints one line per
 * service with its addresses, and the admin credentials when cassemadm
 * creates the admin account (the first start on an empty cassemdb).
 *
 * Each service runs in a session of its own (Ctrl-C reaches only the
 * supervisor) and dies with the supervisor even when it is killed with
 * SIGKILL: cassemdb's nodes read a pipe from it (`--stop-with-stdin`),
 * cassemadm and cassemagent watch their parent (`stop_with_parent.ts`). A
 * service that dies is started again, at most 5 times a minute, and
 * reported. SIGINT or SIGTERM stops cassemadm and cassemagent first, then
 * cassemdb, and exits 0; a second signal kills what is left at once.
 *
 * @module
 */

import { resolve } from "node:path";
import {
  BindError,
  checkListenAddresses,
  checkLocalDataDirs,
  checkLocalPorts,
  LauncherError,
  localNodeArgs,
  selfCommand,
} from "../db/mod.ts";
import { AGENT_DENO_FLAGS } from "../shared/runtime_flags.ts";
import type { OutputStream } from "../shared/supervisor.ts";
import { ensureSecretKey, lockStack, settle, type StackRecord, writeRecord } from "./data_dir.ts";
import { StackError } from "./errors.ts";
import type { StackFlags } from "./flags.ts";
import { type StackLayout, stackLayout } from "./layout.ts";
import { StackService } from "./service.ts";
import { SUPERVISOR_PID_ENV } from "./supervisor_env.ts";

/** How long cassemdb may take to elect a leader, and each other service to serve, at start. */
const START_TIMEOUT_MS = 90_000;
/** Signals this close to the first one are that one again (see stopAll). */
const SAME_SIGNAL_MS = 1_000;
/** How long a service may take to stop on SIGTERM before it is killed. */
const STOP_GRACE_MS = 10_000;

const ADM_MAIN = new URL("../adm/main.ts", import.meta.url).pathname;
const AGENT_MAIN = new URL("../agent/main.ts", import.meta.url).pathname;
const PRELOAD = new URL("./stop_with_parent.ts", import.meta.url).pathname;

/** adm's line when it creates the admin account with a password of its own making. */
const GENERATED_PASSWORD = /created the admin account with the generated password (\S+)/;

/**
 * Runs the stack until a signal, or until every service stays down;
 * resolves with the exit code.
 * @throws {StackError} before starting anything, when the stack cannot start (the message says why).
 */
export async function runStack(flags: StackFlags): Promise<number> {
  const dataRoot = resolve(flags.data);
  try {
    await Deno.mkdir(dataRoot, { recursive: true });
  } catch (e) {
    throw new StackError(
      `Cannot use --data ${dataRoot} as ${(e as Error).message.replace(/\s*\n\s*/g, " ")}`,
    );
  }
  // Flags that contradict the dir are a mistake whether or not it runs: checked first.
  const files = stackLayout(dataRoot, 0, 1);
  const settings = await settle(files.recordFile, dataRoot, flags);
  const lock = await lockStack(files.lockFile, dataRoot);
  try {
    return await runLocked(flags, dataRoot, settings);
  } finally {
    lock.release();
  }
}

async function runLocked(
  flags: StackFlags,
  dataRoot: string,
  settings: StackRecord & { fresh: boolean },
): Promise<number> {
  const layout = stackLayout(dataRoot, settings.portBase, settings.cluster);
  const names = {
    dataRoot: "--data",
    ports: `--port-base ${layout.portBase}`,
    portsFlag: "--port-base",
  };
  let token: string;
  try {
    token = await checkLocalDataDirs(layout.db.length, dataRoot, layout.dbClientPort, names);
    checkLocalPorts(layout.db.length, layout.dbClientPort, names);
  } catch (e) {
    if (e instanceof LauncherError) {
      throw new StackError(
        e.message.replace("Cannot start a local cluster", "Cannot start the stack's cassemdb"),
      );
    }
    throw e;
  }
  checkServicePorts(layout);
  await Deno.mkdir(layout.logsDir, { recursive: true });
  const ownKey = (Deno.env.get("CASSEM_SECRET_KEY") ?? "").trim() === "";
  if (ownKey) await ensureSecretKey(layout.secretKeyFile);
  await writeRecord(layout.recordFile, settings);

  const out = (line: string) => console.log(line);
  let password: string | undefined;
  let summaryPrinted = false;
  const showPassword = () => {
    if (password === undefined || !summaryPrinted) return;
    out("");
    out("First start: cassemadm created the admin account. Its password is shown only now:");
    out(`  account   admin`);
    out(`  password  ${password}`);
    out(`Log in (deno task ctl login --server http://${layout.adm}) and change it.`);
    password = undefined;
  };

  const dbEndpoints = layout.db.map((n) => n.client).join(",");
  const level = flags.logLevel;
  const dbNodes = layout.db.map((node) =>
    new StackService({
      name: layout.db.length === 1 ? "cassemdb" : `cassemdb node ${node.id}`,
      logName: `cassemdb-${node.id}`,
      logsDir: layout.logsDir,
      verbose: flags.verbose,
      command: () =>
        selfCommand(
          localNodeArgs(
            node.id,
            layout.db.length,
            dataRoot,
            ["--log-level", level],
            layout.dbClientPort,
            token,
          ),
        ),
      probe: () => httpOk(`http://${node.http}/readyz`),
    })
  );
  const adm = new StackService({
    name: "cassemadm",
    logName: "cassemadm",
    logsDir: layout.logsDir,
    verbose: flags.verbose,
    command: () =>
      serviceCommand(ADM_MAIN, [], [
        "--listen",
        layout.adm,
        "--db",
        dbEndpoints,
        "--log-level",
        level,
        ...(ownKey ? ["--secret-key-file", layout.secretKeyFile] : []),
      ]),
    readyLine: (l) => l.includes("cassemadm listening on"),
    filter: (_stream: OutputStream, line: string) => {
      const m = GENERATED_PASSWORD.exec(line);
      if (!m) return line;
      // Shown once on the terminal, never written to the log file.
      password = m[1];
      showPassword();
      return line.replace(m[1]!, "[shown once on the terminal of deno task start]");
    },
  });
  const agent = new StackService({
    name: "cassemagent",
    logName: "cassemagent",
    logsDir: layout.logsDir,
    verbose: flags.verbose,
    command: () =>
      serviceCommand(AGENT_MAIN, AGENT_DENO_FLAGS, [
        "--listen",
        layout.agentHttp,
        "--grpc-listen",
        layout.agentGrpc,
        "--db",
        dbEndpoints,
        "--log-level",
        level,
        ...(ownKey ? ["--secret-key-file", layout.secretKeyFile] : []),
      ]),
    readyLine: (l) => l.startsWith("cassemagent ready"),
  });
  const services = [...dbNodes, adm, agent];

  let signals = 0;
  let firstSignalAt = 0;
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    // `deno task start` forwards the terminal's Ctrl-C to this process, which
    // gets it from the terminal too: a second signal this soon is the same one.
    if (signals > 0 && Date.now() - firstSignalAt < SAME_SIGNAL_MS) return;
    signals++;
    if (signals === 1) firstSignalAt = Date.now();
    if (signals > 1) {
      console.error("[cassem] stopping now (second signal)");
      for (const s of services) void s.kill();
      return;
    }
    console.error("[cassem] stopping cassemadm and cassemagent, then cassemdb");
    stopping = (async () => {
      await Promise.all([adm.stop(STOP_GRACE_MS), agent.stop(STOP_GRACE_MS)]);
      await Promise.all(dbNodes.map((n) => n.stop(STOP_GRACE_MS)));
    })();
  };
  Deno.addSignalListener("SIGINT", stopAll);
  Deno.addSignalListener("SIGTERM", stopAll);

  console.error(
    `[cassem] starting: data in ${dataRoot}, logs in ${layout.logsDir}${
      settings.fresh ? " (first start)" : ""
    }`,
  );
  const runs: Promise<boolean>[] = dbNodes.map((n) => n.run());
  try {
    await Promise.all(dbNodes.map((n) => n.waitReady(START_TIMEOUT_MS)));
    if (signals === 0) runs.push(adm.run(), agent.run());
    await Promise.all([adm, agent].map((s) => s.waitReady(START_TIMEOUT_MS)));
    await waitFor(
      `cassemadm's http://${layout.adm}/api/health`,
      () => httpOk(`http://${layout.adm}/api/health`),
      START_TIMEOUT_MS,
    );
  } catch (e) {
    if (signals > 0) {
      await stopping;
      await Promise.all(runs);
      return 0;
    }
    console.error(`[cassem] Cannot start the stack as ${(e as Error).message}; stopping`);
    stopAll();
    await stopping;
    await Promise.all(runs);
    return 1;
  }
  if (signals === 0) {
    for (const line of summary(layout)) out(line);
    summaryPrinted = true;
    showPassword();
  }
  const ok = await Promise.all(runs);
  await stopping;
  for (const s of services) s.close();
  if (signals > 0) {
    console.error("[cassem] stopped");
    return ok.every(Boolean) || signals > 1 ? 0 : 1;
  }
  console.error("[cassem] every service stays down; exiting");
  return 1;
}

/**
 * The lines that tell where each service listens: a heading, then one line
 * per service (per cassemdb node) with its name, its main address and what
 * else it serves.
 */
export function summary(layout: StackLayout): string[] {
  const rows: [string, string, string][] = [
    ["cassemadm", `http://${layout.adm}`, "dashboard and REST API (reference: /api/docs)"],
    ["cassemagent", `http://${layout.agentHttp}`, `HTTP reads and push; gRPC ${layout.agentGrpc}`],
    ...layout.db.map((node): [string, string, string] => [
      layout.db.length === 1 ? "cassemdb" : `cassemdb ${node.id}`,
      node.client,
      `gRPC clients; status http://${node.http}/status`,
    ]),
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length)) + 2;
  const w1 = Math.max(...rows.map((r) => r[1].length)) + 2;
  return [
    `cassem is running (data in ${layout.dataRoot}; Ctrl-C stops it):`,
    ...rows.map(([name, addr, what]) => `  ${name.padEnd(w0)}${addr.padEnd(w1)}${what}`),
  ];
}

/**
 * Checks cassemadm's and cassemagent's addresses.
 * @throws {StackError} naming the first one in use, its service and `--port-base`.
 */
function checkServicePorts(layout: StackLayout): void {
  const ports = [
    ["cassemadm's HTTP", layout.adm],
    ["cassemagent's HTTP", layout.agentHttp],
    ["cassemagent's gRPC", layout.agentGrpc],
  ] as const;
  for (const [what, address] of ports) {
    try {
      checkListenAddresses([{ flag: "--port-base", address }]);
    } catch (e) {
      if (!(e instanceof BindError)) throw e;
      throw new StackError(
        `Cannot start the stack as ${what} address ${address} (--port-base ${layout.portBase}) cannot be bound: ${e.reason}; stop what listens there, or pick another --port-base`,
      );
    }
  }
}

/**
 * `deno run` of `main` with `args` (and `denoFlags` before it), preloading the
 * guard that stops it with the supervisor.
 */
function serviceCommand(main: string, denoFlags: readonly string[], args: string[]) {
  return {
    cmd: Deno.execPath(),
    args: ["run", "-A", ...denoFlags, "--preload", PRELOAD, main, ...args],
    env: { [SUPERVISOR_PID_ENV]: String(Deno.pid) },
  };
}

async function httpOk(url: string): Promise<boolean> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 2_000);
  try {
    const r = await fetch(url, { signal: ctl.signal });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) {
      throw new Error(`${what} does not answer 200 within ${timeoutMs / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
