/**
 * Runs a test body shared with the in-process tests (see `_make_adm.ts`)
 * against a real cassemdb process: {@linkcode realDbScenario} declares a
 * scenario (a process of its own, `tests/db/_scenario.ts`) that starts one
 * cassemdb node (`withCluster`, `startFounders(1)`) and hands the body a
 * {@linkcode MakeAdm} on a `DbClient` to it.
 *
 * A fresh store per harness: starting a node costs about a second, and the
 * route × role matrix alone builds well over a thousand harnesses, so each
 * `makeAdm()` empties the node instead (every top-level entity unset, which
 * removes everything below it) and checks that nothing is left before the
 * harness writes its bootstrap. What differs from a new node is only the
 * revision number it starts from, which no body depends on.
 *
 * @module
 */

import { createTestAdm } from "../../adm/testing.ts";
import { type DbClient, isNotFound, type KvClient } from "../../shared/db/mod.ts";
import { withCluster } from "../db/_cluster.ts";
import { scenario, type ScenarioOptions } from "../db/_scenario.ts";
import type { MakeAdm, Step } from "./_make_adm.ts";

/** Top-level entities removed per round of {@linkcode clearStore}; it loops until none is left. */
const PAGE = 100;
/** Rounds {@linkcode clearStore} takes at most (each removes a page of top-level trees). */
const MAX_ROUNDS = 50;

/**
 * Removes everything from the store behind `db`: each top-level entity
 * (with everything below it), until a listing finds nothing.
 * @throws {Error} when entities are still there after {@linkcode MAX_ROUNDS} rounds.
 */
export async function clearStore(db: KvClient): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const page = await db.range("", { limit: PAGE });
    const tops = page.entities.filter((e) => !e.key.includes("/"));
    if (page.entities.length === 0) return;
    for (const e of tops) {
      try {
        await db.unset(e.key, { isDir: e.type === "DIRECTORY" });
      } catch (err) {
        if (!isNotFound(err)) throw err; // expired meanwhile
      }
    }
  }
  const left = (await db.range("", { limit: 1 })).entities[0];
  if (left) {
    throw new Error(
      `Cannot empty the store in ${MAX_ROUNDS} rounds: current first key is ${left.key}`,
    );
  }
}

/** A {@linkcode MakeAdm} on `db`: each call empties the store, then builds the harness on it. */
export function freshStoreAdm(db: DbClient): MakeAdm {
  return async (options = {}) => {
    await clearStore(db);
    return await createTestAdm({ ...options, db });
  };
}

/**
 * Declares scenario `name` of `module` (its `import.meta.url`): `body` runs
 * with a {@linkcode MakeAdm} on one real cassemdb node and a
 * {@linkcode Step} that, like Deno's steps, lets the body go on after a
 * failing part (printed to stderr at once) and fails the scenario at the
 * end, naming every failed part.
 */
export function realDbScenario(
  module: string,
  name: string,
  body: (makeAdm: MakeAdm, step: Step) => Promise<void>,
  options: ScenarioOptions = {},
): void {
  scenario(module, name, async () => {
    await withCluster({ name }, async (c) => {
      const [node] = await c.startFounders(1);
      const db = c.client({ endpoints: [node!.clientAddr] });
      const failed: string[] = [];
      const step: Step = async (part, fn) => {
        try {
          await fn();
        } catch (e) {
          failed.push(part);
          console.error(`step "${part}" failed: ${e instanceof Error ? e.stack : String(e)}`);
        }
      };
      await body(freshStoreAdm(db), step);
      if (failed.length > 0) {
        throw new Error(
          `Cannot pass "${name}" as ${failed.length} steps failed: ${failed.join(", ")}`,
        );
      }
    });
  }, options);
}
