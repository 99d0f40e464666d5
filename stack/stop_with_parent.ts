/**
 * Preloaded (`deno run --preload`) into the cassemadm and cassemagent
 * processes that `deno task start` runs, so that they stop when it dies,
 * however it dies (kill -9 included), as cassemdb's nodes do with
 * `--stop-with-stdin`:
 *
 * every 500 ms it compares the process's parent with the PID in
 * `CASSEM_SUPERVISOR_PID`; once they differ (the supervisor died and the
 * process was handed to another parent), it sends itself SIGTERM, which the
 * service answers with its own clean shutdown, and exits after 10 s should
 * that hang. Without the variable it does nothing.
 *
 * Why not stdin, as cassemdb does: a read of stdin started before the main
 * module has loaded holds up its loading in Deno 2.9.6, and a preload cannot
 * tell when loading ends; and the services are not ours to add a flag to.
 *
 * @module
 */

import { SUPERVISOR_PID_ENV } from "./supervisor_env.ts";

const supervisor = Number(Deno.env.get(SUPERVISOR_PID_ENV));
if (Number.isInteger(supervisor) && supervisor > 0) {
  const timer = setInterval(() => {
    if (Deno.ppid === supervisor) return;
    clearInterval(timer);
    console.error(`the supervisor (pid ${supervisor}) is gone: stopping`);
    Deno.kill(Deno.pid, "SIGTERM");
    Deno.unrefTimer(setTimeout(() => Deno.exit(1), 10_000));
  }, 500);
  Deno.unrefTimer(timer);
}
