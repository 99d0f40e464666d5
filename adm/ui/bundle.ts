/**
 * The dashboard's client script, built at runtime: `deno bundle` (the Deno
 * running adm, so no other tool) turns `client/main.ts` and what it
 * imports from `shared/config` (the content parsers and their npm
 * packages: yaml, smol-toml, ini) into one minified browser ES module.
 * The packages come from Deno's cache, pinned by the project's `deno.json`
 * and `deno.lock` (`--frozen-lockfile`: never changes the lock). It needs
 * the project's source files on disk, as `deno run` has them.
 *
 * A compiled `cassemadm` has neither `deno` nor the sources: `deno task
 * compile` bundles the script first (`deno task bundle-ui`, which runs this
 * module: `deno run -A adm/ui/bundle.ts OUT`) into `client.bundle.js` beside
 * this file, includes it in the binary, and removes it again whether the
 * compile succeeded or not; when that file exists it is served as it is.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("./client/main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
/** The script bundled ahead of time by `deno task bundle-ui` (absent in a checkout). */
export const PREBUILT_CLIENT_SCRIPT = new URL("./client.bundle.js", import.meta.url);

/** Why the client script could not be built. */
export class BundleError extends Error {
  override readonly name = "BundleError";
}

/**
 * The client script's JavaScript text: the file at `prebuilt` when there is
 * one (a compiled binary), else bundled now.
 * @throws {BundleError} when `deno bundle` fails or takes longer than
 * `timeoutMs` (default 120 s), with the first lines of its output.
 */
export async function bundleClientScript(
  timeoutMs = 120_000,
  prebuilt: URL = PREBUILT_CLIENT_SCRIPT,
): Promise<string> {
  try {
    const js = await Deno.readTextFile(prebuilt);
    if (js.trim() !== "") return js;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new BundleError(
        `Cannot read the bundled client script ${fileURLToPath(prebuilt)}: ${
          e instanceof Error ? e.message : String(e)
        }`,
        { cause: e },
      );
    }
  }
  return await bundleFromSources(timeoutMs);
}

/** The client script bundled now from the sources (see the module doc). */
async function bundleFromSources(timeoutMs: number): Promise<string> {
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

// `deno run -A adm/ui/bundle.ts OUT`: bundles the script into OUT (`deno task bundle-ui`).
if (import.meta.main) {
  const out = Deno.args[0];
  if (out === undefined || Deno.args.length !== 1) {
    console.error("Cannot bundle the client script as it needs one argument, the output file");
    Deno.exit(2);
  }
  try {
    await Deno.writeTextFile(out, await bundleFromSources(120_000));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
