/**
 * Instance routes, for clients that do not hold a stream open (streaming
 * clients are registered by the agent itself):
 *
 *   POST   /v1/instances              register (body: what it watches and runs)
 *   PUT    /v1/instances/:clientId    renew (body optional: without one the record is extended)
 *   DELETE /v1/instances/:clientId    unregister
 *
 * The client names itself with `X-Cassem-Client-Id` (and its labels with
 * `X-Cassem-Labels`); on PUT and DELETE the path must name the same client.
 * Every env that has a client secret, watched by the report sent or by the
 * record stored, needs `X-Cassem-Secret` (checked by the registry).
 *
 * @module
 */

import { Hono } from "hono";
import { BadRequestError } from "./errors.ts";
import { type AgentEnv, clientOf, json, jsonBody, nameParam } from "./http_common.ts";
import { CLIENT_ID_HEADER, type ClientIdentity } from "./identity.ts";
import { type InstanceRegistry, parseReport } from "./instances.ts";

/** What the register and renew routes answer. */
export interface InstanceAnswer {
  /** The record as written. */
  instance: unknown;
  /** Its TTL in seconds. */
  ttlSeconds: number;
  /** Renew before this many seconds have passed (a third of the TTL). */
  renewAfterSeconds: number;
}

/** The instance routes. */
export function instanceRoutes(registry: InstanceRegistry): Hono<AgentEnv> {
  const app = new Hono<AgentEnv>();
  const answer = (instance: unknown): InstanceAnswer => ({
    instance,
    ttlSeconds: registry.ttlSeconds,
    renewAfterSeconds: Math.max(1, Math.floor(registry.ttlSeconds / 3)),
  });

  const pathClient = (id: string | undefined, client: ClientIdentity): ClientIdentity => {
    const clientId = nameParam("client", "clientId", id);
    if (client.clientId !== undefined && client.clientId !== clientId) {
      throw new BadRequestError(
        CLIENT_ID_HEADER,
        `Cannot act on instance ${clientId} as ${CLIENT_ID_HEADER} names another client: current value is ${
          JSON.stringify(client.clientId)
        }`,
      );
    }
    return { ...client, clientId };
  };

  app.post("/v1/instances", async (c) => {
    const client = clientOf(c);
    const report = parseReport(await jsonBody(c));
    return json(answer(await registry.register(client, report)));
  });

  app.put("/v1/instances/:clientId", async (c) => {
    const client = pathClient(c.req.param("clientId"), clientOf(c));
    const body = await jsonBody(c);
    const report = body === undefined ? undefined : parseReport(body);
    return json(answer(await registry.renew(client, report)));
  });

  app.delete("/v1/instances/:clientId", async (c) => {
    const client = pathClient(c.req.param("clientId"), clientOf(c));
    return json({ removed: await registry.unregister(client) });
  });

  return app;
}
