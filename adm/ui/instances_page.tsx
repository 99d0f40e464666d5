/** @jsxImportSource hono/jsx */
/**
 * Which client instances run which versions: `GET /instances` lists them
 * (`GET /api/cluster/instances`, filtered by app, env and key, paged),
 * each with its labels, what it watches and the version of each element it
 * runs (gray or live), as their agents report it.
 *
 * @module
 */

import { Hono } from "hono";
import type { InstanceView, Page } from "./api_types.ts";
import { Time } from "./components.tsx";
import { sessionOf, type UiEnv } from "./context.ts";
import { Layout } from "./layout.tsx";
import { elementPage, instancesPage } from "./paths.ts";

/** The instances route, mounted at `/`. */
export function instancesRoutes(): Hono<UiEnv> {
  const r = new Hono<UiEnv>();
  r.get("/instances", async (c) => {
    const s = sessionOf(c);
    const q = {
      app: c.req.query("app") ?? "",
      env: c.req.query("env") ?? "",
      key: c.req.query("key") ?? "",
    };
    const seek = c.req.query("seek") ?? "";
    const page = await s.api.get<Page<InstanceView>>("/api/cluster/instances", {
      ...q,
      seek,
      limit: 50,
    });
    return c.html(
      <Layout title="Instances" session={s} section="instances">
        <form
          class="inline"
          method="get"
          action="/instances"
          role="search"
          aria-label="Filter instances"
        >
          <div>
            <label for="f-app">App</label>
            <input id="f-app" name="app" type="text" value={q.app} />
          </div>
          <div>
            <label for="f-env">Env</label>
            <input id="f-env" name="env" type="text" value={q.env} />
          </div>
          <div>
            <label for="f-key">Element key</label>
            <input id="f-key" name="key" type="text" value={q.key} />
          </div>
          <button type="submit">Filter</button>
        </form>
        <div class="scroll">
          <table class="data" data-testid="instances">
            <caption class="sr">Client instances and the versions they run</caption>
            <thead>
              <tr>
                <th scope="col">Client</th>
                <th scope="col">Labels</th>
                <th scope="col">Runs</th>
                <th scope="col">Agent</th>
                <th scope="col">Renewed</th>
              </tr>
            </thead>
            <tbody>
              {page.items.length === 0
                ? (
                  <tr>
                    <td colspan={5} class="muted">
                      No instance{q.app || q.env || q.key
                        ? " matches the filter"
                        : " is registered"}.
                    </td>
                  </tr>
                )
                : page.items.map((i) => (
                  <tr>
                    <td>
                      {i.clientId}
                      <div class="hint">{i.clientIp}</div>
                    </td>
                    <td>
                      {Object.entries(i.labels).map(([k, v]) => `${k}=${v}`).join(", ") || (
                        <span class="muted">none</span>
                      )}
                    </td>
                    <td>
                      {i.running.length === 0
                        ? (
                          <span class="muted">
                            watches{" "}
                            {i.watching.map((w) => `${w.app}/${w.env}`).join(", ") || "nothing"}
                          </span>
                        )
                        : (
                          <ul class="plain">
                            {i.running.map((x) => (
                              <li>
                                <a href={elementPage(x.app, x.env, x.key)}>
                                  {x.app}/{x.env}/{x.key}
                                </a>{" "}
                                v{x.version} {x.gray
                                  ? <span class="badge gray">gray</span>
                                  : <span class="badge live">live</span>}
                              </li>
                            ))}
                          </ul>
                        )}
                    </td>
                    <td>{i.agentId}</td>
                    <td>
                      <Time iso={i.renewedAt} />
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
        {page.next
          ? (
            <p class="pager">
              <a href={instancesPage({ ...q, seek: page.next })}>Next instances</a>
            </p>
          )
          : null}
      </Layout>,
    );
  });
  return r;
}
