/**
 * cassemctl: `deno task ctl --help`. A CLI over cassemadm's REST API, and
 * (`cassemctl db ...`) over cassemdb's gRPC API. Exit codes: `cli.ts`.
 *
 * @module
 */

import { runCtl } from "./cli.ts";
import { processIo } from "./io.ts";

// Exits rather than returning: open gRPC channels are left to the kernel
// to close (see Ctx.openedDb), and a finished command must not linger.
Deno.exit(await runCtl(Deno.args, processIo()));
