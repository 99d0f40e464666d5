/**
 * Command-line flags for every cassem entrypoint: `node:util` `parseArgs`
 * (JSR's std/cli is out of reach), with its errors turned into one line that
 * names the flag and points to `--help`, instead of a stack trace or the whole
 * usage text.
 *
 * ```ts ignore
 * const { values } = parseFlags("cassemdb", { args: Deno.args, strict: true, options });
 * ```
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** A flag that is unknown, lacks its value, or has a value that is wrong. */
export class FlagError extends Error {
  /** The flag as typed (`--foo`), or the stray argument. */
  readonly flag: string;
  /** Reads "Cannot accept `flag` as `reason`". */
  constructor(flag: string, reason: string) {
    super(`Cannot accept ${flag} as ${reason}`);
    this.name = "FlagError";
    this.flag = flag;
  }
}

/**
 * `parseArgs(config)`, except that a mistake on the command line throws a
 * {@linkcode FlagError} whose message names the flag and says to see
 * `--help` of `program`.
 * @throws {FlagError} for an unknown flag, a missing or unexpected value, or a positional argument.
 */
export function parseFlags<const T extends ParseArgsConfig>(
  program: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    throw toFlagError(program, e) ?? e;
  }
}

/** The {@linkcode FlagError} for an error `parseArgs` threw, or undefined for any other error. */
export function toFlagError(program: string, e: unknown): FlagError | undefined {
  const code = (e as { code?: unknown })?.code;
  const msg = e instanceof Error ? e.message : "";
  const quoted = /'([^' ]+)/.exec(msg)?.[1] ?? "?";
  const help = `see ${program} --help`;
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new FlagError(quoted, `it is not a flag of ${program}: ${help}`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return new FlagError(
        quoted,
        /argument missing/.test(msg) ? `it needs a value: ${help}` : `it takes no value: ${help}`,
      );
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new FlagError(quoted, `${program} takes no such argument: ${help}`);
  }
  return undefined;
}
