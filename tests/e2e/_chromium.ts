/**
 * Headless Chromium for the end-to-end tests: Debian's `chromium` package,
 * installed with apt-get when it is missing and we are root (as `.ci/run`
 * does before the suite), driven by npm:playwright-core, which runs under
 * Deno 2.9.6 as it is (it speaks the DevTools protocol over a pipe; no
 * browser download of its own).
 *
 * @module
 */

import { type Browser, chromium } from "playwright-core";
import { runToEnd } from "../support/procs.ts";

/** Where Debian's package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** The flags every launch gets: headless, no sandbox (root in a container), nothing phoning home. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  const out = await runToEnd(cmd, args, { env: { DEBIAN_FRONTEND: "noninteractive" }, timeoutMs });
  const text = out.stderr.trim().split("\n").slice(-5).join(" | ");
  if (out.code !== 0) {
    throw new Error(
      `Cannot install chromium as ${cmd} ${args.join(" ")} exited ${out.code}: ${text}`,
    );
  }
  return text;
}

/**
 * The path of Chromium, installing Debian's `chromium` package first when
 * it is missing (`apt-get install -y chromium`, after `apt-get update` if
 * the first try finds no package).
 * @throws {Error} when it is missing and cannot be installed (not root, no apt-get).
 */
export async function ensureChromium(): Promise<string> {
  if (exists(CHROMIUM)) return CHROMIUM;
  if (Deno.uid() !== 0 || !exists("/usr/bin/apt-get")) {
    throw new Error(
      `Cannot run the end-to-end tests as ${CHROMIUM} is missing and cannot be installed here: run apt-get install -y chromium as root`,
    );
  }
  console.error(`${CHROMIUM} is missing: installing Debian's chromium package`);
  try {
    await run("apt-get", ["install", "-y", "chromium"], 600_000);
  } catch {
    await run("apt-get", ["update"], 300_000);
    await run("apt-get", ["install", "-y", "chromium"], 600_000);
  }
  if (!exists(CHROMIUM)) {
    throw new Error(`Cannot find ${CHROMIUM} after installing Debian's chromium package`);
  }
  return CHROMIUM;
}

/**
 * Launches headless Chromium (installing it when missing). Playwright gives
 * each launch a fresh profile (user-data-dir) and removes it on close.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = await ensureChromium();
  return await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS], timeout: 60_000 });
}
