/**
 * Where each part of a stack listens and keeps its files, derived from the
 * data dir, the port base and the number of cassemdb nodes. Pure: nothing
 * here touches the disk or the network.
 *
 * @module
 */

import { join } from "node:path";
import { basePort } from "../db/mod.ts";

/** One cassemdb node of the stack. */
export interface DbNodeLayout {
  /** Its raft id (1-based). */
  id: number;
  /** Its client gRPC address. */
  client: string;
  /** Its raft peer address. */
  peer: string;
  /** Its debug HTTP address (`/status`, `/healthz`, `/readyz`, `/metrics`). */
  http: string;
  /** Its data dir. */
  dir: string;
}

/** Everything a stack is made of. */
export interface StackLayout {
  /** The absolute data dir. */
  dataRoot: string;
  /** The port base it was derived from. */
  portBase: number;
  /** cassemdb's client port of node 1 (`portBase + 21`): the `--cluster-port` of `deno task db`. */
  dbClientPort: number;
  /** The cassemdb nodes, by id. */
  db: DbNodeLayout[];
  /** cassemadm's HTTP address. */
  adm: string;
  /** cassemagent's HTTP address. */
  agentHttp: string;
  /** cassemagent's gRPC address. */
  agentGrpc: string;
  /** The directory of the services' log files. */
  logsDir: string;
  /** The secret keyring the stack generates on its first start. */
  secretKeyFile: string;
  /** The stack's own record (`stack.json`: port base and node count). */
  recordFile: string;
  /** The file the running stack holds a lock on. */
  lockFile: string;
}

/**
 * The layout of a stack of `cluster` cassemdb nodes on `portBase`, with its
 * data in `dataRoot` (absolute). cassemdb node i uses the ports of
 * `deno task db --cluster` with `--cluster-port portBase + 21`, so the same
 * data dir runs under either.
 */
export function stackLayout(dataRoot: string, portBase: number, cluster: number): StackLayout {
  const dbClientPort = portBase + 21;
  const at = (port: number) => `127.0.0.1:${port}`;
  return {
    dataRoot,
    portBase,
    dbClientPort,
    db: Array.from({ length: cluster }, (_, k) => {
      const base = basePort(dbClientPort, k + 1);
      return {
        id: k + 1,
        client: at(base),
        peer: at(base + 1),
        http: at(base + 2),
        dir: join(dataRoot, `node-${k + 1}`),
      };
    }),
    adm: at(portBase + 61),
    agentHttp: at(portBase + 81),
    agentGrpc: at(portBase + 82),
    logsDir: join(dataRoot, "logs"),
    secretKeyFile: join(dataRoot, "secret.key"),
    recordFile: join(dataRoot, "stack.json"),
    lockFile: join(dataRoot, "stack.lock"),
  };
}
