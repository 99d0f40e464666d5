/**
 * The targets commands name on the command line: `APP`, `APP/ENV` and
 * `APP/ENV/KEY` (no name holds a slash, so the path is unambiguous),
 * checked with the one name validator (`shared/config/names.ts`) before
 * anything is sent.
 *
 * @module
 */

import { type NameKind, nameProblem } from "../shared/config/mod.ts";
import { UsageError } from "./errors.ts";

/** An env: `APP/ENV`. */
export interface EnvTarget {
  /** The app id. */
  app: string;
  /** The env name. */
  env: string;
}

/** An element: `APP/ENV/KEY`. */
export interface ElementTarget extends EnvTarget {
  /** The element key. */
  key: string;
}

const KINDS: NameKind[] = ["app", "env", "element"];
const SHAPES = ["APP", "APP/ENV", "APP/ENV/KEY"];

function parts(text: string | undefined, n: 1 | 2 | 3, what: string): string[] {
  if (text === undefined || text === "") {
    throw new UsageError(`Cannot run ${what} as it needs ${SHAPES[n - 1]}: see --help`);
  }
  const p = text.split("/");
  if (p.length !== n) {
    throw new UsageError(
      `Cannot use ${JSON.stringify(text)} as ${SHAPES[n - 1]} as it has ${p.length} part${
        p.length === 1 ? "" : "s"
      }, not ${n}: current value is ${JSON.stringify(text)}`,
    );
  }
  p.forEach((name, i) => {
    const problem = nameProblem(KINDS[i]!, name);
    if (problem) throw new UsageError(`Cannot use ${SHAPES[n - 1]} as ${problem}`);
  });
  return p;
}

/**
 * `APP` checked.
 * @throws {UsageError} naming the argument when it is missing or not an app id.
 */
export function appTarget(text: string | undefined, what: string): string {
  return parts(text, 1, what)[0]!;
}

/**
 * `APP/ENV` checked.
 * @throws {UsageError} naming the argument when it is missing or malformed.
 */
export function envTarget(text: string | undefined, what: string): EnvTarget {
  const [app, env] = parts(text, 2, what);
  return { app: app!, env: env! };
}

/**
 * `APP/ENV/KEY` checked.
 * @throws {UsageError} naming the argument when it is missing or malformed.
 */
export function elementTarget(text: string | undefined, what: string): ElementTarget {
  const [app, env, key] = parts(text, 3, what);
  return { app: app!, env: env!, key: key! };
}
