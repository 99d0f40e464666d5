/**
 * The variable through which `deno task start` tells the services it runs
 * its PID (read by `stop_with_parent.ts`, preloaded into them).
 *
 * @module
 */

/** Holds the supervisor's PID in the environment of the services it runs. */
export const SUPERVISOR_PID_ENV = "CASSEM_SUPERVISOR_PID";
