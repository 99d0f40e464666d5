/**
 * The dashboard's client script, built at runtime: `deno bundle` (the Deno
 * running adm, so no other tool) turns `client/main.ts` and what it
 * imports from `shared/config` (the content parsers and their npm
 * packages: yaml, smol-toml, ini) into one minified browser ES module.
 * The packages come from Deno's cache, pinned by the project's `deno.json`
 * and `deno.lock` (`--frozen-lockfile`: never changes the lock). It needs
 * the project's source files on disk, as `deno run` has them.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("./client/main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** Why the client script could not be built. */
export class BundleError extends Error {
  override readonly name = "BundleError";
}

/**
 * Bundles the client script and answers its JavaScript text.
 * @throws {BundleError} when `deno bundle` fails or takes longer than
 * `timeoutMs` (default 120 s), with the first lines of its output.
 */
export async function bundleClientScript(timeoutMs = 120_000): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--format",
        "esm",
        "--minify",
        "--frozen-lockfile",
        "--config",
        CONFIG,
        ENTRY,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
  } catch (e) {
    throw new BundleError(
      `Cannot bundle the dashboard's client script as ${Deno.execPath()} bundle did not run: ${
        e instanceof Error ? e.message : String(e)
      }`,
      { cause: e },
    );
  }
  const stderr = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) {
    throw new BundleError(
      `Cannot bundle the dashboard's client script as deno bundle exited with ${out.code}: ${
        stderr.split("\n").slice(0, 5).join(" | ") || "no output"
      }`,
    );
  }
  const js = new TextDecoder().decode(out.stdout);
  if (js.trim() === "") {
    throw new BundleError(
      "Cannot bundle the dashboard's client script as deno bundle printed nothing",
    );
  }
  return js;
}
