/**
 * cassemdb entrypoint. Until the KV service lands (see the cassemdb issue),
 * this runs one durable raft node on embedded defaults and logs its state:
 * it elects itself, commits a heartbeat entry every few seconds, and survives
 * restarts from its data directory.
 *
 *   deno task start [--id 1] [--dir ./data] [--interval-ms 5000] [--max-ticks N]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createLogger } from "../shared/log.ts";
import { KvStorage } from "../shared/raft/kv_storage.ts";
import { RaftNode, type StateMachine } from "../shared/raft/node.ts";
import { LocalNetwork } from "../shared/raft/transport.ts";
import { type Entry, type Snapshot, StateType } from "../shared/raft/types.ts";

const { values } = parseArgs({
  options: {
    id: { type: "string", default: "1" },
    dir: { type: "string", default: "./data" },
    "interval-ms": { type: "string", default: "5000" },
    "max-ticks": { type: "string" },
  },
});

const id = Number(values.id);
const intervalMs = Number(values["interval-ms"]);
if (!Number.isInteger(id) || id < 1) {
  fail(`--id must be a positive integer: current value is ${values.id}`);
}
if (!(intervalMs >= 10)) {
  fail(`--interval-ms must be at least 10: current value is ${values["interval-ms"]}`);
}

function fail(msg: string): never {
  console.error(`Cannot start cassemdb as ${msg}`);
  Deno.exit(2);
}

const log = createLogger("cassemdb");
const dec = new TextDecoder();

/** Counts applied heartbeat entries; its snapshot is the count. */
class HeartbeatLog implements StateMachine {
  count = 0;
  last = "";
  apply(entries: Entry[]): void {
    for (const e of entries) {
      if (e.data.byteLength === 0) continue;
      this.count++;
      this.last = dec.decode(e.data);
    }
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ count: this.count, last: this.last }));
  }
  restore(s: Snapshot): void {
    const v = JSON.parse(dec.decode(s.data));
    this.count = v.count;
    this.last = v.last;
  }
  onLeaderChange(leader: number, term: number): void {
    log.info("leader changed", { leader, term });
  }
}

await Deno.mkdir(values.dir, { recursive: true });
const sm = new HeartbeatLog();
const node = await RaftNode.start({
  id,
  storage: await KvStorage.open(`${values.dir}/raft-${id}.db`),
  transport: new LocalNetwork().connect(id),
  stateMachine: sm,
  bootstrap: [id],
  snapshotEvery: 100,
  keepEntries: 10,
});
log.info("raft node started", { id, dir: values.dir, applied: node.applied, restored: sm.count });

let ticks = 0;
const maxTicks = values["max-ticks"] ? Number(values["max-ticks"]) : Infinity;
const timer = setInterval(async () => {
  ticks++;
  const s = node.status();
  if (s.raftState === StateType.Leader) {
    try {
      const index = await node.propose(
        new TextEncoder().encode(`heartbeat ${new Date().toISOString()}`),
      );
      log.info("committed", { index, heartbeats: sm.count, term: s.term });
    } catch (e) {
      log.warn("proposal failed", { error: (e as Error).message });
    }
  } else {
    log.info("status", { state: StateType[s.raftState], term: s.term, leader: s.lead });
  }
  if (ticks >= maxTicks) await shutdown("max ticks reached");
}, intervalMs);

async function shutdown(why: string): Promise<void> {
  clearInterval(timer);
  log.info("stopping", { reason: why });
  await node.stop();
  Deno.exit(0);
}

Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
