/**
 * cassemctl as a module: {@linkcode runCtl} runs a command line on a
 * {@linkcode CtlIo} (the process's, {@linkcode processIo}, or a test's),
 * {@linkcode COMMANDS} lists every command, and the error classes map
 * failures to exit codes (`errors.ts`).
 *
 * @module
 */

export { commandHelp, EXIT_CODES, findCommand, overview, runCtl } from "./cli.ts";
export { type Command, Ctx, type Flag, type Parsed } from "./command.ts";
export { COMMANDS } from "./commands/mod.ts";
export { type CtlIo, processIo } from "./io.ts";
export { AdmClient } from "./adm_client.ts";
export { configPath, type CtlConfig, DEFAULT_SERVER, loadConfig, saveConfig } from "./config.ts";
export * from "./errors.ts";
