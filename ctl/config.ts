/**
 * cassemctl's config file: the token of each server it logged in to, and
 * the server used when none is named. It lives at `$CASSEM_CONFIG`, else
 * `$XDG_CONFIG_HOME/cassem/ctl.json`, else `~/.config/cassem/ctl.json`, and
 * is written with mode 0600 (its directory 0700): a token is as good as a
 * password until it expires.
 *
 * ```json
 * {
 *   "current": "http://127.0.0.1:7061",
 *   "servers": {
 *     "http://127.0.0.1:7061": { "account": "admin", "token": "…", "expiresAt": "…" }
 *   }
 * }
 * ```
 *
 * @module
 */

import { dirname, join } from "node:path";
import { CtlError } from "./errors.ts";

/** cassemadm's address when none is named anywhere. */
export const DEFAULT_SERVER = "http://127.0.0.1:7061";

/** A server's saved login. */
export interface SavedLogin {
  /** The account it logged in as. */
  account: string;
  /** The bearer token. */
  token: string;
  /** When the token expires (ISO 8601), as the server said. */
  expiresAt: string;
}

/** What the file holds. */
export interface CtlConfig {
  /** The server used when neither `--server` nor `CASSEM_SERVER` names one. */
  current?: string;
  /** Logins by server URL. */
  servers: Record<string, SavedLogin>;
}

/** Where the config file is, by the environment. */
export function configPath(env: (name: string) => string | undefined): string {
  const explicit = env("CASSEM_CONFIG");
  if (explicit) return explicit;
  const xdg = env("XDG_CONFIG_HOME");
  if (xdg) return join(xdg, "cassem", "ctl.json");
  const home = env("HOME") ?? env("USERPROFILE");
  if (!home) {
    throw new CtlError(
      "Cannot find the config file as neither CASSEM_CONFIG, XDG_CONFIG_HOME nor HOME is set: set CASSEM_CONFIG to a file path",
    );
  }
  return join(home, ".config", "cassem", "ctl.json");
}

/**
 * Reads the config at `path` (an empty config when there is no file), and
 * `warnings` for a file others may read.
 * @throws {CtlError} when the file cannot be read or is not a config.
 */
export async function loadConfig(
  path: string,
): Promise<{ config: CtlConfig; warnings: string[] }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { config: { servers: {} }, warnings: [] };
    throw new CtlError(`Cannot read the config file ${path} as ${(e as Error).message}`);
  }
  const warnings: string[] = [];
  const mode = (await Deno.stat(path)).mode;
  if (mode !== null && (mode & 0o077) !== 0) {
    warnings.push(
      `the config file ${path} may be read by others (mode ${
        (mode & 0o777).toString(8)
      }) and holds tokens: chmod 600 ${path}`,
    );
  }
  try {
    const raw = JSON.parse(text);
    const servers: Record<string, SavedLogin> = {};
    for (const [url, v] of Object.entries(raw?.servers ?? {})) {
      const s = v as Partial<SavedLogin>;
      if (typeof s?.token !== "string") continue;
      servers[url] = {
        account: String(s.account ?? ""),
        token: s.token,
        expiresAt: String(s.expiresAt ?? ""),
      };
    }
    return {
      config: { current: typeof raw?.current === "string" ? raw.current : undefined, servers },
      warnings,
    };
  } catch (e) {
    throw new CtlError(
      `Cannot read the config file ${path} as it is not JSON (${
        (e as Error).message.split("\n")[0]
      }): fix it or remove it`,
    );
  }
}

/**
 * Writes `config` to `path` with mode 0600 (replacing the file in one
 * rename), creating its directory with mode 0700.
 * @throws {CtlError} when it cannot be written.
 */
export async function saveConfig(path: string, config: CtlConfig): Promise<void> {
  try {
    await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${Deno.pid}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
    await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, path);
  } catch (e) {
    throw new CtlError(`Cannot write the config file ${path} as ${(e as Error).message}`);
  }
}

/** `text` as a server base URL: `http://` added when no scheme is given, no trailing slash. */
export function normalizeServer(text: string): string {
  const t = text.trim().replace(/\/+$/, "");
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `http://${t}`;
}
