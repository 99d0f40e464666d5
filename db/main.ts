/**
 * cassemdb: the raft-replicated configuration store.
 *
 *   deno task db                      one node on embedded defaults (data under ./data/)
 *   deno task db --cluster 3          a local 3-node cluster
 *   deno task db --help               every flag
 *
 * @module
 */

import { coalesceSocketWrites } from "../shared/coalesce_writes.ts";
import { createLogger } from "../shared/log.ts";
import { parseConfig, USAGE } from "./config.ts";
import { runLocalCluster } from "./launcher.ts";
import { DbNode } from "./server/db_node.ts";
import { InvalidArgumentError } from "../shared/store/mod.ts";

let cfg;
try {
  cfg = parseConfig(Deno.args);
} catch (e) {
  const msg = e instanceof InvalidArgumentError || e instanceof TypeError ? e.message : String(e);
  console.error(`Cannot start cassemdb: ${msg}\n\n${USAGE}`);
  Deno.exit(2);
}
if (cfg === "help") {
  console.log(USAGE);
  Deno.exit(0);
}

if (cfg.cluster > 0) {
  // Every other flag (the per-node ones are refused by parseConfig) goes to each node.
  const launcherFlags = ["--cluster", "--cluster-port"];
  const extra = Deno.args.filter((a, i, all) =>
    !launcherFlags.some((f) => a === f || all[i - 1] === f || a.startsWith(`${f}=`))
  );
  await runLocalCluster(cfg.cluster, extra, cfg.clusterPort);
} else {
  coalesceSocketWrites();
  const log = createLogger(
    `cassemdb[${labelId(cfg.dir, cfg.id, cfg.join !== "" && !cfg.idGiven)}]`,
    cfg.logLevel,
  );
  let node: DbNode;
  try {
    node = await DbNode.start(cfg, log);
  } catch (e) {
    log.error("cannot start", { error: e instanceof Error ? e.message : String(e) });
    Deno.exit(1);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    await node.stop({ exiting: true });
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
  Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
}

/**
 * The id to label logs with: the one saved in the data dir (a node that
 * joined earlier), else "new" for a node about to join without --id (the
 * cluster assigns its id), else --id.
 */
function labelId(dir: string, id: number, joining: boolean): string {
  try {
    const saved = JSON.parse(Deno.readTextFileSync(`${dir}/node.json`)).id;
    if (Number.isInteger(saved)) return String(saved);
  } catch { /* no saved identity yet */ }
  return joining ? "new" : String(id);
}
