/**
 * What every HTTP route of the agent shares: the Hono environment, request
 * parsing (app, env, keys, client identity) with errors that name the
 * parameter, and the one error handler that turns an
 * {@linkcode AgentError} into its status and JSON body.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import { checkName, InvalidNameError, MAX_KEYS, type NameKind } from "../shared/config/mod.ts";
import type { Logger } from "../shared/log.ts";
import { AgentError, asAgentError, BadRequestError, errorBody, httpStatusOf } from "./errors.ts";
import { type ClientIdentity, identityFrom } from "./identity.ts";

/** What `Deno.serve` hands the app besides the request (tests pass nothing). */
export interface AgentBindings {
  /** The peer address of the connection (`main.ts` finds it when first read). */
  readonly remoteAddr?: string;
}

/** The Hono environment of the agent's routes. */
export type AgentEnv = { Bindings: AgentBindings };
/** Longest request URL the agent reads, in characters. */
export const MAX_URL = 16 * 1024;
/** Largest JSON body the agent reads, in bytes. */
export const MAX_BODY = 256 * 1024;

/**
 * A name from the path or query.
 * @throws {BadRequestError} naming `field` when it is not a valid name of `kind`.
 */
export function nameParam(kind: NameKind, field: string, value: string | undefined): string {
  try {
    return checkName(kind, value, field);
  } catch (e) {
    if (e instanceof InvalidNameError) throw new BadRequestError(field, e.message);
    throw e;
  }
}

/**
 * The element keys of a `keys=a,b` query (repeats of the parameter are
 * joined; duplicates are dropped, order kept).
 * @throws {BadRequestError} for no keys, more than {@linkcode MAX_KEYS}, or an invalid key.
 */
export function keysParam(values: readonly string[] | undefined): string[] {
  const all = (values ?? []).flatMap((v) => v.split(",")).map((k) => k.trim()).filter((k) =>
    k !== ""
  );
  if (all.length === 0) {
    throw new BadRequestError(
      "keys",
      "Cannot read as keys must name at least one key: current value is empty",
    );
  }
  const keys = [...new Set(all)];
  if (keys.length > MAX_KEYS) {
    throw new BadRequestError(
      "keys",
      `Cannot read as keys must name at most ${MAX_KEYS} keys: current count is ${keys.length}`,
    );
  }
  return keys.map((k, i) => nameParam("element", `keys[${i}]`, k));
}

/** The client identity of a request (headers, and the connection's peer). */
export function clientOf(c: Context<AgentEnv>): ClientIdentity {
  return identityFrom((name) => c.req.header(name), c.env?.remoteAddr ?? "unknown");
}

/** The app and env of a `/v1/apps/:app/envs/:env/...` route. */
export function appEnvOf(c: Context<AgentEnv>): { app: string; env: string } {
  return {
    app: nameParam("app", "app", c.req.param("app")),
    env: nameParam("env", "env", c.req.param("env")),
  };
}

/** A JSON answer. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/**
 * The JSON body of a request, at most {@linkcode MAX_BODY} bytes.
 * @throws {BadRequestError} naming `body` when it is too large or not JSON.
 */
export async function jsonBody(c: Context<AgentEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.length > MAX_BODY) {
    throw new BadRequestError(
      "body",
      `Cannot read the request as its body must be at most ${MAX_BODY} bytes: current size is ${text.length}`,
    );
  }
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BadRequestError(
      "body",
      `Cannot read the request as its body must be JSON: ${(e as Error).message}`,
    );
  }
}

/** Installs the one error handler, the URL bound and the 404 of unknown routes on `app`. */
export function installErrors(app: Hono<AgentEnv>, log: Logger): void {
  app.use(async (c, next) => {
    if (c.req.url.length > MAX_URL) {
      throw new BadRequestError(
        "url",
        `Cannot read the request as its URL must be at most ${MAX_URL} characters: current length is ${c.req.url.length}`,
      );
    }
    await next();
  });
  app.onError((e, c) => {
    const err = asAgentError(e);
    if (!(e instanceof AgentError)) {
      log.error("request failed", { path: c.req.path, error: (e as Error).stack ?? String(e) });
    }
    return json(errorBody(err), httpStatusOf(err));
  });
  app.notFound((c) =>
    json(
      errorBody(
        new AgentError(
          "NOT_FOUND",
          `Cannot ${c.req.method} ${c.req.path} as the agent has no such route: see agent/README.md`,
          "path",
        ),
      ),
      404,
    )
  );
}
