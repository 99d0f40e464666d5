/**
 * Why `deno task start` cannot start or run, as error classes, and the exit
 * code of each, in one place.
 *
 * @module
 */

/** Exit code of a clean stop. */
export const EXIT_OK = 0;
/** Exit code of a stack that cannot start or run (an address in use, a data dir in use, ...). */
export const EXIT_FAILURE = 1;
/** Exit code of bad flags, or flags that contradict the data dir. */
export const EXIT_USAGE = 2;

/** The stack cannot start or keep running; the message says why and what to do. */
export class StackError extends Error {
  /** `message`: one line, naming the flag, the address or the path. */
  constructor(message: string) {
    super(message);
    this.name = "StackError";
  }
}

/** The command line is wrong, or contradicts what the data dir holds. */
export class StackUsageError extends StackError {
  /** `message`: one line, naming the flag. */
  constructor(message: string) {
    super(message);
    this.name = "StackUsageError";
  }
}

/** The exit code for `e` (a {@linkcode StackError}), or undefined for any other error. */
export function exitCodeOf(e: unknown): number | undefined {
  if (e instanceof StackUsageError) return EXIT_USAGE;
  if (e instanceof StackError) return EXIT_FAILURE;
  return undefined;
}
