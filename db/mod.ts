/**
 * cassemdb as a module, for the programs that run its nodes and check their
 * addresses and data dirs first (`deno task start`, `stack/`): the local
 * cluster's checks, layout and node command lines ({@linkcode checkLocalDataDirs},
 * {@linkcode checkLocalPorts}, {@linkcode localNodeArgs}, `launcher.ts`) and
 * a node's one-line bind errors ({@linkcode BindError},
 * {@linkcode checkListenAddresses}). `main.ts` is the program itself; the
 * client every service uses is `shared/db`.
 *
 * @module
 */

export {
  basePort,
  checkLocalDataDirs,
  checkLocalPorts,
  LauncherError,
  type LocalFlagNames,
  localNodeArgs,
  selfCommand,
} from "./launcher.ts";
export { BindError } from "./server/errors.ts";
export { checkListenAddresses, type ListenAddress } from "./server/listen_check.ts";
