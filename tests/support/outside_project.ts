/**
 * A Deno project outside this repository that imports it as the package
 * `@cassem/cassem` (a local link instead of the registry, so that the
 * package's own deno.json resolves its dependencies): what a user who
 * copies an example from the READMEs gets.
 *
 * @module
 */

import { type RunResult, runToEnd } from "./procs.ts";

/** The repository root: its deno.json names the package and its exports. */
const ROOT = new URL("../../", import.meta.url);

/** What one `deno` command in the project gave. */
export interface DenoRun extends RunResult {
  /** The command's arguments, after `deno`. */
  args: string[];
}

/**
 * Writes `files` (name → text) into a new temporary project, runs `deno`
 * with each of `commands` there in turn (stopping after the first that
 * fails; each bounded by 5 minutes), removes the project, and answers what each
 * run gave.
 */
export async function inOutsideProject(
  files: Record<string, string>,
  commands: string[][],
): Promise<DenoRun[]> {
  const dir = await Deno.makeTempDir({ prefix: "cassem_outside_" });
  try {
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({
        imports: { "@cassem/cassem": "jsr:@cassem/cassem@^0.1.0" },
        links: [ROOT.pathname],
      }),
    );
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const runs: DenoRun[] = [];
    for (const args of commands) {
      const r = await runToEnd(Deno.execPath(), args, {
        cwd: dir,
        env: { NO_COLOR: "1" },
        timeoutMs: 300_000,
      });
      runs.push({ args, ...r });
      if (r.code !== 0) break;
    }
    return runs;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
