/**
 * cassemdb: the raft-replicated configuration store.
 *
 *   deno task db                      one node on embedded defaults (data under ./data/)
 *   deno task db --cluster 3          a local 3-node cluster
 *   deno task db --help               every flag
 *
 * A mistake on the command line, or a reason the node cannot start, is one
 * line on stderr and an exit code (USAGE lists them).
 *
 * @module
 */

import { coalesceSocketWrites } from "../shared/coalesce_writes.ts";
import { FlagError } from "../shared/flags.ts";
import { grpc } from "../shared/grpc.ts";
import { createLogger, type Logger, resolveLogFormat } from "../shared/log.ts";
import { InvalidArgumentError } from "../shared/store/mod.ts";
import { type DbConfig, parseConfig, USAGE } from "./config.ts";
import { LauncherError, runLocalCluster } from "./launcher.ts";
import { DbNode } from "./server/db_node.ts";
import { IdentityConflictError } from "./server/errors.ts";
import { NODE_FILE } from "./server/identity.ts";

/** Exit code of a bad command line, or flags that contradict the data dir. */
const EXIT_USAGE = 2;
/** Exit code of a node or launcher that cannot start or run. */
const EXIT_FAILURE = 1;

let cfg: DbConfig | "help";
try {
  cfg = parseConfig(Deno.args);
} catch (e) {
  if (!(e instanceof FlagError || e instanceof InvalidArgumentError)) throw e;
  const help = e instanceof FlagError ? "" : ": see deno task db --help";
  console.error(`${e.message}${help}`);
  Deno.exit(EXIT_USAGE);
}
if (cfg === "help") {
  console.log(USAGE);
  Deno.exit(0);
}

if (cfg.cluster > 0) {
  // Every other flag (the per-node ones are refused by parseConfig) goes to each node.
  const launcherFlags = ["--cluster", "--cluster-port", "--data-root", "--log-format"];
  const extra = Deno.args.filter((a, i, all) =>
    !launcherFlags.some((f) => a === f || all[i - 1] === f || a.startsWith(`${f}=`))
  );
  // The nodes write to pipes: they log in the format the launcher's own stderr calls for.
  extra.push("--log-format", resolveLogFormat(cfg.logFormat));
  try {
    await runLocalCluster(cfg.cluster, extra, {
      clientPort: cfg.clusterPort,
      dataRoot: cfg.dataRoot,
    });
  } catch (e) {
    if (!(e instanceof LauncherError)) throw e;
    console.error(`[cluster] ${e.message}`);
    Deno.exit(EXIT_FAILURE);
  }
} else {
  await runNode(cfg);
}

async function runNode(cfg: DbConfig): Promise<void> {
  coalesceSocketWrites();
  const log = createLogger(
    `cassemdb[${labelId(cfg.dir, cfg.id, cfg.join !== "" && !cfg.idGiven)}]`,
    cfg.logLevel,
    { format: resolveLogFormat(cfg.logFormat) },
  );
  // grpc-js prints its own lines for failures we report ourselves, naming the
  // flag (a bind failure, a refused call): keep them for debugging only.
  grpc.setLogger({ error: (...args: unknown[]) => log.debug(`grpc-js: ${args.join(" ")}`) });
  let node: DbNode;
  try {
    node = await DbNode.start(cfg, log);
  } catch (e) {
    // One line, whatever the cause quotes.
    log.error((e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " "));
    Deno.exit(e instanceof IdentityConflictError ? EXIT_USAGE : EXIT_FAILURE);
  }
  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { why });
    await node.stop({ exiting: true });
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
  if (cfg.stopWithStdin) void stopWhenStdinCloses(log, () => shutdown("stdin closed"));
}

/**
 * Reads stdin to its end, then calls `stop`: the launcher holds the other end
 * of the pipe, and the kernel closes it when the launcher dies, however it
 * dies, so its nodes never outlive it.
 */
async function stopWhenStdinCloses(log: Logger, stop: () => Promise<void>): Promise<void> {
  try {
    for await (const _ of Deno.stdin.readable) { /* the launcher writes nothing */ }
  } catch (e) {
    log.warn("stdin failed; stopping as if it closed", { error: String(e) });
  }
  await stop();
}

/**
 * The id to label logs with: the one saved in the data dir (a node that
 * joined earlier), else "new" for a node about to join without --id (the
 * cluster assigns its id), else --id.
 */
function labelId(dir: string, id: number, joining: boolean): string {
  try {
    const saved = JSON.parse(Deno.readTextFileSync(`${dir}/${NODE_FILE}`)).id;
    if (Number.isInteger(saved)) return String(saved);
  } catch { /* no saved identity yet */ }
  return joining ? "new" : String(id);
}
