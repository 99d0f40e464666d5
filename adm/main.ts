/**
 * cassemadm entrypoint: not built yet. It comes after cassemdb (see the issues);
 * this file exists so that the `deno task adm` and `compile` tasks are wired.
 *
 * @module
 */

console.error("Cannot start cassemadm as it is not built yet: only cassemdb runs in this version");
Deno.exit(1);
